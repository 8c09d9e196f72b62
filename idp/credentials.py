"""Random tokens with a recognisable prefix, and the hashes they are stored as.

Tokens, codes and client secrets are high-entropy, so one SHA-256 is enough to store them: a
database leak gives nothing usable, and a lookup costs microseconds (Argon2 is for passwords).
The prefix lets secret scanners and people recognise a leaked Thai Nguyen ID credential.

Access and refresh tokens, codes and session cookies are written on every login and token
request, each into a unique index on its hash. A hash is random, so each new entry landed on a
random page of that index: on a large table a page the database must read, rewrite and copy
back to disk for one 60-byte entry. These credentials therefore begin with the millisecond they
were issued (``tnid_at_<12 hex digits>.<random>``, the random part as long as before), and the
key they are stored under is that time followed by the SHA-256 of the whole value: new entries
go to the end of the index, in pages already in memory, and the database still holds no value
that could be presented. The issue time it shows is no secret (the token's owner knows it; the
rows keep it anyway). Values in the older form (no time) are still found by their hex SHA-256.
"""

import base64
import hashlib
import hmac
import re
import secrets
import time

ACCESS_TOKEN_PREFIX = "tnid_at_"
REFRESH_TOKEN_PREFIX = "tnid_rt_"
CODE_PREFIX = "tnid_ac_"
CLIENT_SECRET_PREFIX = "tnid_cs_"
SESSION_PREFIX = "tnid_ss_"


def new_token(prefix: str, nbytes: int = 32) -> str:
    return prefix + secrets.token_urlsafe(nbytes)


def new_ordered_token(prefix: str) -> str:
    """A credential whose stored key sorts by issue time (see above); 256 random bits."""
    return f"{prefix}{_milliseconds()}.{secrets.token_urlsafe(32)}"


def new_ordered_id() -> str:
    """An identifier that sorts by creation time: the time, then 192 random bits (URL-safe,
    44 characters)."""
    return _milliseconds() + secrets.token_urlsafe(24)


def _milliseconds() -> str:
    return f"{time.time_ns() // 1_000_000:012x}"


def new_grant_id() -> str:
    """An identifier for everything one grant produces (models/grant.py): not a secret, and
    time-ordered like a UUIDv7 (48 bits of milliseconds, then 80 random bits), so that the
    ``grant_id`` indexes grow at their end, in pages a database has in memory, instead of at a
    random page of an index that outgrows its cache (bench/CHANGES.md)."""
    return f"{_milliseconds()}{secrets.token_hex(10)}"


_ORDERED = re.compile(r"tnid_[a-z]{2}_([0-9a-f]{12})\.")


def token_hash(value: str) -> str:
    """The key a credential is stored and looked up under: for a time-ordered one, its issue time
    and the base64url SHA-256 of the whole value (55 characters); otherwise the hex SHA-256."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass"))
    ordered = _ORDERED.match(value)
    if ordered is not None:
        return ordered.group(1) + base64.urlsafe_b64encode(digest.digest())[:43].decode()
    return digest.hexdigest()


def hash_matches(value: str, expected_hash: str) -> bool:
    """Constant-time comparison of a presented secret with a stored hash."""
    return hmac.compare_digest(token_hash(value), expected_hash)
