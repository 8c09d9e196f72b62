"""``idp maintenance``: housekeeping, safe to run from cron on every replica at once."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from .. import maintenance
from ..extensions import db
from ..oauth import backchannel
from ..security import audit
from ..services import services

group = AppGroup("maintenance", help="Housekeeping: purge what has expired.")


@group.command("purge")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100000))
def purge(batch_size: int) -> None:
    """Delete expired codes, tokens, sessions, pending logins and stale login counters."""
    counts = maintenance.purge(batch_size, services().settings.login_lock_time)
    for name, count in counts.items():
        click.echo(f"{count:>8} {name}")
    audit.record("maintenance_purge", "info", **{k.replace(" ", "_"): v for k, v in counts.items()})
    db.session.commit()


@group.command("deliver-logouts")
def deliver_logouts() -> None:
    """Send the back-channel logout notices that are due (retries after a portal was unreachable)."""
    total = {"delivered": 0, "failed": 0, "abandoned": 0}
    while True:
        counts = backchannel.deliver_due()
        for name, count in counts.items():
            total[name] += count
        if not any(counts.values()):
            break
    for name, count in total.items():
        click.echo(f"{count:>8} {name}")
