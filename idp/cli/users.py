"""``idp users``: create and list citizens."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import delete, func, select

from ..clock import now
from ..extensions import db
from ..identity import activation, citizens, consent, importing, sessions
from ..models import BrowserSession, Citizen, RecoveryCode, TotpCredential, WebAuthnCredential
from ..oauth import backchannel, tokens
from ..security import audit
from ..services import services

group = AppGroup(
    "users",
    help="Citizen accounts: create, import, list, show, lock, unlock, reset-mfa, verify-identity.",
)
VIETNAM = dt.timezone(dt.timedelta(hours=7))


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
    citizen = _find_or_fail(identifier)
    before = citizen.status
    locking = status != "active"
    if not locking and citizen.password_hash == citizens.NO_PASSWORD:
        status = "pending"  # never activated: unlocking gives back the wait for its activation code
    citizen.status = status
    if locking:
        # A locked account is logged out everywhere: its sessions and tokens end now.
        sessions.end_all_for(citizen.id)
        revoked = tokens.revoke_all_for_citizen(citizen.id)
    else:
        revoked = 0
    audit.record(
        "account_locked" if locking else "account_unlocked",
        "info",
        citizen_pk=citizen.id,
        previous=before,
        status=status,
        tokens_revoked=revoked,
    )
    db.session.commit()
    click.echo(f"{citizen.citizen_id}: {before} → {status}")
    _tell_portals()


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
                "identity_verified_at": _vietnam_time(citizen.identity_verified_at),
                "identity_verified_by": citizen.identity_verified_by,
                "second_factors": _second_factors(citizen.id),
                "live_sessions": live_sessions,
                "shares_with": shared,
            },
            ensure_ascii=False,
            indent=2,
        )
    )


def _vietnam_time(at: int | None) -> str | None:
    return dt.datetime.fromtimestamp(at, VIETNAM).isoformat(timespec="minutes") if at else None


def _second_factors(citizen_pk: int) -> dict:
    def count(model, *where) -> int:
        return db.session.scalar(
            select(func.count()).select_from(model).where(model.citizen_pk == citizen_pk, *where)
        )

    return {
        "totp": bool(count(TotpCredential, TotpCredential.confirmed_at.is_not(None))),
        "recovery_codes_left": count(RecoveryCode, RecoveryCode.used_at.is_(None)),
        "passkeys": count(WebAuthnCredential),
    }


def _find_or_fail(identifier: str) -> Citizen:
    citizen = citizens.find_by_identifier(identifier)
    if citizen is None:
        raise click.UsageError(f"no citizen with CCCD, phone or email {identifier}")
    return citizen


# --- assisted registration ---------------------------------------------------------------------
CODES_HEADER = ("cccd", "full_name", "activation_code", "valid_until")


def _open_private(path: Path):
    """A new file only its owner can read (0600); an existing file is never overwritten, so an
    earlier sheet of codes is not lost by a typo."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.UsageError(f"{path} already exists; choose a new file for the codes") from None
    except OSError as exc:
        raise click.UsageError(f"cannot create {path}: {exc.strerror}") from None
    os.fchmod(fd, 0o600)  # whatever the umask
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def _write_codes(out, created: list[importing.Created]) -> None:
    import csv

    writer = csv.writer(out)
    writer.writerow(CODES_HEADER)
    for row in created:
        until = dt.datetime.fromtimestamp(row.expires_at, VIETNAM).date().isoformat()
        writer.writerow((row.citizen_id, row.full_name, row.code, until))


@group.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--codes-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the activation codes to this new file (mode 0600) instead of the screen.",
)
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
def import_(csv_file: Path, codes_out: Path | None, dry_run: bool) -> None:
    """Create accounts "pending activation" from a CSV file, one activation code each.

    Columns (header row, UTF-8): cccd, full_name, birth_date (YYYY-MM-DD or DD/MM/YYYY),
    gender (nam/nữ or male/female), phone, email. Bad rows are reported by line number and
    nothing of them is written; a CCCD that already has an account is skipped. Exit status 1
    when a row was refused.
    """
    try:
        rows = importing.read_rows(csv_file.read_bytes())
    except importing.BadFile as exc:
        raise click.UsageError(f"{csv_file}: {exc}") from None
    # Opened first: a file that cannot be written stops the import before anything is created.
    out = _open_private(codes_out) if codes_out and not dry_run else None
    try:
        report = _import(rows, dry_run)
        if out is not None:
            with out:
                _write_codes(out, report.created)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    except BaseException:
        db.session.rollback()
        if out is not None:
            codes_out.unlink(missing_ok=True)  # codes of accounts that were not created
        raise
    if report.created and out is None and not dry_run:
        _write_codes(sys.stdout, report.created)
    summary = f"{len(report.created)} created, {len(report.skipped)} skipped, {len(report.errors)} refused"
    if dry_run:
        summary = f"dry run: {summary} (nothing written)"
    elif out is not None and not report.created:
        codes_out.unlink(missing_ok=True)  # no new codes: no empty sheet to hand out by mistake
    elif out is not None:
        summary += f"; codes in {codes_out}"
    click.echo(summary, err=True)
    sys.exit(1 if report.errors else 0)


