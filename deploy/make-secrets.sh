#!/bin/sh
# Create the secrets compose.yaml hands to the containers, in deploy/secrets/, once.
# An existing file is never overwritten (the keys passphrase decrypts the signing keys in the
# database and the postgres password is fixed when its volume is first created).
#
#   postgres_password     the `idp` role of PostgreSQL (POSTGRES_PASSWORD_FILE, PGPASSWORD_FILE)
#   idp_secret_key        IDP_SECRET_KEY, the same on every replica
#   idp_keys_passphrase   IDP_KEYS_PASSPHRASE: encrypts the private signing keys at rest
#   idp_metrics_token     IDP_METRICS_TOKEN: the bearer token Prometheus sends to /metrics
#   demo_secret_key       DEMO_SECRET_KEY: the demo portal's session cookie key
#
# The folder is 0700 (nobody else on this host can reach the files); the files are 0644 because
# Docker bind-mounts them as they are and the containers read them as their own non-root users.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)/secrets
mkdir -p "$dir"
chmod 700 "$dir"
for name in postgres_password idp_secret_key idp_keys_passphrase idp_metrics_token demo_secret_key; do
    file=$dir/$name
    if [ -s "$file" ]; then
        echo "kept    $file"
        continue
    fi
    value=$(LC_ALL=C tr -dc 'A-Za-z0-9' < /dev/urandom | head -c 48)
    (umask 022 && printf '%s' "$value" > "$file")
    chmod 644 "$file"
    echo "created $file"
done
