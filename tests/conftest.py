"""Fixtures shared by every test: a fresh database per run (SQLite, or PostgreSQL when
IDP_TEST_DATABASE_URL is set), the app built from real settings, and factories that make
synthetic citizens and portals through the same services the CLI uses."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from idp import clock, create_app, schema
from idp.config import Settings
from idp.extensions import db
from idp.identity import cccd, citizens
from idp.oauth import clients

# Cheap Argon2 parameters: the suite tests behaviour, bench/ measures cost.
FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_cost": 8192, "argon2_parallelism": 1}
PASSWORD = "mat-khau-thu-nghiem-2026"


@contextlib.contextmanager
def fresh_database(sqlite_dir: Path, prefix: str = "idp_test") -> Iterator[str]:
    """An empty database of the run's kind: a SQLite file, or (IDP_TEST_DATABASE_URL set) a new
    PostgreSQL database of our own, dropped afterwards, since CI and sessions share the server."""
    base = os.environ.get("IDP_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{sqlite_dir / f'{prefix}.sqlite3'}"
        return
    url = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def settings(database_url, instance_dir) -> Settings:
    return Settings.from_env({}, database_url=database_url, instance_dir=instance_dir,
                             keys_dir=instance_dir / "keys", issuer="http://127.0.0.1:5000",
                             # The shared app is not the rate limits' subject: tests/security has its own.
                             ratelimit_login="100000/minute", ratelimit_token="100000/minute",
                             ratelimit_register="100000/minute", ratelimit_send_code="100000/minute",
                             ratelimit_check_code="100000/minute",
                             ratelimit_activate="100000/minute",
                             ratelimit_client_registration="100000/minute",
                             **FAST_ARGON2)


@pytest.fixture(scope="session")
def app(settings):
    app = create_app(settings)
    app.config["TESTING"] = True
    schema.upgrade(app)
    return app


@pytest.fixture(autouse=True)
def clean_database(request):
    """Every test starts with empty tables and a real clock."""
    yield
    clock.reset()
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(text("SET LOCAL idp.audit_purge = 'on'"))  # the trail is append-only
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_citizen(app):
    """make_citizen(**fields) → (citizen fields dict, password). Synthetic, valid-shaped data."""
    rng = random.Random()

    def make(**fields):
        birth = fields.pop("birth_date", dt.date(rng.randint(1940, 2005), rng.randint(1, 12),
                                                rng.randint(1, 28)))
        gender = fields.pop("gender", rng.choice(["male", "female"]))
        number = fields.pop("citizen_id", cccd.synthetic(birth, gender, rng))
        new = citizens.NewCitizen(
            citizen_id=number, birth_date=birth, gender=gender,
            full_name=fields.pop("full_name", "Trần Thị Bình" if gender == "female" else "Lê Văn Cường"),
            password=fields.pop("password", PASSWORD),
            phone=fields.pop("phone", f"+8491{rng.randrange(10**7):07d}"),
            email=fields.pop("email", f"cd{rng.randrange(10**9)}@example.com"),
            **fields)
        with app.app_context():
            row = citizens.create(new, app.extensions["idp"].passwords)
            db.session.commit()
            return {"pk": row.id, "citizen_id": row.citizen_id, "phone": row.phone, "email": row.email,
                    "subject": row.subject, "password": new.password, "full_name": row.full_name}

    return make


@pytest.fixture
def outbox(caplog):
    """The messages the development notifier "sent" (tests/outbox.py)."""
    from tests.outbox import Outbox

    return Outbox(caplog)


@pytest.fixture
def make_portal(app):
    """make_portal(**spec) → {"client_id", "client_secret", "redirect_uri", ...}."""

    def make(**spec):
        spec.setdefault("name", "Cổng thử nghiệm")
        spec.setdefault("redirect_uris", ["https://portal.example/callback"])
        spec.setdefault("post_logout_redirect_uris", ["https://portal.example/"])
        spec.setdefault("scopes", ["openid", "profile", "email", "phone", "offline_access"])
        with app.app_context():
            row, secret = clients.register(clients.ClientSpec(**spec))
            db.session.commit()
            return {"client_id": row.client_id, "client_secret": secret,
                    "redirect_uri": row.redirect_uris[0] if row.redirect_uris else None,
                    "post_logout_redirect_uri": (row.post_logout_redirect_uris or [None])[0],
                    "scopes": list(row.scopes)}

    return make