def _import(rows, dry_run: bool) -> importing.Report:
    settings = services().settings
    report = importing.import_citizens(rows, services().passwords, settings.activation_code_ttl)
    for line, message in report.errors:
        click.echo(f"line {line}: {message}", err=True)
    for line, number in report.skipped:
        click.echo(f"line {line}: skipped, {number} already has an account", err=True)
    if not dry_run:
        audit.record(
            "citizens_imported",
            "failure" if report.errors else "success",
            created=len(report.created),
            skipped=len(report.skipped),
            refused=len(report.errors),
        )
    return report


def _tell_portals() -> None:
    """Send the back-channel logout notices of the sessions just ended (retries: idp maintenance)."""
    counts = backchannel.deliver_due()
    if any(counts.values()):
        click.echo(f"portals told of the logout: {counts['delivered']}, to retry: {counts['failed']}")


@group.command("activation-code")
@click.argument("identifier")
def activation_code(identifier: str) -> None:
    """Print a new activation code for a pending account (the earlier one stops working)."""
    citizen = _find_or_fail(identifier)
    if citizen.status != "pending":
        raise click.UsageError(f"{citizen.citizen_id} is {citizen.status}, not pending activation")
    code, expires_at = activation.issue(citizen, services().settings.activation_code_ttl)
    audit.record("activation_code_issued", "info", citizen_pk=citizen.id)
    db.session.commit()
    _write_codes(sys.stdout, [importing.Created(0, citizen.citizen_id, citizen.full_name, code, expires_at)])


# --- second factors and the in-person identity check -----------------------------------------
@group.command("reset-mfa")
@click.argument("identifier")
@click.option("--by", "by", default=None, help="Name of the operator who checked the citizen.")
def reset_mfa(identifier: str, by: str | None) -> None:
    """Remove a citizen's TOTP app, recovery codes and passkeys (lost phone), and end their sessions.

    Check the citizen's identity in person first: this removes the protection of the account.
    """
    citizen = _find_or_fail(identifier)
    factors = {"totp": TotpCredential, "recovery_codes": RecoveryCode, "passkeys": WebAuthnCredential}
    removed = {
        name: db.session.execute(delete(model).where(model.citizen_pk == citizen.id)).rowcount
        for name, model in factors.items()
    }
    # Sessions opened with a factor that is gone no longer describe what the citizen can prove.
    sessions.end_all_for(citizen.id)
    audit.record("mfa_reset", "info", citizen_pk=citizen.id, by=by, **removed)
    db.session.commit()
    _tell_portals()
    click.echo(
        f"{citizen.citizen_id}: removed TOTP {removed['totp']}, recovery codes "
        f"{removed['recovery_codes']}, passkeys {removed['passkeys']}; sessions ended"
    )


@group.command("verify-identity")
@click.argument("identifier")
@click.option("--by", "by", required=True, help="Name of the operator who checked the citizen in person.")
@click.option("--document", default=None, help="What was checked, e.g. 'CCCD gắn chip'.")
def verify_identity(identifier: str, by: str, document: str | None) -> None:
    """Record that the citizen's identity was checked in person (level of assurance 3)."""
    by = " ".join(by.split())
    if not 2 <= len(by) <= 100:
        raise click.UsageError("--by: the operator's name, 2 to 100 characters")
    if document is not None and len(document) > 200:
        raise click.UsageError("--document: at most 200 characters")
    citizen = _find_or_fail(identifier)
    citizen.identity_verified_at = now()
    citizen.identity_verified_by = by
    audit.record("identity_verified", citizen_pk=citizen.id, by=by, document=document)
    db.session.commit()
    click.echo(f"{citizen.citizen_id}: identity checked in person by {by}")
