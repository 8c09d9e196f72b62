"""Password guessing: a progressive delay after a few failures, then a temporary lock.

Counted per identifier (an HMAC of its normalised form), whether or not an account has it, so a
lock tells an attacker nothing about which accounts exist. Refusals come before any password
hash is computed: a locked identifier costs the attacker a request and us no Argon2.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from ..clock import now
from ..extensions import db
from ..models import LoginThrottle
from ..services import services
from .cccd import looks_like_cccd
from .contact import InvalidContact, normalise_email, normalise_phone

FREE_FAILURES = 3  # then 1 s, 2 s, 4 s … (at most a minute) between attempts, until the lock
MAX_DELAY = 60


@dataclass(frozen=True)
class Refusal:
    retry_after: int
    locked: bool


def _normalise(identifier: str) -> str:
    identifier = identifier.strip()
    if looks_like_cccd(identifier):
        # Digits only, and never a valid phone or e-mail: the same key as before, without the
        # cost of trying the phone and e-mail parsers (most citizens log in with their CCCD).
        return identifier
    for normalise in (normalise_phone, normalise_email):
        try:
            return normalise(identifier)
        except (InvalidContact, ValueError):
            continue
    return identifier.lower()


def _key(identifier: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(
        secret, _normalise(identifier).encode("utf-8", "surrogatepass"), hashlib.sha256
    ).hexdigest()


# Built once: every login asks it twice (before the password and after), and a SELECT built
# each time costs more than it takes to run.
_FIND = select(LoginThrottle).where(LoginThrottle.key == bindparam("key"))


def _find(key: str) -> LoginThrottle | None:
    return db.session.scalar(_FIND, {"key": key})


def check(identifier: str) -> Refusal | None:
    """A refusal if this identifier must wait before its next attempt."""
    return status(identifier)[0]


# What a login reads before the password (a plain row on the lean connection: no Session).
_THROTTLE = LoginThrottle.__table__
_STATUS = select(_THROTTLE.c.not_before, _THROTTLE.c.locked).where(_THROTTLE.c.key == bindparam("key"))


def status(identifier: str) -> tuple[Refusal | None, bool]:
    """(check()'s refusal, whether any failure is on record): a login that finds none needs no
    record_success() after the password (one SELECT fewer per login). Read before the request
    writes anything, so what is committed is all there is to see."""
    row = current_app.extensions["idp.lean"].read(_STATUS, {"key": _key(identifier)})
    if row is not None and row.not_before > now():
        return Refusal(retry_after=row.not_before - now(), locked=row.locked), True
    return None, row is not None


def record_failure(identifier: str) -> Refusal | None:
    """Count a failure; the refusal that now applies, if any (``locked`` when it just locked)."""
    settings = services().settings
    key, at = _key(identifier), now()
    row = db.session.get(LoginThrottle, key)
    if row is None:
        _insert_ignoring_race(key, at)
        row = db.session.get(LoginThrottle, key)
    if row.locked and row.not_before <= at:
        row.failures, row.locked = 0, False  # the lock has run out: start counting again
    row.failures += 1
    row.last_failure_at = at
    if row.failures >= settings.login_max_failures:
        row.locked, row.not_before = True, at + settings.login_lock_time
        return Refusal(retry_after=settings.login_lock_time, locked=True)
    if row.failures >= FREE_FAILURES:
        delay = min(2 ** (row.failures - FREE_FAILURES), MAX_DELAY)
        row.not_before = at + delay
        return Refusal(retry_after=delay, locked=False)
    return None


def record_success(identifier: str) -> bool:
    """Forget the failures. True if the identifier had been locked (an unlock to audit)."""
    row = _find(_key(identifier))
    if row is None:
        return False
    was_locked = row.locked
    db.session.delete(row)
    return was_locked


def _insert_ignoring_race(key: str, at: int) -> None:
    # Two failures for a new identifier at the same moment: the second insert is a no-op.
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(LoginThrottle)
        .values(key=key, failures=0, last_failure_at=at, not_before=0, locked=False)
        .on_conflict_do_nothing()
    )
