"""One-time recovery codes: the way in when the phone with the authenticator app is lost.

Ten codes, shown once when made; stored as HMAC-SHA256 under a key derived from the server's
secret (a stolen table cannot be searched offline without that key too). A used code is marked,
not deleted, so a second use is refused and can be seen in the audit trail.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import delete, select, update

from ..clock import now
from ..extensions import db
from ..models import RecoveryCode
from .server_keys import derive

COUNT = 10
# No 0/O, 1/I/L, 5/S, 8/B: easy to read aloud and to copy from paper.
ALPHABET = "ACDEFGHJKMNPQRTUVWXYZ234679"
LENGTH = 10  # 10 characters of 27: about 47 bits each
_PURPOSE = "recovery-code-hmac-v1"


def _digest(code: str) -> str:
    return hmac.new(derive(_PURPOSE), code.encode(), hashlib.sha256).hexdigest()


def normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _format(raw: str) -> str:
    return f"{raw[:5]}-{raw[5:]}"


def generate(citizen_pk: int) -> list[str]:
    """Ten new codes (the old ones stop working); the plain codes are returned only here."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.citizen_pk == citizen_pk))
    codes = ["".join(secrets.choice(ALPHABET) for _ in range(LENGTH)) for _ in range(COUNT)]
    at = now()
    db.session.add_all(
        RecoveryCode(citizen_pk=citizen_pk, code_hash=_digest(code), created_at=at) for code in codes
    )
    db.session.flush()
    return [_format(code) for code in codes]


def remaining(citizen_pk: int) -> int:
    rows = db.session.scalars(
        select(RecoveryCode.id).where(RecoveryCode.citizen_pk == citizen_pk, RecoveryCode.used_at.is_(None))
    )
    return len(list(rows))


def discard(citizen_pk: int) -> None:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.citizen_pk == citizen_pk))


def use(citizen_pk: int, code: str) -> bool:
    """True if ``code`` is one of the citizen's unused codes; it is used up at once."""
    code = normalise(code)
    if len(code) != LENGTH:
        return False
    wanted = _digest(code)
    match = None
    for row in db.session.scalars(
        select(RecoveryCode).where(RecoveryCode.citizen_pk == citizen_pk, RecoveryCode.used_at.is_(None))
    ):
        if hmac.compare_digest(row.code_hash, wanted):
            match = row
    if match is None:
        return False
    # Conditional, so two requests with one code cannot both pass.
    used = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == match.id, RecoveryCode.used_at.is_(None))
        .values(used_at=now())
        .execution_options(synchronize_session=False)
    )
    return used.rowcount == 1
