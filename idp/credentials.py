"""Random tokens with a recognisable prefix, and the hashes they are stored as.

Tokens, codes and client secrets are high-entropy, so one SHA-256 is enough to store them: a
database leak gives nothing usable, and a lookup costs microseconds (Argon2 is for passwords).
The prefix lets secret scanners and people recognise a leaked Thai Nguyen ID credential.
"""

import hashlib
import hmac
import secrets
import time

ACCESS_TOKEN_PREFIX = "tnid_at_"
REFRESH_TOKEN_PREFIX = "tnid_rt_"
CODE_PREFIX = "tnid_ac_"
CLIENT_SECRET_PREFIX = "tnid_cs_"
SESSION_PREFIX = "tnid_ss_"


def new_token(prefix: str, nbytes: int = 32) -> str:
    return prefix + secrets.token_urlsafe(nbytes)


def new_grant_id() -> str:
    """An identifier for everything one grant produces (models/grant.py): not a secret, and
    time-ordered like a UUIDv7 (48 bits of milliseconds, then 80 random bits), so that the
    ``grant_id`` indexes grow at their end, in pages a database has in memory, instead of at a
    random page of an index that outgrows its cache (bench/CHANGES.md)."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def hash_matches(value: str, expected_hash: str) -> bool:
    """Constant-time comparison of a presented secret with a stored hash."""
    return hmac.compare_digest(token_hash(value), expected_hash)
