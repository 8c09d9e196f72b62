"""Running the real ``idp`` console script against the test run's database, keys and instance."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import fresh_database
from tests.e2e.environment import IDP, PROJECT_ROOT, idp_environment


@pytest.fixture
def idp_env(settings) -> dict[str, str]:
    """The shell's IDP_* variables dropped; the run's database, keys, instance and cheap Argon2 set."""
    return idp_environment(settings)


@pytest.fixture
def idp(idp_env) -> Callable[..., subprocess.CompletedProcess]:
    """idp("clients", "list", input=..., env={...}) → the finished process (text stdout/stderr)."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None):
        return subprocess.run(
            [str(IDP), *args],
            input=input if input is not None else "",
            env={**idp_env, **(env or {})},
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture
def fresh_database_url(tmp_path) -> Iterator[str]:
    """An empty database of the run's kind (SQLite file, or a new PostgreSQL database)."""
    with fresh_database(tmp_path, prefix="idp_cli") as url:
        yield url
