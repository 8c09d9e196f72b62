"""``idp users``: create and list citizens."""

from __future__ import annotations

import datetime as dt
import json
import sys

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from ..clock import now
from ..extensions import db
from ..identity import citizens, consent, sessions
from ..models import BrowserSession, Citizen
from ..oauth import tokens
from ..security import audit
from ..services import services

group = AppGroup("users", help="Citizen accounts: create, list, show, lock, unlock.")


@group.command("create")
@click.option("--citizen-id", required=True, help="The 12-digit CCCD number.")
@click.option("--name", required=True, help="Full name, e.g. 'Nguyễn Văn An'.")
@click.option("--birth-date", required=True, type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--gender", required=True, type=click.Choice(["male", "female"]))
@click.option("--phone", default=None, help="Vietnamese phone number (0912345678 or +84…).")
@click.option("--email", default=None)
@click.option("--address", default=None)
@click.option("--locale", default="vi", type=click.Choice(["vi", "en"]))
@click.option("--verified", is_flag=True, help="Mark phone and email as already verified.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create(
    citizen_id, name, birth_date, gender, phone, email, address, locale, verified, password_stdin
) -> None:
    """Create a citizen. The password is prompted without echo (or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    new = citizens.NewCitizen(
        citizen_id=citizen_id,
        full_name=name,
        birth_date=birth_date.date() if isinstance(birth_date, dt.datetime) else birth_date,
        gender=gender,
        password=password,
        phone=phone,
        email=email,
        address=address,
        locale=locale,
        phone_verified=verified,
        email_verified=verified,
    )
    try:
        citizen = citizens.create(new, services().passwords)
    except citizens.InvalidCitizen as exc:
        raise click.UsageError(str(exc)) from None
    db.session.commit()
    click.echo(f"created citizen {citizen.citizen_id} ({citizen.full_name}), sub {citizen.subject}")


@group.command("list")
def list_() -> None:
    """One line per citizen: CCCD, status, name, phone, email."""
    for c in db.session.scalars(select(Citizen).order_by(Citizen.id)):
        click.echo(f"{c.citizen_id}\t{c.status}\t{c.full_name}\t{c.phone or '-'}\t{c.email or '-'}")


def _set_status(identifier: str, status: str) -> None:
    citizen = citizens.find_by_identifier(identifier)
    if citizen is None:
        raise click.UsageError(f"no citizen with CCCD, phone or email {identifier}")
    before = citizen.status
    citizen.status = status
    if status != "active":
        # A locked account is logged out everywhere: its sessions and tokens end now.
        sessions.end_all_for(citizen.id)
        revoked = tokens.revoke_all_for_citizen(citizen.id)
    else:
        revoked = 0
    audit.record(
        "account_locked" if status != "active" else "account_unlocked",
        "info",
        citizen_pk=citizen.id,
        previous=before,
        status=status,
        tokens_revoked=revoked,
    )
    db.session.commit()
    click.echo(f"{citizen.citizen_id}: {before} → {status}")


@group.command("lock")
@click.argument("identifier")
def lock(identifier: str) -> None:
    """Lock a citizen's account (CCCD, phone or email): no login, every session and token ends."""
    _set_status(identifier, "locked")


@group.command("unlock")
@click.argument("identifier")
def unlock(identifier: str) -> None:
    """Let a locked citizen log in again."""
    _set_status(identifier, "active")


@group.command("show")
@click.argument("identifier")
def show(identifier: str) -> None:
    """One citizen (by CCCD, phone or email): identity, status, sessions, the portals they share with."""
    citizen = citizens.find_by_identifier(identifier)
    if citizen is None:
        raise click.UsageError(f"no citizen with CCCD, phone or email {identifier}")
    live_sessions = db.session.scalar(
        select(func.count())
        .select_from(BrowserSession)
        .where(
            BrowserSession.citizen_pk == citizen.id,
            BrowserSession.ended_at.is_(None),
            BrowserSession.expires_at > now(),
        )
    )
    shared = [
        {"client_id": portal.client_id, "name": portal.name, "scopes": grant.scopes}
        for grant, portal in consent.connected_portals(citizen.id)
    ]
    click.echo(
        json.dumps(
            {
                "citizen_id": citizen.citizen_id,
                "subject": citizen.subject,
                "full_name": citizen.full_name,
                "birth_date": citizen.birth_date.isoformat(),
                "gender": citizen.gender,
                "phone": citizen.phone,
                "phone_verified": citizen.phone_verified,
                "email": citizen.email,
                "email_verified": citizen.email_verified,
                "locale": citizen.locale,
                "status": citizen.status,
                "live_sessions": live_sessions,
                "shares_with": shared,
            },
            ensure_ascii=False,
            indent=2,
        )
    )
