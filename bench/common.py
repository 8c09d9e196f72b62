"""Helpers shared by the benchmark scripts: /proc accounting, a small keep-alive HTTP client with
a cookie jar (a "browser"), the login-page parsing, PKCE. Standard library only, so the load
generator stays lean (it runs on its own core and must not become the bottleneck)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import socket
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
VENV_BIN = PROJECT_ROOT / ".venv" / "bin"
CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


# --- /proc accounting -------------------------------------------------------------------------
def children_of(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def tree_pids(pid: int) -> list[int]:
    """pid and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children_of(p))
    return out


def cpu_ticks(pids) -> int:
    """utime + stime (clock ticks) of these processes, all threads included."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over every CPU."""
    with open("/proc/stat") as fh:
        parts = [int(x) for x in fh.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = parts
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def wait_quiet(max_pct: float = 10.0, max_wait: float = 60.0) -> float:
    """Wait until the whole machine is below max_pct busy (100 = one core) over 1 s.
    Returns the last busy % seen (a warning is up to the caller)."""
    deadline = time.monotonic() + max_wait
    while True:
        a = machine_ticks()
        time.sleep(1.0)
        b = machine_ticks()
        busy = (b[0] - a[0]) / max(1, b[1] - a[1]) * 100 * NCPU
        if busy <= max_pct or time.monotonic() >= deadline:
            return busy


def status_kb(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


DATABASE_COMMS = ("postgres",)


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def all_process_ticks() -> dict[int, int]:
    """utime+stime of every user-space process (kernel threads left out)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] in ("0", "2") or entry == "2":  # kthreadd and its children
            continue
        out[int(entry)] = int(fields[11]) + int(fields[12])
    return out


class Window:
    """CPU accounting over a measured window: the server tree, the client, the machine, and the
    foreign processes (every other user-space process: another job disturbing the measurement)."""

    def __init__(self, server_pids=(), client_pids=None) -> None:
        self.server_pids = list(server_pids)
        self.client_pids = client_pids  # None: this process (os.times)

    def _client(self) -> float:
        if self.client_pids is None:
            t = os.times()
            return t.user + t.system
        return cpu_ticks(self.client_pids) / CLK_TCK

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.s0 = cpu_ticks(self.server_pids)
        self.c0 = self._client()
        self.m0 = machine_ticks()
        self.p0 = all_process_ticks()

    def stop(self, client_seconds: float | None = None, client_pids=()) -> dict:
        secs = time.perf_counter() - self.t0
        p1 = all_process_ticks()
        server = (cpu_ticks(self.server_pids) - self.s0) / CLK_TCK
        client = client_seconds if client_seconds is not None else self._client() - self.c0
        m1 = machine_ticks()
        busy = (m1[0] - self.m0[0]) / CLK_TCK
        mine = set(tree_pids(self.server_pids[0])) if self.server_pids else set()
        mine |= set(self.server_pids) | set(client_pids) | set(self.client_pids or ()) | {os.getpid()}
        foreign = database = 0
        for p, t in p1.items():
            if p in mine:
                continue
            if _comm(p) in DATABASE_COMMS:
                database += t - self.p0.get(p, 0)
            else:
                foreign += t - self.p0.get(p, 0)
        foreign, database = foreign / CLK_TCK, database / CLK_TCK
        return {
            "db_cpu_pct": round(max(0.0, database) / secs * 100, 1),
            "seconds": secs,
            "server_cpu_pct": round(server / secs * 100, 1),
            "client_cpu_pct": round(client / secs * 100, 1),
            "other_cpu_pct": round((busy - server - client - database) / secs * 100, 1),
            "foreign_cpu_pct": round(max(0.0, foreign) / secs * 100, 1),
        }


def percentile(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0, proc=None) -> None:
    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before answering {url}")
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
            conn.request("GET", parts.path or "/")
            resp = conn.getresponse()
            resp.read()
            conn.close()
            if resp.status == 200:
                return
            last = f"status {resp.status}"
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s ({last})")


# --- HTTP -------------------------------------------------------------------------------------
class HttpError(Exception):
    pass


class Response:
    __slots__ = ("body", "cookies", "headers", "status")

    def __init__(self, status, headers, body, cookies):
        self.status, self.headers, self.body, self.cookies = status, headers, body, cookies

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    @property
    def location(self) -> str | None:
        return self.headers.get("location")


class Conn:
    """One keep-alive HTTP/1.1 connection (reconnects when the server closes it)."""

    def __init__(self, base: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base)
        self.host, self.port, self.timeout = parts.hostname, parts.port or 80, timeout
        self.prefix = parts.path.rstrip("/")
        self._conn = None

    def _connection(self):
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: bytes | str | None = None, headers=None) -> Response:
        if isinstance(body, str):
            body = body.encode()
        hdrs = {"Accept": "*/*"}
        if headers:
            hdrs.update(headers)
        if body is not None and "Content-Type" not in hdrs:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        if path.startswith("http://"):
            parts = urlsplit(path)
            path = parts.path + ("?" + parts.query if parts.query else "")
        elif not path.startswith(self.prefix + "/"):
            path = self.prefix + path
        try:
            conn = self._connection()
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise HttpError(f"{method} {path}: {exc!r}") from None
        headers_ = {k.lower(): v for k, v in resp.getheaders()}
        cookies = resp.msg.get_all("Set-Cookie") or []
        if resp.will_close:
            self.close()
        return Response(resp.status, headers_, data, cookies)


def basic_auth(client_id: str, secret: str) -> str:
    from urllib.parse import quote

    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()


class Browser:
    """A cookie jar over a Conn: enough of a browser for the login pages."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.jar: dict[str, str] = {}

    def _store(self, cookies) -> None:
        for raw in cookies:
            pair, *attrs = raw.split(";")
            name, _, value = pair.partition("=")
            name, value = name.strip(), value.strip()
            expired = value == ""
            for attr in attrs:
                k, _, v = attr.strip().partition("=")
                k = k.lower()
                if (k == "max-age" and v.strip().lstrip("-").isdigit() and int(v) <= 0) or (k == "expires" and "1970" in v):
                    expired = True
            if expired:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value

    def request(self, method: str, path: str, body=None, headers=None) -> Response:
        hdrs = dict(headers or {})
        hdrs.setdefault("Accept", "text/html")
        if self.jar:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        resp = self.conn.request(method, path, body, hdrs)
        self._store(resp.cookies)
        return resp

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, fields: dict) -> Response:
        return self.request("POST", path, urlencode(fields))


_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    return {name: value.replace("&amp;", "&") for name, value in _HIDDEN.findall(html)}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query_of(url: str) -> dict[str, str]:
    from urllib.parse import parse_qs

    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# --- starting the server ----------------------------------------------------------------------
def start_idp_serve(env: dict, bind: str, workers: int, threads: int, log, pin: str | None = None):
    """`idp serve --bind … --workers … --threads …` (optionally under `taskset -c pin`).

    Returns (process, note). If `idp serve` itself exits at once (a broken CLI in the tree under
    test), the same Granian command line that `idp serve` builds (idp.cli.serve.granian_argv,
    with the same PROMETHEUS_MULTIPROC_DIR preparation) is started instead, and `note` says so:
    the server measured is the same, only the launcher differs."""
    import shutil
    import subprocess

    prefix = ["taskset", "-c", pin] if pin is not None else []
    argv = [*prefix, str(VENV_BIN / "idp"), "serve", "--bind", bind, "--workers", str(workers),
            "--threads", str(threads)]
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    host, _, port = bind.rpartition(":")
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    if proc.poll() is None or proc.returncode == 0:
        return proc, None
    from idp.cli.serve import granian_argv, server_environment
    from idp.config import Settings

    env = dict(env)
    settings = Settings.from_env(env)
    metrics = getattr(settings, "metrics_dir", None)
    if metrics is not None:
        shutil.rmtree(metrics, ignore_errors=True)
        Path(metrics).mkdir(parents=True, exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    status = proc.returncode
    proc = subprocess.Popen([*prefix, *granian_argv(bind, workers, threads)], env=server_environment(env),
                            stdout=log, stderr=subprocess.STDOUT)
    return proc, (f"`idp serve` exited with status {status} at start; the same Granian command line "
                  "(idp.cli.serve.granian_argv) was started directly")
