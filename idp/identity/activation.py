"""Activation of an account created for a citizen by a community digital-technology team.

`idp users import` creates the account in "pending" and prints a one-time activation code on paper.
The citizen types their CCCD number, that code and a new password at /activate.

The code is 12 digits, shown as three groups of four (``4821-0937-5512``): digits are typed on a
phone's number pad, and no letter can be mistaken for another (O/0, l/1). 10^12 codes with a few
attempts each make guessing hopeless online; offline, only a keyed hash (HMAC-SHA-256 with the
server's secret key) is stored, so a copied table cannot be searched either.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select, update

from ..clock import now
from ..extensions import db
from ..models import Citizen, VerificationCode
from . import cccd
from .password_policy import WeakPassword, check
from .passwords import Passwords

PURPOSE, CHANNEL = "activate", "paper"
DIGITS = 12
_SEPARATORS = re.compile(r"[\s\-.]")


def _hash(citizen_pk: int, code: str) -> str:
    # Bound to the account: the same digits are worthless for any other citizen.
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"activate:{citizen_pk}:{code}".encode(), hashlib.sha256).hexdigest()


def normalise_code(typed: str) -> str | None:
    """The digits of a typed code (spaces, dashes and dots ignored), or None if it cannot be one."""
    digits = _SEPARATORS.sub("", typed or "")
    return digits if len(digits) == DIGITS and digits.isascii() and digits.isdigit() else None


def pretty(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def issue(citizen: Citizen, ttl: int) -> tuple[str, int]:
    """A new activation code for a pending account: (code as printed, expiry). Any earlier code of
    the account stops working, so only the latest sheet of paper is valid."""
    at = now()
    _void_earlier(citizen.id, at)
    code = "".join(secrets.choice("0123456789") for _ in range(DIGITS))
    db.session.add(
        VerificationCode(
            citizen_pk=citizen.id,
            purpose=PURPOSE,
            channel=CHANNEL,
            code_hash=_hash(citizen.id, code),
            created_at=at,
            last_sent_at=at,
            expires_at=at + ttl,
        )
    )
    return pretty(code), at + ttl


def _void_earlier(citizen_pk: int, at: int) -> None:
    db.session.execute(
        update(VerificationCode)
        .where(
            VerificationCode.citizen_pk == citizen_pk,
            VerificationCode.purpose == PURPOSE,
            VerificationCode.consumed_at.is_(None),
        )
        .values(consumed_at=at)
    )


@dataclass(frozen=True)
class Outcome:
    citizen: Citizen | None  # set when the account is now active
    reason: str  # ok | no_such_code | wrong_code | too_many_attempts | expired | weak_password
    citizen_pk: int | None = None  # the account the CCCD names, if any (for the audit trail)
    weakness: str = ""  # why the password was refused: a password_policy.REASONS entry


def activate(
    citizen_id: str, typed_code: str, password: str, passwords: Passwords, max_attempts: int
) -> Outcome:
    """Check the code and set the password; the caller commits whatever the outcome (a wrong code
    is counted). The answers the citizen sees do not tell a wrong CCCD from a wrong code."""
    try:
        # First, before anything is counted: it is about the password only, never the account.
        check(password)
    except WeakPassword as exc:
        return Outcome(None, "weak_password", None, exc.reason)
    citizen = None
    if cccd.looks_like_cccd(citizen_id.strip()):
        citizen = db.session.scalar(select(Citizen).where(Citizen.citizen_id == citizen_id.strip()))
    if citizen is None or citizen.status != "pending":
        return Outcome(None, "no_such_code", citizen.id if citizen else None)
    row = db.session.scalar(
        select(VerificationCode)
        .where(
            VerificationCode.citizen_pk == citizen.id,
            VerificationCode.purpose == PURPOSE,
            VerificationCode.consumed_at.is_(None),
        )
        .order_by(VerificationCode.id.desc())
        .limit(1)
        .with_for_update()  # two tries at once are both counted
    )
    if row is None:
        return Outcome(None, "no_such_code", citizen.id)
    if row.attempts >= max_attempts:
        return Outcome(None, "too_many_attempts", citizen.id)
    if row.expires_at <= now():
        return Outcome(None, "expired", citizen.id)
    code = normalise_code(typed_code)
    if code is None or not hmac.compare_digest(_hash(citizen.id, code), row.code_hash):
        row.attempts += 1
        reason = "too_many_attempts" if row.attempts >= max_attempts else "wrong_code"
        return Outcome(None, reason, citizen.id)
    try:
        check(password, (citizen.citizen_id, citizen.phone, citizen.email, citizen.full_name))
    except WeakPassword as exc:
        # The code was right: not counted as a guess, and still usable with a better password.
        return Outcome(None, "weak_password", citizen.id, exc.reason)
    at = now()
    row.consumed_at = at
    citizen.password_hash = passwords.hash(password)
    citizen.password_changed_at = at
    citizen.status = "active"
    return Outcome(citizen, "ok", citizen.id)
