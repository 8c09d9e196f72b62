"""Self-registration: a citizen creates an account, then proves the phone with a code.

Enumeration: a form naming a CCCD number, phone or email that an account already has gets the
same web answer as a new registration ("we sent a code to 09…"), after the same work (one Argon2
hash, one message to the phone typed). The difference travels out of band: instead of a code, the
phone typed receives a notice that the details are already in use, and the existing account's
owner is told that someone tried. So the page never says whose a number is, and learning whether
a CCCD has an account costs a phone and a message per try (and the per-IP limit).

The browser carries a *ticket* between the form and the code page: an HMAC of the new account
under the server key, or random bytes of the same length when nothing was created. It binds the
code page to the account made by this form (a code alone must not log anyone into an older
account that happens to have this phone), and it looks the same either way.

An unverified account may log in, as Keycloak's "verify email" required action allows: the
`phone_verified` and `email_verified` claims tell portals the truth, and the verification pages
(/verify/phone, /verify/email) ask for the code first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import or_, select

from ..clock import now
from ..extensions import db
from ..models import Citizen
from ..models.citizen import GENDERS
from . import cccd, citizens, password_policy
from .contact import InvalidContact, normalise_email, normalise_phone
from .passwords import Passwords

MAX_FIELD = 254
# The fields shown again after a refusal (never the password).
VALUE_FIELDS = ("citizen_id", "full_name", "birth_date", "gender", "phone", "email")
OLDEST_BIRTH = dt.date(1900, 1, 1)


class InvalidApplication(ValueError):
    """Fields that cannot be accepted: ``errors`` maps each field to a reason (an i18n key)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(sorted(errors)))
        self.errors = errors


@dataclass(frozen=True)
class Application:
    citizen_id: str
    full_name: str
    birth_date: dt.date
    gender: str
    phone: str  # E.164
    email: str | None
    password: str
    locale: str = "vi"


@dataclass(frozen=True)
class Outcome:
    citizen: Citizen | None  # None: something was already in use, nothing was created
    ticket: str
    # Verified contacts of the accounts that already hold these details: (channel, destination).
    owners: tuple[tuple[str, str], ...] = ()


def parse_birth_date(raw: str) -> dt.date | None:
    """YYYY-MM-DD (a date input) or DD/MM/YYYY (as Vietnamese write it, typed without a picker)."""
    raw = raw.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    return None


def parse(form: Mapping[str, str], locale: str = "vi") -> Application:
    """Every field checked at once, so the citizen corrects them all in one go."""

    def field(name: str) -> str:
        return (form.get(name) or "")[:MAX_FIELD].strip()

    errors: dict[str, str] = {}
    full_name = " ".join(field("full_name").split())
    if not 2 <= len(full_name) <= 200:
        errors["full_name"] = "err_name"
    gender = field("gender")
    if gender not in GENDERS:
        errors["gender"] = "err_gender"
    birth_date = parse_birth_date(field("birth_date"))
    if birth_date is None or not OLDEST_BIRTH <= birth_date <= dt.date.today():
        errors["birth_date"] = "err_birth_date"
        birth_date = None
    number = field("citizen_id").replace(" ", "")
    if not cccd.looks_like_cccd(number):
        errors["citizen_id"] = "err_cccd_shape"
    elif birth_date is not None and "gender" not in errors:
        try:
            cccd.validate(number, birth_date, gender)
        except cccd.InvalidCCCD:
            errors["citizen_id"] = "err_cccd_mismatch"
    phone = email = None
    try:
        phone = normalise_phone(field("phone"))
    except InvalidContact:
        errors["phone"] = "err_phone"
    if field("email"):
        try:
            email = normalise_email(field("email"))
        except InvalidContact:
            errors["email"] = "err_email"
    password = (form.get("password") or "")[: password_policy.MAX_LENGTH + 1]
    try:
        password_policy.check(password, [number, phone, email, full_name])
    except password_policy.WeakPassword as exc:
        errors["password"] = f"pw_{exc.reason}"
    if "password" not in errors and form.get("password_confirm") != form.get("password"):
        errors["password_confirm"] = "pw_mismatch"
    if errors:
        raise InvalidApplication(errors)
    return Application(number, full_name, birth_date, gender, phone, email, password, locale)


def _ticket_for(citizen: Citizen) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"signup:{citizen.id}:{citizen.subject}".encode(), hashlib.sha256).hexdigest()


def ticket_matches(citizen: Citizen | None, ticket: str | None) -> bool:
    expected = _ticket_for(citizen) if citizen is not None else secrets.token_hex(32)
    return hmac.compare_digest(expected.encode(), (ticket or "")[:64].encode("utf-8", "replace"))


def holders(application: Application) -> list[Citizen]:
    """The accounts that already have this CCCD number, phone or email."""
    taken = [Citizen.citizen_id == application.citizen_id, Citizen.phone == application.phone]
    if application.email:
        taken.append(Citizen.email == application.email)
    return list(db.session.scalars(select(Citizen).where(or_(*taken)).limit(3)))


def refused(application: Application, holders: list[Citizen], passwords: Passwords) -> Outcome:
    """The answer when the details are taken: nothing created, the same cost as creating."""
    passwords.hash(application.password)  # the Argon2 a real registration spends
    owners: dict[tuple[str, str], None] = {}
    for holder in holders:
        if holder.phone and holder.phone_verified and holder.phone != application.phone:
            owners[("sms", holder.phone)] = None
        elif holder.email and holder.email_verified:
            owners[("email", holder.email)] = None
    return Outcome(None, secrets.token_hex(32), tuple(owners))


def register(application: Application, passwords: Passwords) -> Outcome:
    """Create the account (phone and email unverified) or refuse without saying why. The caller
    commits; a unique-constraint race at commit is a refusal too (see refused())."""
    taken = holders(application)
    if taken:
        return refused(application, taken, passwords)
    citizen = citizens.create(
        citizens.NewCitizen(
            citizen_id=application.citizen_id,
            full_name=application.full_name,
            birth_date=application.birth_date,
            gender=application.gender,
            password=application.password,
            phone=application.phone,
            email=application.email,
            locale=application.locale,
        ),
        passwords,
    )
    citizen.password_changed_at = now()
    return Outcome(citizen, _ticket_for(citizen))


def mask_phone(phone: str) -> str:
    """+84912345678 → 091•••678: enough for the citizen to recognise, not to harvest."""
    national = "0" + phone[3:] if phone.startswith("+84") else phone
    return national[:3] + "•" * max(0, len(national) - 6) + national[-3:]


def mask_email(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}•••@{domain}"
