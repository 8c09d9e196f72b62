"""Several provider instances at once: ``idp serve`` processes sharing one database, one Redis and
one issuer (a round-robin proxy), as in production behind a load balancer.

The package has a database of its own (a fresh one per run on the PostgreSQL server of
IDP_TEST_DATABASE_URL, or a SQLite file), and overrides two fixtures of tests/conftest.py:

- ``app`` is the *control* app: an in-process provider on that database, with the very settings
  the instances run with (same secret key, key passphrase and database key store). The suite's
  factories (make_portal, make_citizen) and ``ctx`` therefore create portals and citizens the
  instances see, and the tests read the database through it.
- ``clean_database`` does not empty the tables after each test: the instances keep the key set
  of the database in memory, and emptying the signing-key table under them would be a test of
  something else. Every test makes its own portals and citizens and checks only those.

Redis must run on 127.0.0.1:6379 (.ci/run starts it); every run counts under a random prefix, and
its keys are deleted afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from idp import clock, create_app, schema
from idp.config import Settings
from idp.extensions import db
from tests.conftest import FAST_ARGON2, fresh_database

REDIS_URL = "redis://127.0.0.1:6379/0"
POSTGRESQL = os.environ.get("IDP_TEST_DATABASE_URL")

requires_postgresql = pytest.mark.skipif(
    not POSTGRESQL,
    reason="multi-instance fault tests need PostgreSQL: set IDP_TEST_DATABASE_URL "
    "(.ci/run does, for its second pass)",
)


@pytest.fixture(scope="package")
def cluster_database_url(tmp_path_factory) -> Iterator[str]:
    with fresh_database(tmp_path_factory.mktemp("cluster-db"), prefix="idp_cluster") as url:
        yield url


@pytest.fixture(scope="package")
def redis_prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)", pytrace=False)
    prefix = f"tnid-cluster-{secrets.token_hex(4)}"
    yield prefix
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)
    client.close()


def cluster_settings_for(database_url: str, folder: Path, ratelimit_prefix: str) -> Settings:
    """The settings every instance of a cluster runs with (the issuer is set per cluster)."""
    return Settings.from_env(
        {},
        database_url=database_url,
        instance_dir=folder,
        keys_dir=folder / "keys",
        keys_store="database",
        secret_key=secrets.token_urlsafe(32),
        keys_passphrase=secrets.token_urlsafe(32),
        key_cache_seconds=1,
        jwks_max_age=2,
        ratelimit_storage=REDIS_URL,
        ratelimit_prefix=ratelimit_prefix,
        ratelimit_login="100000/minute",
        ratelimit_token="100000/minute",
        **FAST_ARGON2,
    )


def control_app(settings: Settings):
    """An in-process provider on the cluster's database: applies the migrations and creates the
    key set before any instance starts (so that no two instances race to create it)."""
    built = create_app(settings)
    built.config["TESTING"] = True
    schema.upgrade(built)
    with built.app_context():
        ring = built.extensions["idp"].keyring
        ring.ensure_keys()
        ring.refresh(force=True)
        db.session.remove()
    return built


def dispose(built) -> None:
    with built.app_context():
        db.session.remove()
        db.engine.dispose()
    built.extensions["idp"].keyring.store.engine.dispose()


@pytest.fixture(scope="package")
def cluster_settings(cluster_database_url, redis_prefix, tmp_path_factory) -> Settings:
    return cluster_settings_for(cluster_database_url, tmp_path_factory.mktemp("cluster"), redis_prefix)


@pytest.fixture(scope="package")
def app(cluster_settings):
    """Overrides tests/conftest.py's ``app`` in this package: see the module docstring."""
    built = control_app(cluster_settings)
    yield built
    dispose(built)


@pytest.fixture(autouse=True)
def clean_database():
    """Overrides tests/conftest.py's: no emptying of tables (see the module docstring)."""
    yield
    clock.reset()


@pytest.fixture
def portal(make_portal) -> dict:
    """A confidential portal allowed a refresh token (offline_access)."""
    return make_portal(scopes=["openid", "profile", "offline_access"])
