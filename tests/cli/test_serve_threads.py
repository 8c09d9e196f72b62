"""`idp serve` picks its blocking threads by database: four on SQLite, where a request waits only
for the core, eight on PostgreSQL, whose round trips the other threads fill. --threads wins."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.environment import IDP, PROJECT_ROOT, free_port


def granian_threads(env: dict[str, str], *extra: str) -> int:
    """The --blocking-threads that `idp serve` hands Granian (read from the exec'd command line)."""
    server = subprocess.Popen(
        [str(IDP), "serve", "--bind", f"127.0.0.1:{free_port()}", "--workers", "1", *extra],
        env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            argv = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
            if b"--blocking-threads" in argv:
                return int(argv[argv.index(b"--blocking-threads") + 1])
            time.sleep(0.05)
        raise AssertionError("idp serve did not start Granian")
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize(
    ("url", "threads"),
    [("sqlite:///{instance}/idp.sqlite3", 4), ("postgresql://postgres@127.0.0.1:5432/tnid_absent", 8)],
)
def test_the_database_sets_the_default(idp_env, tmp_path, url, threads):
    env = {**idp_env, "IDP_DATABASE_URL": url.format(instance=tmp_path)}

    assert granian_threads(env) == threads


def test_the_operators_threads_win(idp_env):
    assert granian_threads(idp_env, "--threads", "6") == 6
