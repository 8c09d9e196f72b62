#!/bin/sh
# Signing-key rotation and housekeeping of Thai Nguyen ID.
#
#   key-rotation.sh              one pass; the exit status says whether every step succeeded (cron)
#   key-rotation.sh --every N    a pass now, then every N seconds (the key-rotation compose service);
#                                a failed pass is retried after TNID_ROTATION_RETRY seconds (3600)
#
# A pass: rotate every signing key active for longer than TNID_KEYS_MAX_AGE (90d), remove retired
# keys whose tokens have all expired, purge expired codes/tokens/sessions, purge audit events older
# than IDP_AUDIT_RETENTION. Every step is safe to run anywhere at any time: concurrent runs are
# serialised by the key store's lock, and a rotation that is not due changes nothing.
#
# After each successful pass the loop writes a deadline (Unix time) into TNID_ROTATION_HEARTBEAT;
# `healthcheck.py --until FILE` reports the service unhealthy once that deadline has passed.
set -u

max_age=${TNID_KEYS_MAX_AGE:-90d}
retry=${TNID_ROTATION_RETRY:-3600}
heartbeat=${TNID_ROTATION_HEARTBEAT:-${IDP_INSTANCE_DIR:-/var/lib/idp}/key-rotation.deadline}

say() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) key-rotation: $*"; }

one_pass() {
    say "idp keys rotate --if-older-than $max_age" && idp keys rotate --if-older-than "$max_age" &&
    say "idp keys prune" && idp keys prune &&
    say "idp maintenance purge" && idp maintenance purge &&
    say "idp audit purge" && idp audit purge
}

if [ "${1:-}" != "--every" ]; then
    one_pass
    exit $?
fi

every=${2:?usage: key-rotation.sh [--every SECONDS]}
# Stop at once on docker stop (also as PID 1, where signals have no default action).
trap 'say "stopping"; exit 0' TERM INT
pause() { sleep "$1" & wait $!; }

while :; do
    if one_pass; then
        # Healthy until the next pass and one retry are overdue (10 minutes of slack).
        echo "$(( $(date +%s) + every + retry + 600 )) written after a successful pass" > "$heartbeat"
        say "pass done; next in ${every}s"
        pause "$every"
    else
        say "a step failed; retrying in ${retry}s"
        pause "$retry"
    fi
done
