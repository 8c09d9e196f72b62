"""``idp demo``: everything a newcomer needs, on one command.

Applies migrations, creates the signing keys, a synthetic demo citizen and the demo portal, then
runs the provider (Granian) on 127.0.0.1:5000 and the demo portal on 127.0.0.1:5001.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from .. import schema
from ..config import PROJECT_ROOT
from ..credentials import hash_matches
from ..extensions import db
from ..identity import citizens
from ..oauth import clients
from ..services import services
from .serve import batch_scheduling, default_threads, granian_argv, prepare_metrics_dir, server_environment

DEMO_CITIZEN = citizens.NewCitizen(
    citizen_id="019090001234",
    full_name="Nguyễn Văn An",
    birth_date=dt.date(1990, 5, 15),
    gender="male",
    password="thainguyen-demo-2026",
    phone="0912345678",
    email="an.nguyen@example.com",
    address="Phường Phan Đình Phùng, TP. Thái Nguyên",
    phone_verified=True,
    email_verified=True,
)
PORTAL_URL = "http://127.0.0.1:5001"
PORTAL_ID = "demo-portal"


def ensure_demo_citizen() -> None:
    if citizens.find_by_identifier(DEMO_CITIZEN.citizen_id) is None:
        citizens.create(DEMO_CITIZEN, services().passwords)


def ensure_demo_portal(credentials_file) -> None:
    """The demo portal's client, and its secret in a 0600 file the portal reads."""
    saved = {}
    if credentials_file.exists():
        saved = json.loads(credentials_file.read_text())
    client = clients.find(PORTAL_ID)
    if client is None:
        client, secret = clients.register(
            clients.ClientSpec(
                name="Cổng dịch vụ công (demo)",
                client_id=PORTAL_ID,
                redirect_uris=[f"{PORTAL_URL}/callback"],
                post_logout_redirect_uris=[f"{PORTAL_URL}/"],
                scopes=["openid", "profile", "email", "phone", "address", "offline_access"],
            )
        )
    elif saved.get("client_secret") and hash_matches(saved["client_secret"], client.secret_hash or ""):
        return
    else:
        secret = clients.new_secret(client)
    credentials_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"client_id": PORTAL_ID, "client_secret": secret}, fh)


@click.command("demo")
@with_appcontext
@click.option("--no-serve", is_flag=True, help="Only set up (database, keys, citizen, portal).")
def command(no_serve: bool) -> None:
    """Set up and run the provider with a demo citizen and a demo portal."""
    settings = services().settings
    if settings.https or not settings.issuer.startswith(("http://127.0.0.1", "http://localhost")):
        # The demo citizen's password is printed in the README: never on a real deployment.
        raise click.ClickException(f"idp demo runs only on a loopback issuer, not {settings.issuer}")
    schema.upgrade(current_app)
    ensure_demo_citizen()
    credentials_file = settings.instance_dir / "demo-portal-client.json"
    ensure_demo_portal(credentials_file)
    db.session.commit()
    if no_serve:
        click.echo("demo set up")
        return
    prepare_metrics_dir(settings.metrics_dir)
    env = {**os.environ, "DEMO_ISSUER": settings.issuer, "DEMO_CLIENT_FILE": str(credentials_file)}
    # Codes for registration and password reset go to the provider's log (idp/notify/logged.py): the
    # demo needs no mail server or SMS gateway, and its codes are read in this terminal.
    env.update(IDP_NOTIFY_EMAIL="log", IDP_NOTIFY_SMS="log")
    env.pop("FLASK_RUN_FROM_CLI", None)  # set by the idp command; it would stop app.run() in the portal
    idp = subprocess.Popen(
        granian_argv("127.0.0.1:5000", 1, default_threads(settings.database_url)),
        env=server_environment(env),
        preexec_fn=batch_scheduling,  # as `idp serve` does; nothing else runs threads here yet
    )
    portal = subprocess.Popen([sys.executable, "-m", "examples.demo_portal"], env=env, cwd=PROJECT_ROOT)
    click.echo(f"""
  Thai Nguyen ID   {settings.issuer}
  Demo portal      {PORTAL_URL}   ← open this and press "Đăng nhập bằng Thai Nguyen ID"

  Demo citizen     CCCD {DEMO_CITIZEN.citizen_id}  (or phone {DEMO_CITIZEN.phone})
  Password         {DEMO_CITIZEN.password}

  New accounts     {settings.issuer}/register — the 6-digit codes appear in this log

  Ctrl-C stops both.
""")
    try:
        while idp.poll() is None and portal.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                idp.wait(timeout=1)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in (idp, portal):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (idp, portal):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
