"""Six-digit codes sent to a phone or email: issue, resend with back-off, check.

The rules, per (citizen, purpose):
- one live code at a time; sending again replaces it (the old code stops working);
- a code is valid IDP_VERIFICATION_CODE_TTL (10 min) and used once;
- IDP_VERIFICATION_MAX_ATTEMPTS (5) wrong tries end it;
- a new code may be sent after IDP_VERIFICATION_RESEND_WAIT (30 s), then twice as long after each
  further send (60 s, 120 s…), and at most IDP_VERIFICATION_MAX_SENDS (5) times an hour.

With 10^6 codes, 5 tries per code and 5 codes an hour, a guesser's odds are 25 in a million an
hour per account, and the per-IP rate limits cut that further.

Only an HMAC of the code under the server's secret key is stored (models/verification.py), and
tries are counted by one conditional UPDATE, so parallel guesses on several instances cannot
together exceed the limit. Functions here never commit: the view owns the unit of work (and
commits a wrong try too, so that it counts).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select, update

from ..clock import now
from ..extensions import db
from ..models import Citizen, VerificationCode
from ..services import services

DIGITS = 6
WINDOW = 3600  # the hour over which sends are capped


class TooSoon(Exception):
    """A code was sent a moment ago (back-off) or too often this hour; ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = max(1, retry_after)


@dataclass(frozen=True)
class Check:
    """The outcome of typing a code. ``reason``: ok | wrong | expired | locked | none | malformed."""

    reason: str
    attempts_left: int = 0
    row: VerificationCode | None = None

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


def code_hash(citizen_pk: int, purpose: str, code: str) -> str:
    # Bound to the account and the purpose: a reset code cannot verify a phone, nor serve another citizen.
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"code:{purpose}:{citizen_pk}:{code}".encode(), hashlib.sha256).hexdigest()


def normalise(typed: str | None) -> str | None:
    """The six digits of what was typed (spaces and dashes ignored), or None."""
    digits = "".join(c for c in (typed or "")[:20] if c not in " -.")
    return digits if len(digits) == DIGITS and digits.isascii() and digits.isdigit() else None


def resend_wait(sends: int) -> int:
    """Seconds to wait after the ``sends``-th code before the next one: 30, 60, 120…"""
    return services().settings.verification_resend_wait * 2 ** max(0, min(sends - 1, 10))


def live(citizen_pk: int, purpose: str) -> VerificationCode | None:
    """The latest code not yet used for this purpose (it may have expired or be locked)."""
    return db.session.scalar(
        select(VerificationCode)
        .where(
            VerificationCode.citizen_pk == citizen_pk,
            VerificationCode.purpose == purpose,
            VerificationCode.consumed_at.is_(None),
        )
        .order_by(VerificationCode.id.desc())
        .limit(1)
    )


def wait_before_send(citizen_pk: int, purpose: str) -> int:
    """Seconds before a code may be sent for this purpose (0: now)."""
    row = live(citizen_pk, purpose)
    return _wait(row, now()) if row is not None else 0


def _wait(row: VerificationCode, at: int) -> int:
    return backoff(row.created_at, row.sends, row.last_sent_at, at)


def backoff(first_sent_at: int, sends: int, last_sent_at: int, at: int) -> int:
    """Seconds before the next send of a series that began at ``first_sent_at`` and has sent
    ``sends`` codes, the last at ``last_sent_at`` (0: now)."""
    if sends <= 0 or first_sent_at + WINDOW <= at:
        return 0  # nothing sent yet, or an hour has passed: a fresh series
    if sends >= services().settings.verification_max_sends:
        return first_sent_at + WINDOW - at
    return max(0, last_sent_at + resend_wait(sends) - at)


def new_code() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def issue(citizen: Citizen, purpose: str, channel: str, destination: str, code: str | None = None) -> str:
    """Store ``code`` (or a new one) as the live code for ``purpose``, sent to ``destination``; the
    previous one stops working. Raises TooSoon. The plain code is returned and stored nowhere.
    A caller may deliver ``code`` first and store it after, so that a failed delivery leaves the
    previous code valid and the back-off untouched."""
    settings = services().settings
    at = now()
    code = code or new_code()
    digest = code_hash(citizen.id, purpose, code)
    row = live(citizen.id, purpose)
    if row is not None and row.created_at + WINDOW > at:
        wait = _wait(row, at)
        if wait > 0:
            raise TooSoon(wait)
        # Conditional on the count we read: of two resends racing, one wins and one waits.
        renewed = db.session.execute(
            update(VerificationCode)
            .where(VerificationCode.id == row.id, VerificationCode.sends == row.sends)
            .values(
                code_hash=digest,
                channel=channel,
                destination=destination,
                attempts=0,
                sends=VerificationCode.sends + 1,
                last_sent_at=at,
                expires_at=at + settings.verification_code_ttl,
            )
            .execution_options(synchronize_session=False)
        )
        if renewed.rowcount != 1:
            raise TooSoon(resend_wait(row.sends + 1))
        db.session.expire(row)
        return code
    if row is not None:  # last hour's code, never used: retire it before a new series
        row.consumed_at = at
    db.session.add(
        VerificationCode(
            citizen_pk=citizen.id,
            purpose=purpose,
            channel=channel,
            destination=destination,
            code_hash=digest,
            attempts=0,
            sends=1,
            created_at=at,
            last_sent_at=at,
            expires_at=at + settings.verification_code_ttl,
        )
    )
    db.session.flush()
    return code


def check(citizen_pk: int, purpose: str, typed: str | None) -> Check:
    """Count one try of ``typed`` against the live code. A match is returned with its row; the
    caller calls consume(row) once everything else the request needs has been checked."""
    code = normalise(typed)
    if code is None:
        return Check("malformed")  # not six digits: not a guess, not counted
    row = live(citizen_pk, purpose)
    at = now()
    if row is None:
        return Check("none")
    if row.expires_at <= at:
        return Check("expired")
    limit = services().settings.verification_max_attempts
    counted = db.session.execute(
        update(VerificationCode)
        .where(
            VerificationCode.id == row.id,
            VerificationCode.attempts < limit,
            VerificationCode.consumed_at.is_(None),
        )
        .values(attempts=VerificationCode.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if counted.rowcount != 1:
        return Check("locked")
    db.session.expire(row)
    if hmac.compare_digest(code_hash(citizen_pk, purpose, code), row.code_hash):
        return Check("ok", limit - row.attempts, row)
    left = limit - row.attempts
    return Check("wrong" if left > 0 else "locked", left)


def consume(row: VerificationCode) -> bool:
    """Mark a matched code used. False if another request used it first (a replay)."""
    used = db.session.execute(
        update(VerificationCode)
        .where(VerificationCode.id == row.id, VerificationCode.consumed_at.is_(None))
        .values(consumed_at=now())
        .execution_options(synchronize_session=False)
    )
    db.session.expire(row)
    return used.rowcount == 1


def void(citizen_pk: int, purpose: str) -> None:
    """End every live code for this purpose (e.g. the reset codes once the password is reset)."""
    db.session.execute(
        update(VerificationCode)
        .where(
            VerificationCode.citizen_pk == citizen_pk,
            VerificationCode.purpose == purpose,
            VerificationCode.consumed_at.is_(None),
        )
        .values(consumed_at=now())
        .execution_options(synchronize_session=False)
    )
