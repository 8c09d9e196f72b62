"""Provider instances as separate ``idp serve`` processes (Granian), and the cluster they form.

Each instance gets an instance folder of its own, as a separate machine would: nothing is shared
through the file system. What they share is what the README says instances must share: the
database (``IDP_DATABASE_URL``, with ``IDP_KEYS_STORE=database``), Redis for the rate limits,
``IDP_SECRET_KEY`` and ``IDP_KEYS_PASSPHRASE`` (passed explicitly), and one issuer: the address of
the round-robin proxy in front of them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from idp.config import Settings
from tests.cluster.proxy import RoundRobinProxy
from tests.e2e.environment import IDP, PROJECT_ROOT, free_port, idp_environment

STARTUP_TIMEOUT = 45.0  # generous: CI machines are slow and both instances start at once


def instance_environment(settings: Settings, instance_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of one instance: the run's settings, its own folder, the shared secrets."""
    return idp_environment(
        settings,
        IDP_INSTANCE_DIR=str(instance_dir),
        # Its own metrics folder: `idp serve` empties it at start, and must not empty another's.
        IDP_METRICS_DIR=str(instance_dir / "metrics"),
        IDP_SECRET_KEY=settings.secret_key,
        IDP_KEYS_PASSPHRASE=settings.keys_passphrase,
        IDP_LOG_LEVEL="WARNING",
        **extra,
    )


@dataclass
class Instance:
    name: str
    port: int
    env: dict[str, str]
    folder: Path
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Instance:
        assert self.process is None or self._exited(), f"instance {self.name} is already running"
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "stdout.log", "ab") as out, open(self.folder / "stderr.log", "ab") as err:
            self.process = subprocess.Popen(
                [str(IDP), "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--threads", "4"],
                env=self.env,
                cwd=PROJECT_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                # A process group of its own: Granian's main process and its worker die together.
                start_new_session=True,
            )
        self.starts += 1
        return self

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Until /readyz says ready (database, migrations, signing keys)."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self._exited():
                self.process.wait(timeout=10)
                pytest.fail(
                    f"instance {self.name} (idp serve on :{self.port}) exited with status "
                    f"{self.process.returncode} before it was ready.\n--- its log ---\n{self.log()[-6000:]}",
                    pytrace=False,
                )
            try:
                response = requests.get(self.url + "/readyz", timeout=2)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:300]}"
            except requests.RequestException as exc:
                last = exc
            time.sleep(0.1)
        pytest.fail(
            f"instance {self.name} was not ready within {timeout:.0f} s (last: {last}).\n"
            f"--- its log ---\n{self.log()[-6000:]}",
            pytrace=False,
        )

    def kill(self) -> None:
        """SIGKILL, to the whole process group: no clean-up, no goodbye, as when a machine dies."""
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._wait_port_closed()

    def stop(self) -> None:
        if self.process is None:
            return
        self._signal_group(signal.SIGTERM)
        if not self._exited_within(10):
            self._signal_group(signal.SIGKILL)
            self._exited_within(10)
        # Granian's worker may outlive its main process by a moment: sweep the group while the
        # main process is not yet reaped, then reap it.
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)

    # Signals go to the process group only while its leader (the process started here) has not
    # been reaped: until then its pid, hence the group id, cannot belong to anyone else.
    def _signal_group(self, sig: int) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    def _exited(self) -> bool:
        """Has the main process exited? (Checked without reaping it.)"""
        if self.process.returncode is not None:
            return True
        try:
            return os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def _exited_within(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not self._exited():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def _wait_port_closed(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                probe.settimeout(0.5)
                if probe.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)
        pytest.fail(f"instance {self.name}: port {self.port} still accepts connections after SIGKILL")

    # --- logs ----------------------------------------------------------------------------------
    def log(self) -> str:
        return "".join(
            (self.folder / name).read_text(errors="replace")
            for name in ("stderr.log", "stdout.log")
            if (self.folder / name).exists()
        )

    def log_mark(self) -> int:
        return len(self.log())

    def log_since(self, mark: int) -> str:
        return self.log()[mark:]


# Flask's own 500 ("unexpected … at"), Granian's ("Application callable raised an exception"),
# and any traceback with the exception it ends with.
SERVER_ERROR = re.compile(
    r"^Traceback|\bCRITICAL\b|\bunexpected \w+ at\b|raised an exception|^[\w.]+(Error|Exception): ", re.M
)


def server_errors(text: str) -> list[str]:
    """Lines that mean a request failed in an unplanned way (a 500, a traceback)."""
    return [line for line in text.splitlines() if SERVER_ERROR.search(line)]


@dataclass
class Cluster:
    """Instances A and B behind one round-robin proxy, whose address is their issuer."""

    settings: Settings  # as the instances see them (issuer = the proxy)
    a: Instance
    b: Instance
    proxy: RoundRobinProxy
    env: dict[str, str] = field(repr=False)  # A's environment: what an operator on A would run with

    @property
    def issuer(self) -> str:
        return self.proxy.url

    @property
    def instances(self) -> tuple[Instance, Instance]:
        return self.a, self.b

    def run_idp(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """An `idp` command run on machine A (A's environment)."""
        return subprocess.run(
            [str(IDP), *args],
            env=self.env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@contextlib.contextmanager
def running_cluster(settings: Settings, folder: Path, name: str, **overrides: str) -> Iterator[Cluster]:
    """Start the proxy, then A and B (at once), wait until both are ready; stop all afterwards.

    ``overrides`` are IDP_* variables for both instances (a lower login limit, say). Each cluster
    counts its rate limits under a Redis prefix of its own.
    """
    port_a, port_b = free_port(), free_port()
    proxy = RoundRobinProxy({"A": port_a, "B": port_b}).start()
    shared = {
        "IDP_ISSUER": proxy.url,
        "IDP_RATELIMIT_PREFIX": f"{settings.ratelimit_prefix}-{name}",
        **overrides,
    }
    a = Instance("A", port_a, instance_environment(settings, folder / "a", **shared), folder / "a")
    b = Instance("B", port_b, instance_environment(settings, folder / "b", **shared), folder / "b")
    seen = dataclasses.replace(settings, issuer=proxy.url, ratelimit_prefix=shared["IDP_RATELIMIT_PREFIX"])
    try:
        a.start()
        b.start()
        a.wait_ready()
        b.wait_ready()
        yield Cluster(settings=seen, a=a, b=b, proxy=proxy, env=a.env)
    finally:
        for instance in (a, b):
            instance.stop()
        proxy.stop()
