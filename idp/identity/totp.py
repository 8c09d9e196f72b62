"""Authenticator-app codes (TOTP, RFC 6238): enrolment, confirmation, verification, removal.

- The shared secret is stored encrypted (AES-GCM, a key derived from the server's secret key);
  the row's citizen is bound in as associated data, so a secret copied to another row is useless.
- A code is accepted for the current 30-second step and one step either side (a phone clock a
  little off), and never twice: the last accepted step is kept, and only a later step passes
  (RFC 6238 §5.2). The step is claimed by a conditional UPDATE, so two requests racing with
  one code cannot both win.
- Guessing is throttled by the caller (the second-factor step counts failures per citizen).
"""

from __future__ import annotations

import hmac
import os

import pyotp
import segno
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import update

from ..clock import now
from ..extensions import db
from ..models import Citizen, TotpCredential
from .server_keys import derive

STEP = 30
DIGITS = 6
WINDOW = 1  # steps either side of now
ISSUER_NAME = "Thai Nguyen ID"
_PURPOSE = "totp-secret-encryption-v1"


def _aad(citizen_pk: int) -> bytes:
    return f"totp:{citizen_pk}".encode()


def _encrypt(secret: str, citizen_pk: int) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(derive(_PURPOSE)).encrypt(nonce, secret.encode(), _aad(citizen_pk))


def _decrypt(blob: bytes, citizen_pk: int) -> str:
    return AESGCM(derive(_PURPOSE)).decrypt(blob[:12], blob[12:], _aad(citizen_pk)).decode()


def find(citizen_pk: int) -> TotpCredential | None:
    return db.session.get(TotpCredential, citizen_pk)


def is_enrolled(citizen_pk: int) -> bool:
    row = find(citizen_pk)
    return row is not None and row.confirmed_at is not None


def begin(citizen: Citizen) -> TotpCredential:
    """A new, unconfirmed secret (replacing an unconfirmed one). Refused over a confirmed one:
    the citizen removes the app first, which asks for a code or the password."""
    row = find(citizen.id)
    if row is not None and row.confirmed_at is not None:
        raise ValueError("an authenticator app is already set up")
    secret = pyotp.random_base32()  # 160 bits, as RFC 4226 §4 recommends
    if row is None:
        row = TotpCredential(citizen_pk=citizen.id, secret_encrypted=b"", created_at=now(), last_used_step=0)
        db.session.add(row)
    row.secret_encrypted = _encrypt(secret, citizen.id)
    row.created_at, row.confirmed_at, row.last_used_step = now(), None, 0
    db.session.flush()
    return row


def secret_of(row: TotpCredential) -> str:
    return _decrypt(row.secret_encrypted, row.citizen_pk)


def provisioning_uri(row: TotpCredential, account_name: str) -> str:
    return pyotp.TOTP(secret_of(row), digits=DIGITS, interval=STEP).provisioning_uri(
        name=account_name, issuer_name=ISSUER_NAME
    )


def qr_svg(uri: str) -> str:
    """The QR code as an inline SVG (no script, no external image: the CSP stays strict)."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#000", light="#fff")


def grouped_secret(row: TotpCredential) -> str:
    """The secret for typing by hand, in groups of four."""
    secret = secret_of(row)
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _normalise(code: str) -> str:
    return "".join(ch for ch in code if not ch.isspace())


def _matching_step(row: TotpCredential, code: str, at: int) -> int | None:
    code = _normalise(code)
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret_of(row), digits=DIGITS, interval=STEP)
    current = at // STEP
    found = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        # Every candidate is compared (constant time each), whether or not one matched already.
        if hmac.compare_digest(totp.generate_otp(step), code) and found is None:
            found = step
    return found


def verify(citizen_pk: int, code: str) -> bool:
    """True once per valid code of a confirmed app; the step is used up."""
    row = find(citizen_pk)
    if row is None or row.confirmed_at is None:
        return False
    return _claim(row, code)


def confirm(citizen_pk: int, code: str) -> bool:
    """The first code from the app: proves it holds the secret, and makes it a factor."""
    row = find(citizen_pk)
    if row is None or row.confirmed_at is not None:
        return False
    if not _claim(row, code):
        return False
    row.confirmed_at = now()
    return True


def _claim(row: TotpCredential, code: str) -> bool:
    step = _matching_step(row, code, now())
    if step is None or step <= row.last_used_step:
        return False  # wrong, or already used (a replay, or an older code after a newer one)
    claimed = db.session.execute(
        update(TotpCredential)
        .where(TotpCredential.citizen_pk == row.citizen_pk, TotpCredential.last_used_step < step)
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return False  # another request used this code a moment ago
    db.session.refresh(row)
    return True


def remove(citizen_pk: int) -> bool:
    row = find(citizen_pk)
    if row is None:
        return False
    db.session.delete(row)
    return True
