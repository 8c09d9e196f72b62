"""``idp keys``: the signing-key lifecycle, for operators and cron."""

from __future__ import annotations

import datetime as dt
import json

import click
from flask.cli import AppGroup

from ..config import ConfigError, parse_duration
from ..extensions import db
from ..keystore import KeyStoreError, lifecycle
from ..oauth import tokens
from ..security import audit
from ..services import services

group = AppGroup("keys", help="Signing keys: list, rotate, prune, revoke, export.")


def _when(ts: int | None) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ") if ts else "-"


def _report(changes: list[lifecycle.Change], nothing: str) -> None:
    for change in changes:
        click.echo(str(change))
        audit.record(f"key_{change.action}", "info", kid=change.kid, alg=change.alg)
    db.session.commit()
    if not changes:
        click.echo(nothing)


def _after_change() -> None:
    # This process serves nothing, but its own later steps (export-public) must see the change.
    services().keyring.refresh(force=True)


@group.command("list")
def list_() -> None:
    """kid, algorithm, state, created, activated, retire-after."""
    keys, problems = services().keyring.store.load()
    click.echo(f"{'kid':<44} {'alg':<6} {'state':<8} {'created':<21} {'activated':<21} retire-after")
    for k in sorted(keys, key=lambda k: (k.alg, k.created_at)):
        click.echo(
            f"{k.kid:<44} {k.alg:<6} {k.state:<8} {_when(k.created_at):<21} "
            f"{_when(k.activated_at):<21} {_when(k.retire_after)}"
        )
    for problem in problems:
        click.echo(f"UNREADABLE: {problem}", err=True)


@group.command("rotate")
@click.option(
    "--alg",
    "algs",
    multiple=True,
    type=click.Choice(["RS256", "PS256", "ES256", "EdDSA"]),
    help="Only these algorithms (repeat). Default: every configured one.",
)
@click.option(
    "--if-older-than",
    "older_than",
    default=None,
    metavar="AGE",
    help="Only rotate keys active for longer than AGE (e.g. 90d): safe to run from cron.",
)
@click.option("--force", is_flag=True, help="Promote a next key even if portals may not have seen it yet.")
def rotate(algs, older_than, force) -> None:
    """Promote each next key to active, retire the old active key, publish a fresh next key."""
    ring = services().keyring
    try:
        age = parse_duration("--if-older-than", older_than) if older_than else None
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None
    unknown = set(algs) - set(ring.policy.algorithms)
    if unknown:
        raise click.UsageError(f"not a configured algorithm (IDP_SIGNING_ALGS): {', '.join(sorted(unknown))}")
    try:
        changes = lifecycle.rotate(ring.store, ring.policy, tuple(algs) or None, older_than=age, force=force)
    except KeyStoreError as exc:
        raise click.ClickException(str(exc)) from None
    _after_change()
    _report(
        changes,
        "nothing to rotate: every active key is younger than " + older_than
        if older_than
        else "nothing rotated",
    )


@group.command("prune")
def prune() -> None:
    """Remove retired keys once every token they signed has expired."""
    changes = lifecycle.prune(services().keyring.store)
    _after_change()
    _report(changes, "nothing to prune")


@group.command("revoke")
@click.argument("kid")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def revoke(kid: str, yes: bool) -> None:
    """EMERGENCY: withdraw a compromised key from the JWKS now; its tokens stop working."""
    ring = services().keyring
    if not yes:
        click.confirm(f"Revoke {kid}? Every portal must re-verify logins it signed.", abort=True)
    try:
        changes = lifecycle.revoke(ring.store, ring.policy, kid)
    except KeyStoreError as exc:
        raise click.ClickException(str(exc)) from None
    revoked = tokens.revoke_signed_by(kid)
    db.session.commit()
    _after_change()
    _report(changes, f"{kid} was already revoked")
    click.echo(f"revoked   {revoked} access/refresh tokens issued with ID tokens signed by {kid}")


@group.command("export-public")
def export_public() -> None:
    """Print the public JWKS, for out-of-band distribution to portals."""
    body, _ = services().keyring.jwks()
    click.echo(json.dumps(json.loads(body), indent=2))
