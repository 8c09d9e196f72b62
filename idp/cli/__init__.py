"""The ``idp`` operator command: db, clients, users, serve, demo."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from ..config import ConfigError


def _create_app() -> Flask:
    from .. import create_app

    return create_app()


def register_app_commands(app: Flask) -> None:
    from . import clients, demo, keys, serve, users

    app.cli.add_command(clients.group)
    app.cli.add_command(users.group)
    app.cli.add_command(keys.group)
    app.cli.add_command(serve.command)
    app.cli.add_command(demo.command)


cli = FlaskGroup(
    name="idp",
    create_app=_create_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
    help="Operate Thai Nguyen ID: database, portals (clients), citizens, server.",
)


def main() -> None:
    try:
        cli.main(prog_name="idp")
    except ConfigError as exc:
        click.echo(f"idp: configuration error: {exc}", err=True)
        sys.exit(2)
