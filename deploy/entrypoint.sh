#!/bin/sh
# Entrypoint of the Thai Nguyen ID image.
#
# 1. Secrets. The provider reads its settings from environment variables only; compose hands
#    secrets over as files under /run/secrets. For each NAME below, NAME_FILE=/path makes this
#    script export NAME with the file's content (trailing newlines removed) and unset NAME_FILE.
#    Setting both NAME and NAME_FILE is an error. PGPASSWORD is read by libpq (psycopg), so
#    IDP_DATABASE_URL carries no password: postgresql://idp@postgres:5432/idp.
# 2. EXTRA_CA_CERTS_FILE=/path: trust that CA (PEM) in addition to the public ones, for the demo
#    portal's calls to the provider when its certificate comes from a local CA.
# 3. The command: `idp …`, `python …`, `granian …` or `sh …` run as given; anything else is taken
#    as arguments of `idp` (so `docker compose run --rm idp-1 keys list` works too).
set -eu

for name in IDP_SECRET_KEY IDP_KEYS_PASSPHRASE IDP_METRICS_TOKEN IDP_DATABASE_URL \
            IDP_RATELIMIT_STORAGE PGPASSWORD DEMO_SECRET_KEY DEMO_CLIENT_SECRET \
            IDP_SMTP_PASSWORD IDP_SMS_WEBHOOK_TOKEN; do
    eval "file=\${${name}_FILE:-}"
    [ -n "$file" ] || continue
    eval "current=\${${name}:-}"
    if [ -n "$current" ]; then
        echo "entrypoint: both $name and ${name}_FILE are set; set only one" >&2
        exit 2
    fi
    if [ ! -r "$file" ]; then
        echo "entrypoint: ${name}_FILE=$file: no such readable file" >&2
        exit 2
    fi
    value=$(cat "$file")
    if [ -z "$value" ]; then
        echo "entrypoint: ${name}_FILE=$file is empty" >&2
        exit 2
    fi
    export "$name=$value"
    unset "${name}_FILE"
done
unset name file current value

if [ -n "${EXTRA_CA_CERTS_FILE:-}" ]; then
    if [ ! -r "$EXTRA_CA_CERTS_FILE" ]; then
        echo "entrypoint: EXTRA_CA_CERTS_FILE=$EXTRA_CA_CERTS_FILE: no such readable file" >&2
        exit 2
    fi
    bundle=$(mktemp "${TMPDIR:-/tmp}/ca-bundle.XXXXXX")
    cat "$(python -c 'import certifi; print(certifi.where())')" "$EXTRA_CA_CERTS_FILE" > "$bundle"
    export REQUESTS_CA_BUNDLE="$bundle" SSL_CERT_FILE="$bundle"
    unset bundle
fi

if [ "$#" -eq 0 ]; then
    set -- idp serve --bind 0.0.0.0:5000
fi
case "$1" in
    idp | python | python3 | granian | sh | /*) ;;
    *) set -- idp "$@" ;;
esac
exec "$@"
