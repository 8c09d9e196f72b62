"""The environment of an ``idp`` subprocess that shares the test run's state with the in-process app.

Every setting of the session's ``Settings`` that differs from its default is handed down as its
``IDP_*`` variable, so the subprocess sees the same database, key store, instance folder, cheap
Argon2 parameters, rate limits… even when tests/conftest.py gains new overrides.
"""

from __future__ import annotations

import os
import socket
from dataclasses import fields
from pathlib import Path

from idp.config import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
IDP = PROJECT_ROOT / ".venv" / "bin" / "idp"

CHEAP_ARGON2_ENV = {
    "IDP_ARGON2_TIME_COST": "1",
    "IDP_ARGON2_MEMORY_COST": "8192",
    "IDP_ARGON2_PARALLELISM": "1",
}


def _as_env(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def idp_environment(settings: Settings, **extra: str) -> dict[str, str]:
    """os.environ without its IDP_* variables, plus the run's settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(CHEAP_ARGON2_ENV)
    defaults = Settings.from_env({})
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if value is not None and value != getattr(defaults, f.name):
            env[f.metadata["env"]] = _as_env(value)
    env.update(
        IDP_DATABASE_URL=settings.database_url,
        IDP_INSTANCE_DIR=str(settings.instance_dir),
        IDP_KEYS_DIR=str(settings.keys_dir),
    )
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
