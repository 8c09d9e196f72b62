"""Setting a new password: reset through a verified phone or email, or change while logged in.

A reset ends every browser session and revokes every access and refresh token of the citizen:
whoever knew the old password may have used it anywhere. A change keeps the browser that made it
and ends the others. Either way the citizen is told on a verified contact, so a change made by
someone else does not go unnoticed.

The reset request answers the same whatever the identifier names (an account, none, one without
a verified contact, one that has just had a code): the code page then refuses every code alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from ..clock import now
from ..extensions import db
from ..models import BrowserSession, Citizen
from ..oauth import tokens
from . import citizens, password_policy, sessions, verification
from .passwords import Passwords

PURPOSE = "reset_password"


class WrongPassword(ValueError):
    """The current password typed on the change page is not the citizen's."""


class CodeAlreadyUsed(ValueError):
    """Another request used the same reset code a moment earlier."""


@dataclass(frozen=True)
class Target:
    citizen: Citizen
    channel: str  # sms | email
    destination: str


def reset_target(identifier: str) -> Target | None:
    """Where a reset code for this identifier goes: the contact typed if it is verified, otherwise
    the verified phone, otherwise the verified email. None: nowhere (no account, not active,
    nothing verified). Unverified contacts never receive one: they may be someone else's typo."""
    citizen = citizens.find_by_identifier(identifier)
    if citizen is None or citizen.status != "active":
        return None
    typed = identifier.strip()
    if "@" in typed and citizen.email_verified:
        return Target(citizen, "email", citizen.email)
    if citizen.phone and citizen.phone_verified and not ("@" in typed and citizen.email_verified):
        return Target(citizen, "sms", citizen.phone)
    if citizen.email and citizen.email_verified:
        return Target(citizen, "email", citizen.email)
    return None


def personal_details(citizen: Citizen) -> list[str | None]:
    return [citizen.citizen_id, citizen.phone, citizen.email, citizen.full_name]


def set_password(citizen: Citizen, new_password: str, passwords: Passwords) -> None:
    """The policy, then the hash. Raises password_policy.WeakPassword."""
    password_policy.check(new_password, personal_details(citizen))
    citizen.password_hash = passwords.hash(new_password)
    citizen.password_changed_at = now()


def complete_reset(citizen: Citizen, code_row, new_password: str, passwords: Passwords) -> int:
    """After the code matched: the new password, then every session and token ends. Returns the
    number of tokens revoked. Raises WeakPassword before anything changes (the code stays valid),
    or CodeAlreadyUsed."""
    set_password(citizen, new_password, passwords)
    if not verification.consume(code_row):
        raise CodeAlreadyUsed()
    verification.void(citizen.id, PURPOSE)
    sessions.end_all_for(citizen.id)
    return tokens.revoke_all_for_citizen(citizen.id)


def change_password(
    citizen: Citizen, current_password: str, new_password: str, passwords: Passwords, keep_sid: str
) -> int:
    """Change with the current password; every other browser session ends. Returns how many
    sessions ended. Raises WrongPassword or WeakPassword, having changed nothing."""
    matches, _ = passwords.verify(citizen.password_hash, current_password)
    if not matches:
        raise WrongPassword()
    if current_password == new_password:
        raise password_policy.WeakPassword("same", "the new password must differ from the current one")
    set_password(citizen, new_password, passwords)
    others = list(
        db.session.scalars(
            select(BrowserSession.sid).where(
                BrowserSession.citizen_pk == citizen.id,
                BrowserSession.ended_at.is_(None),
                BrowserSession.sid != keep_sid,
            )
        )
    )
    if others:
        db.session.execute(
            update(BrowserSession)
            .where(BrowserSession.sid.in_(others))
            .values(ended_at=now())
            .execution_options(synchronize_session=False)
        )
    for sid in others:  # as signing a device out does: its access tokens end with it
        tokens.revoke_session_access_tokens(sid)
    return len(others)
