"""The real production server (``idp serve`` → Granian) on a free loopback port, for e2e tests.

It shares the database, the key store and the instance folder (secret key, key passphrase) with
the in-process ``app`` fixture, so portals and citizens made with ``make_portal``/``make_citizen``
are seen by the live server. Its issuer is its own address: e2e tests use ``live_server.issuer``
everywhere, never the in-process http://127.0.0.1:5000.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.e2e.environment import IDP, PROJECT_ROOT, free_port, idp_environment
from tests.support import HttpBrowser

STARTUP_TIMEOUT = 20.0


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log_dir: Path
    _discovery: dict | None = field(default=None, repr=False)

    @property
    def issuer(self) -> str:
        return self.url

    def stderr(self) -> str:
        return (self.log_dir / "stderr.log").read_text(errors="replace")

    def discovery(self) -> dict:
        """The discovery document, fetched once over HTTP."""
        if self._discovery is None:
            response = requests.get(self.url + "/.well-known/openid-configuration", timeout=10)
            response.raise_for_status()
            self._discovery = response.json()
        return self._discovery


def _wait_until_ready(server: LiveServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"idp serve exited with status {server.process.returncode} before answering.\n"
                f"--- stderr ---\n{server.stderr()}",
                pytrace=False,
            )
        try:
            response = requests.get(server.url + "/.well-known/openid-configuration", timeout=2)
            if response.status_code == 200:
                return
            last_error = AssertionError(f"discovery answered {response.status_code}")
        except requests.RequestException as exc:
            last_error = exc
        time.sleep(0.1)
    pytest.fail(
        f"idp serve did not answer discovery within {STARTUP_TIMEOUT:.0f} s ({last_error}).\n"
        f"--- stderr ---\n{server.stderr()}",
        pytrace=False,
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def live_server(app, settings, tmp_path_factory) -> Iterator[LiveServer]:
    """``idp serve --bind 127.0.0.1:<port> --workers 1 --threads 4`` with the run's database."""
    # `app` first: it applied the migrations and created the signing keys the server will load.
    with running_server(settings, tmp_path_factory.mktemp("live-server")) as server:
        yield server


@contextlib.contextmanager
def running_server(settings, log_dir: Path, host: str = "127.0.0.1", **env: str) -> Iterator[LiveServer]:
    """A live server with the run's settings plus ``env`` (IDP_* variables), stopped on exit. It
    listens on loopback; ``host`` is the name in its issuer (localhost for WebAuthn, which refuses
    an IP address as relying-party id)."""
    port = free_port()
    url = f"http://{host}:{port}"
    env = idp_environment(settings, **{"IDP_ISSUER": url, "IDP_LOG_LEVEL": "WARNING", **env})
    with open(log_dir / "stdout.log", "wb") as out, open(log_dir / "stderr.log", "wb") as err:
        process = subprocess.Popen(
            [str(IDP), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"],
            env=env,
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    server = LiveServer(url=url, process=process, log_dir=log_dir)
    try:
        _wait_until_ready(server)
        yield server
    finally:
        _stop(process)


@pytest.fixture(autouse=True)
def no_server_errors(request):
    """A test that made the live server log an error or a traceback fails, even if every answer
    it looked at was fine (a 500 behind the demo portal, a key store problem…)."""
    if "live_server" not in request.fixturenames:
        yield
        return
    server: LiveServer = request.getfixturevalue("live_server")
    logs = [server.log_dir / "stderr.log", server.log_dir / "stdout.log"]
    before = [path.stat().st_size for path in logs]
    yield
    new = "".join(path.read_bytes()[size:].decode(errors="replace")
                  for path, size in zip(logs, before, strict=True))
    if re.search(r"\bERROR\b|\bCRITICAL\b|^Traceback", new, re.M):
        pytest.fail("the live server logged errors during this test:\n" + new[-4000:], pytrace=False)


@pytest.fixture
def http():
    """A fresh requests.Session: the citizen's browser (its own cookie jar)."""
    with requests.Session() as session:
        yield session


@pytest.fixture
def browser(live_server, http) -> HttpBrowser:
    return HttpBrowser(http, live_server.url)
