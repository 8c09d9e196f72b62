#!/bin/sh
# A local certificate authority and a certificate for the provider and the demo portal, for
# trying the compose topology on one machine. Production uses certificates from a real CA: put
# fullchain.pem, privkey.pem and ca.pem (see below) in deploy/tls/ instead of running this.
#
#   deploy/make-local-tls.sh [IDP_HOST [PORTAL_HOST]]
#       defaults: id.thainguyen.localhost portal.thainguyen.localhost (as in compose.yaml)
#
# Writes deploy/tls/:
#   ca.pem, ca.key      the local CA (import ca.pem into a browser to avoid its warning)
#   fullchain.pem       the server certificate (both names), then the CA  -> nginx
#   privkey.pem         its private key                                   -> nginx
# The demo portal trusts ca.pem in addition to the public CAs (EXTRA_CA_CERTS_FILE), so with a
# certificate from a public CA ca.pem may hold that CA's chain, or nothing (an empty file).
# Existing files are kept; delete them to start again. Needs openssl.
set -eu
idp_host=${1:-id.thainguyen.localhost}
portal_host=${2:-portal.thainguyen.localhost}
dir=$(cd "$(dirname "$0")" && pwd)/tls
mkdir -p "$dir"
cd "$dir"
if [ -s fullchain.pem ] && [ -s privkey.pem ] && [ -e ca.pem ]; then
    echo "kept the certificates in $dir (delete them to make new ones)"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/ca.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = Thai Nguyen ID local CA
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF
cat > "$work/server.cnf" <<CNF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:$idp_host, DNS:$portal_host
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 825 \
    -config "$work/ca.cnf" -keyout ca.key -out ca.pem 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -sha256 -subj "/CN=$idp_host" \
    -keyout privkey.pem -out "$work/server.csr" 2>/dev/null
openssl x509 -req -in "$work/server.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -CAserial "$work/ca.srl" -sha256 -days 365 -extfile "$work/server.cnf" -out "$work/server.pem" 2>/dev/null
cat "$work/server.pem" ca.pem > fullchain.pem
# Read by nginx and the portal through compose secrets (bind mounts): see make-secrets.sh.
chmod 700 "$dir"
chmod 600 ca.key
chmod 644 ca.pem fullchain.pem privkey.pem
echo "wrote $dir: fullchain.pem, privkey.pem for $idp_host and $portal_host; CA ca.pem"
