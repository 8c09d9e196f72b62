"""``idp audit``: read, export and purge the audit trail."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
import time

import click
from flask.cli import AppGroup
from sqlalchemy import delete, select, text

from ..clock import now
from ..config import ConfigError, parse_duration
from ..extensions import db
from ..identity.citizens import find_by_identifier
from ..models import AuditEvent
from ..security import audit
from ..services import services

group = AppGroup("audit", help="The audit trail of security events.")
COLUMNS = (
    "id",
    "at",
    "event_type",
    "outcome",
    "citizen_pk",
    "client_id",
    "actor",
    "ip_address",
    "user_agent",
    "request_id",
    "details",
)


def _since(raw: str) -> int:
    """An ISO date/time (2026-11-01, 2026-11-01T08:00) or an age (7d, 12h)."""
    try:
        return now() - parse_duration("--since", raw)
    except ConfigError:
        pass
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise click.BadParameter(f"{raw!r}: expected a date (2026-11-01) or an age (7d)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone(dt.timedelta(hours=7)))  # Vietnam time
    return int(moment.timestamp())


def _row(event: AuditEvent) -> dict:
    row = {c: getattr(event, c) for c in COLUMNS}
    row["at"] = dt.datetime.fromtimestamp(event.at, dt.UTC).isoformat().replace("+00:00", "Z")
    return row


def _line(event: AuditEvent) -> str:
    when = dt.datetime.fromtimestamp(event.at, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    who = f"citizen={event.citizen_pk}" if event.citizen_pk else "-"
    details = json.dumps(event.details, ensure_ascii=False, separators=(",", ":")) if event.details else ""
    return (
        f"{when} {event.event_type:<26} {event.outcome:<8} {who:<14} client={event.client_id or '-'} "
        f"ip={event.ip_address or '-'} req={event.request_id or '-'} {details}"
    )


def _filtered(citizen: str | None, client: str | None, event_type: str | None):
    query = select(AuditEvent)
    if citizen:
        found = find_by_identifier(citizen)
        pk = found.id if found else (int(citizen) if citizen.isdigit() and len(citizen) < 12 else -1)
        query = query.where(AuditEvent.citizen_pk == pk)
    if client:
        query = query.where(AuditEvent.client_id == client)
    if event_type:
        query = query.where(AuditEvent.event_type == event_type)
    return query


@group.command("tail")
@click.option("-n", "--lines", default=50, show_default=True, type=click.IntRange(1, 100000))
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events as they happen.")
@click.option("--citizen", default=None, help="CCCD number, phone, email or internal id.")
@click.option("--client", default=None, help="A portal's client_id.")
@click.option("--type", "event_type", default=None, help="An event type, e.g. login_failed.")
def tail(lines: int, follow: bool, citizen, client, event_type) -> None:
    """The latest events, oldest first."""
    query = _filtered(citizen, client, event_type)
    latest = list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(lines)))
    last_id = 0
    for event in reversed(latest):
        click.echo(_line(event))
        last_id = event.id
    while follow:
        db.session.rollback()  # a fresh snapshot each round
        for event in db.session.scalars(query.where(AuditEvent.id > last_id).order_by(AuditEvent.id)):
            click.echo(_line(event))
            last_id = event.id
        sys.stdout.flush()
        time.sleep(1)


@group.command("export")
@click.option("--since", required=True, help="A date (2026-11-01, Vietnam time) or an age (30d).")
@click.option("--until", default=None, help="A date or an age; default now.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="jsonl", show_default=True)
@click.option("--citizen", default=None)
@click.option("--client", default=None)
@click.option("--type", "event_type", default=None)
def export(since, until, fmt, citizen, client, event_type) -> None:
    """Every event in a period, to standard output, for an inspector."""
    query = _filtered(citizen, client, event_type).where(AuditEvent.at >= _since(since))
    if until:
        query = query.where(AuditEvent.at < _since(until))
    rows = db.session.scalars(query.order_by(AuditEvent.id).execution_options(yield_per=1000))
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS)
        writer.writeheader()
        for event in rows:
            row = _row(event)
            row["details"] = json.dumps(row["details"], ensure_ascii=False)
            writer.writerow(row)
    else:
        for event in rows:
            sys.stdout.write(json.dumps(_row(event), ensure_ascii=False) + "\n")


@group.command("purge")
@click.option("--older-than", default=None, help="Default: IDP_AUDIT_RETENTION.")
def purge(older_than) -> None:
    """Delete events older than the retention period. The purge itself is recorded."""
    try:
        age = (
            parse_duration("--older-than", older_than) if older_than else services().settings.audit_retention
        )
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None
    cutoff = now() - age
    if db.session.get_bind().dialect.name == "postgresql":
        # The table refuses deletes (a trigger) unless the transaction says it is a purge.
        db.session.execute(text("SET LOCAL idp.audit_purge = 'on'"))
    deleted = db.session.execute(delete(AuditEvent).where(AuditEvent.at < cutoff)).rowcount
    audit.record("audit_purged", "info", older_than_seconds=age, events_deleted=deleted)
    db.session.commit()
    click.echo(f"deleted {deleted} audit events older than {age // 86400} days")
