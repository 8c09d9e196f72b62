"""The ``idp`` operator command: db, clients, users, serve, demo."""

from __future__ import annotations

import logging
import sys

import click
from flask import Flask
from flask.cli import FlaskGroup, ScriptInfo

from ..config import ConfigError, Settings


def _create_app() -> Flask:
    from .. import create_app, schema

    app = create_app()
    schema.attach(app)  # the `idp db …` commands
    return app


class AuditedGroup(FlaskGroup):
    """Every operator command is on the record: who ran what, and how it ended."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        # FlaskGroup would build the app (creating keys and secrets) just to print --help.
        return sorted(self.commands)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self.commands.get(name)  # ours only: no plugin commands (Flask-Limiter's "limiter")

    def invoke(self, ctx: click.Context):
        argv = sys.argv[1:]
        outcome = "failure"
        try:
            result = super().invoke(ctx)
            outcome = "success"
            return result
        except SystemExit as exc:
            outcome = "success" if not exc.code else "failure"
            raise
        finally:
            if argv and argv[0] not in ("serve", "demo", "--help") and "--help" not in argv:
                _record_command(ctx, " ".join(argv), outcome)


def _record_command(ctx: click.Context, command: str, outcome: str) -> None:
    from ..extensions import db
    from ..security import audit

    try:
        app = ctx.ensure_object(ScriptInfo).load_app()
        with app.app_context():
            audit.record("operator_command", outcome, command=command[:500])
            db.session.commit()
    except Exception:
        return


cli = AuditedGroup(
    name="idp",
    create_app=_create_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
    help="Operate Thai Nguyen ID: database, portals (clients), citizens, server.",
)


# Flask's --app/--env-file/--debug options mean nothing here: the app is always ours, from IDP_*.
cli.params = [p for p in cli.params if p.name not in ("env_file", "app", "debug")]


def _register_commands() -> None:
    from flask_migrate.cli import db

    from . import audit, clients, demo, keys, maintenance, serve, users

    for command in (
        db,
        clients.group,
        users.group,
        keys.group,
        audit.group,
        maintenance.group,
        serve.command,
        demo.command,
    ):
        cli.add_command(command)


_register_commands()


def main() -> None:
    # The audit events of a command go to the database; its terminal shows only its own output.
    logging.getLogger("idp.audit").setLevel(logging.WARNING)
    try:
        Settings.from_env()  # a bad setting stops every command, --help included, with one line
        cli.main(prog_name="idp")
    except ConfigError as exc:
        click.echo(f"idp: configuration error: {exc}", err=True)
        sys.exit(2)
