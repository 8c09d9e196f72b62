"""Citizen accounts: creation with every field validated, lookup by any identifier, login."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import bindparam, or_, select, update

from .. import lean
from ..extensions import db
from ..models import Citizen
from ..models.citizen import GENDERS, CitizenRow
from . import cccd, password_policy
from .contact import InvalidContact, normalise_email, normalise_phone
from .passwords import Passwords

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128  # ASVS 2.1.2: at least 64 allowed, more than 128 refused
# The password "hash" of an account created for a citizen (`idp users import`) who has not yet
# chosen one: not an Argon2 string, so no password ever matches it.
NO_PASSWORD = "!pending-activation"


class InvalidCitizen(ValueError):
    """A field of a new citizen is not acceptable; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class NewCitizen:
    citizen_id: str
    full_name: str
    birth_date: dt.date
    gender: str
    password: str
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    locale: str = "vi"
    phone_verified: bool = False
    email_verified: bool = False
    # "pending": created for the citizen, who sets the password at /activate (no password here).
    status: str = "active"


def split_name(full_name: str) -> tuple[str, str]:
    """Vietnamese order is family, middle, given: 'Nguyễn Văn An' → ('Nguyễn', 'An')."""
    words = full_name.split()
    return (words[0], words[-1]) if len(words) > 1 else ("", words[0])


def create(new: NewCitizen, passwords: Passwords) -> Citizen:
    """Validate and add a citizen to the session (the caller commits)."""
    if new.gender not in GENDERS:
        raise InvalidCitizen("gender", "expected male or female")
    try:
        number = cccd.validate(new.citizen_id, new.birth_date, new.gender)
    except cccd.InvalidCCCD as exc:
        raise InvalidCitizen("citizen_id", str(exc)) from None
    full_name = " ".join(new.full_name.split())
    if not 2 <= len(full_name) <= 200:
        raise InvalidCitizen("full_name", "expected 2 to 200 characters")
    pending = new.status == "pending"
    if not pending:
        # The policy of idp/identity/password_policy.py, for every account made with a password
        # (registration, `idp users create`, the demo).
        try:
            password_policy.check(new.password, [number, new.phone, new.email, full_name])
        except password_policy.WeakPassword as exc:
            raise InvalidCitizen("password", str(exc)) from None
    try:
        phone = normalise_phone(new.phone) if new.phone else None
    except InvalidContact as exc:
        raise InvalidCitizen("phone", str(exc)) from None
    try:
        email = normalise_email(new.email) if new.email else None
    except InvalidContact as exc:
        raise InvalidCitizen("email", str(exc)) from None
    # One message for any clash, so the answer does not reveal whose number it is.
    taken = [Citizen.citizen_id == number]
    taken += [Citizen.phone == phone] if phone else []
    taken += [Citizen.email == email] if email else []
    clash = db.session.scalar(select(Citizen.id).where(or_(*taken)).limit(1))
    if clash is not None:
        raise InvalidCitizen("citizen_id", "an account already uses this CCCD number, phone or email")
    family, given = split_name(full_name)
    citizen = Citizen(
        citizen_id=number,
        full_name=full_name,
        family_name=family,
        given_name=given,
        birth_date=new.birth_date,
        gender=new.gender,
        phone=phone,
        phone_verified=new.phone_verified and phone is not None,
        email=email,
        email_verified=new.email_verified and email is not None,
        address=new.address,
        locale=new.locale,
        status="pending" if pending else "active",
        password_hash=NO_PASSWORD if pending else passwords.hash(new.password),
    )
    db.session.add(citizen)
    db.session.flush()
    return citizen


def _lookup(identifier: str) -> tuple[str, str] | None:
    """(column, normalised value) this identifier is looked up by: CCCD number, e-mail or phone."""
    identifier = identifier.strip()
    if not identifier or any(ord(c) < 32 or ord(c) == 127 for c in identifier):
        return None
    if cccd.looks_like_cccd(identifier):
        return "citizen_id", identifier
    try:
        if "@" in identifier:
            return "email", normalise_email(identifier)
        return "phone", normalise_phone(identifier)
    except InvalidContact:
        return None


def find_by_identifier(identifier: str) -> Citizen | None:
    """The citizen whose CCCD number, phone or e-mail this is."""
    found = _lookup(identifier)
    return None if found is None else db.session.scalar(_BY_IDENTIFIER[found[0]], {"value": found[1]})


# Built once per column: every login runs one, and building a SELECT costs more than running it.
_BY_IDENTIFIER = {
    name: select(Citizen).where(getattr(Citizen, name) == bindparam("value"))
    for name in ("citizen_id", "email", "phone")
}
# The login's own read: a plain row on the lean connection (the ORM load was ≈ 6 % of a login's
# time). A rehash after a parameter change is a Core UPDATE of that one column.
_CITIZENS = Citizen.__table__
_ROW_BY_IDENTIFIER = {
    name: select(*_CITIZENS.columns).where(_CITIZENS.c[name] == bindparam("value"))
    for name in ("citizen_id", "email", "phone")
}
_SET_PASSWORD_HASH = (
    update(_CITIZENS)
    .where(_CITIZENS.c.id == bindparam("citizen_pk"))
    .values(password_hash=bindparam("new_hash"))
)


def _login_row(identifier: str) -> CitizenRow | None:
    found = _lookup(identifier)
    if found is None:
        return None
    database = current_app.extensions["idp.lean"]
    return database.read(_ROW_BY_IDENTIFIER[found[0]], {"value": found[1]}, CitizenRow)


@dataclass(frozen=True)
class LoginResult:
    citizen: CitizenRow | None  # set only when the login succeeded (a plain, read-only row)
    # ok | unknown_account | wrong_password | account_pending | account_locked | account_disabled
    reason: str
    citizen_pk: int | None  # the account the identifier names, if any (for the audit trail)


def authenticate(identifier: str, password: str, passwords: Passwords) -> LoginResult:
    """Every path costs one Argon2 verification, found or not."""
    citizen = _login_row(identifier)
    pending = citizen is not None and citizen.status == "pending"
    stored = citizen.password_hash if citizen is not None and not pending else None
    matches, new_hash = passwords.verify(stored, password)
    if citizen is None:
        return LoginResult(None, "unknown_account", None)
    if pending:
        # No password has been chosen yet: the citizen activates the account first (/activate).
        return LoginResult(None, "account_pending", citizen.id)
    if not matches:
        return LoginResult(None, "wrong_password", citizen.id)
    if new_hash:
        lean.execute(_SET_PASSWORD_HASH, {"citizen_pk": citizen.id, "new_hash": new_hash})
    if not citizen.is_active:
        return LoginResult(None, f"account_{citizen.status}", citizen.id)
    return LoginResult(citizen, "ok", citizen.id)
