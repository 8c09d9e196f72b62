#!/usr/bin/env python3
"""Thai Nguyen ID benchmark suite: one command, a fresh instance, every flow, RESULTS.md.

    python bench/run.py [--db sqlite|postgres] [--duration 10] [--warmup 3] [--peer]
                        [--flows discovery,jwks,...] [--fast-argon2] [--profile]

What it does (see bench/README.md):
 1. a fresh instance in a temp dir: SQLite file there, or with --db postgres a new database on
    postgresql://postgres@127.0.0.1:5432 (created here, dropped at the end); `idp db upgrade`;
    seeds clients and citizens through the Python API (bench/seed.py);
 2. measures the raw Argon2id hash rate with the configured IDP_ARGON2_* parameters on core 0;
 3. starts `idp serve --workers 1 --threads 8` pinned to core 0 (`taskset -c 0`) on a loopback
    port, and drives it from core 1: wrk (bench/wrk.lua) for the stateless flows, the Python
    load generator (bench/loadgen.py, its own process) for the stateful ones; each flow waits for
    a quiet machine, warms up, then measures --duration seconds;
 4. RSS of every server process; stops the server;
 5. with --peer: node-oidc-provider (/work/shared/peers) pinned to core 0 the same way, up beside
    ours (the server not being measured is idle): every flow both serve (the stateless ones, the
    refresh, the full login with flow.mjs, which bench/tnid_forms.mjs lets answer our pages) is
    measured --rounds times on each, alternating ours and the peer, and the ratio is the median
    of the rounds' ratios (--rounds 1: ours first, then the peer alone, as before);
 6. writes bench/results/<db>.json (+ peer.json; <db>-fast-argon2.json and peer-fast-argon2.json
     with --fast-argon2) and regenerates bench/RESULTS.md from them.

Flows: discovery, jwks, jwks304, token, userinfo, introspect, revoke, refresh, code, login, full,
flowjs (flowjs only with --peer unless named). Production Argon2 parameters unless --fast-argon2.
Per-IP rate limits are switched off (IDP_RATELIMIT_ENABLED=false) and IDP_CODE_TTL is 10m so that
pre-created codes outlive their preparation; neither changes the cost of a request.
--profile samples our worker with py-spy during each measured window and writes bench/PROFILE.md
(the figures of a profiled run are perturbed, so it does not update RESULTS.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_VENV_PY = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"
if Path(sys.prefix).resolve() != _VENV_PY.parent.parent.resolve() and _VENV_PY.exists():
    os.execv(str(_VENV_PY), [str(_VENV_PY), *sys.argv])

import argparse
import datetime as dt
import hashlib
import json
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections import Counter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    BENCH_DIR,
    PROJECT_ROOT,
    VENV_BIN,
    Conn,
    Window,
    basic_auth,
    cmdline,
    free_port,
    start_idp_serve,
    status_kb,
    tree_pids,
    wait_http,
    wait_quiet,
)

PEERS = Path("/work/shared/peers")
PEER_DIR = PEERS / "node-oidc-provider"
PEER_BASE = "http://127.0.0.1:3000"
PEER_REDIRECT = "http://127.0.0.1:9999/cb"
RESULTS_DIR = BENCH_DIR / "results"
SERVER_CPU, CLIENT_CPU = "0", "1"
ALL_FLOWS = [
    "discovery", "jwks", "jwks304", "token", "userinfo", "introspect",
    "revoke", "refresh", "code", "login", "full", "flowjs",
]
ARGON2_FLOWS = {"login", "full", "flowjs"}  # bound by Argon2: measured beside a raw Argon2 rate
WRK_FLOWS = {"discovery", "jwks", "jwks304", "token", "userinfo", "introspect"}
PY_FLOWS = {"revoke", "refresh", "code", "login", "full"}
PEER_FLOWS = ["discovery", "jwks", "jwks304", "token", "userinfo", "introspect", "refresh", "flowjs"]
# Why the peer has no figure for some flows (its default store is an LRU of ~1,000 entries).
PEER_SKIPPED = {
    "code": "code exchange: a measured window needs thousands of codes made in advance, and the peer's "
            "in-memory LRU (≈1,000–2,000 entries, shared by every kind of object) evicts them before they are used",
    "revoke": "revocation: the same, for the thousands of tokens to revoke (and revoking an evicted token also "
              "answers 200, so the figure would not be of a revocation)",
}
FAST_ARGON2 = {"IDP_ARGON2_TIME_COST": "1", "IDP_ARGON2_MEMORY_COST": "8192", "IDP_ARGON2_PARALLELISM": "1"}
LABELS = {
    "discovery": "discovery",
    "jwks": "jwks",
    "jwks304": "jwks, If-None-Match → 304",
    "token": "token client_credentials",
    "userinfo": "userinfo (pool of access tokens)",
    "introspect": "introspection (pool of tokens)",
    "revoke": "revocation (a distinct token each)",
    "refresh": "refresh-token rotation (chain per thread)",
    "code": "code exchange alone",
    "login": "login form POST alone (Argon2)",
    "full": "full login: authorize→login→consent→token→userinfo (Python)",
    "flowjs": "full login, flow.mjs (+ID token check + refresh)",
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- the instance -----------------------------------------------------------------------------
class Instance:
    def __init__(self, args) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="tnid-bench-"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.pg_db = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
        self.env.update(
            IDP_ISSUER=self.base,
            IDP_INSTANCE_DIR=str(self.tmp / "instance"),
            IDP_KEYS_DIR=str(self.tmp / "keys"),
            IDP_LOG_LEVEL="WARNING",
            IDP_RATELIMIT_ENABLED="false",
            IDP_CODE_TTL="10m",
        )
        if args.fast_argon2:
            self.env.update(FAST_ARGON2)
        if args.db == "postgres":
            self.pg_db = "tnid_bench_" + secrets.token_hex(4)
            self._pg(f'CREATE DATABASE "{self.pg_db}"')
            self.env["IDP_DATABASE_URL"] = f"{args.pg_url.rstrip('/')}/{self.pg_db}"
        self.server = None

    def _pg(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"{self.args.pg_url.rstrip('/')}/postgres", autocommit=True) as conn:
            conn.execute(sql)

    def idp(self, *argv, **kw) -> subprocess.CompletedProcess:
        out = subprocess.run([str(VENV_BIN / "idp"), *argv], env=self.env, capture_output=True, text=True, **kw)
        if out.returncode != 0:
            raise RuntimeError(f"idp {' '.join(argv)} failed ({out.returncode}): {out.stderr[-1500:]}")
        return out

    def settings(self):
        from idp.config import Settings

        return Settings.from_env(self.env)

    def setup(self, citizens: int, extra_redirects) -> dict:
        self.idp("db", "upgrade")
        argv = [str(VENV_BIN / "python"), str(BENCH_DIR / "seed.py"), "--citizens", str(citizens)]
        for uri in extra_redirects:
            argv += ["--redirect-uri", uri]
        out = subprocess.run(argv, env=self.env, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"bench/seed.py failed ({out.returncode}): {out.stderr[-1500:]}")
        seeded = json.loads(out.stdout)
        seeded["base"] = self.base
        seeded["web_redirect_uris"] = seeded["web"]["redirect_uris"]
        return seeded

    def prefill(self, n: int, plans_only: bool = False, costs: bool = False) -> dict:
        """bench/prefill.py: N citizens, N tokens and their audit rows (or, with plans_only, only the
        query plans of the hot statements); logs the row counts, the time and the plans."""
        argv = [str(VENV_BIN / "python"), str(BENCH_DIR / "prefill.py"), str(n)]
        if plans_only:
            argv.append("--plans-only")
        if costs:
            argv.append("--costs")
        if not plans_only:
            log(f"# fill: {n:,} citizens, {n:,} tokens, {n:,} audit rows")
        out = subprocess.run(argv, env=self.env, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"bench/prefill.py failed ({out.returncode})")
        res = json.loads(out.stdout.strip().splitlines()[-1])
        if not plans_only:
            log(f"  {res['counts']} in {res['fill_seconds']} s ({res['seconds']})")
        for name, plan in res["plans"].items():
            log(f"  plan [{plan['verdict']}] {name}: {' | '.join(plan['plan'])}")
        return res

    def start(self, threads: int) -> None:
        self.log = open(self.tmp / "server.log", "w")
        self.server, self.launch_note = start_idp_serve(
            self.env, f"127.0.0.1:{self.port}", 1, threads, self.log, pin=SERVER_CPU
        )
        if self.launch_note:
            log("  WARNING: " + self.launch_note)
        try:
            wait_http(self.base + "/.well-known/openid-configuration", 60, self.server)
        except RuntimeError as exc:
            self.log.flush()
            raise RuntimeError(f"{exc}\n{(self.tmp / 'server.log').read_text(errors='replace')[-2000:]}") from None
        deadline = time.time() + 10
        while len(tree_pids(self.server.pid)) < 2 and time.time() < deadline:
            time.sleep(0.1)

    def pids(self) -> list[int]:
        return tree_pids(self.server.pid)

    def worker_pids(self) -> list[int]:
        return [p for p in self.pids() if p != self.server.pid]

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            pids = self.pids()
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                for p in pids:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.server.wait(timeout=5)
            for p in pids:  # workers that outlived the main process
                try:
                    os.kill(p, 0)
                except ProcessLookupError:
                    continue
                time.sleep(1)
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.server = None

    def cleanup(self) -> None:
        self.stop()
        if self.pg_db:
            try:
                self._pg(f'DROP DATABASE IF EXISTS "{self.pg_db}" WITH (FORCE)')
            except Exception as exc:
                log(f"could not drop database {self.pg_db}: {exc}")
        shutil.rmtree(self.tmp, ignore_errors=True)


def rss_report(pids, main_pid) -> list[dict]:
    out = []
    for p in pids:
        rss = status_kb(p, "VmRSS")
        if rss is None:
            continue
        out.append(
            {
                "pid": p,
                "role": "node" if main_pid is None else "granian main" if p == main_pid else "worker",
                "rss_mb": round(rss / 1024, 1),
                "peak_rss_mb": round((status_kb(p, "VmHWM") or 0) / 1024, 1),
                "threads": _threads(p),
                "cmd": cmdline(p)[:80],
            }
        )
    return out


def _threads(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return None


# --- Argon2 ----------------------------------------------------------------------------------
ARGON2_CODE = r"""
import json, sys, time
from argon2 import PasswordHasher, Type
t, m, p, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
ph = PasswordHasher(time_cost=t, memory_cost=m, parallelism=p, hash_len=32, salt_len=16, type=Type.ID)
h = ph.hash("warm-up password")
def rate(fn):
    n, t0 = 0, time.perf_counter()
    while True:
        fn(); n += 1
        el = time.perf_counter() - t0
        if el >= secs and n >= 10:
            return n, el
hn, hs = rate(lambda: ph.hash("bench-password-2026"))
vn, vs = rate(lambda: ph.verify(h, "warm-up password"))
print(json.dumps({"hash_per_s": hn / hs, "hash_ms": hs / hn * 1000, "verify_per_s": vn / vs,
                  "verify_ms": vs / vn * 1000, "hashes": hn}))
"""


def argon2_rate(settings, seconds: float, quiet=None, plain: bool = False) -> dict:
    """The raw Argon2id rate on the server's core, in the environment `idp serve` gives its
    processes (idp.cli.serve.server_environment: glibc's malloc tunable), so that the reference is
    the hash as the server runs it. With ``plain``, also argon2-cffi in this environment as it is
    (``plain_verify_ms``), to show what the tunable buys."""
    from idp.cli.serve import server_environment

    def measure(env: dict) -> dict:
        out = subprocess.run(
            ["taskset", "-c", SERVER_CPU, str(VENV_BIN / "python"), "-c", ARGON2_CODE,
             str(settings.argon2_time_cost), str(settings.argon2_memory_cost),
             str(settings.argon2_parallelism), str(seconds)],
            check=True, capture_output=True, text=True, env=env,
        )
        return json.loads(out.stdout)

    if quiet:
        quiet()
    window = Window([], client_pids=[])
    window.start()
    env = server_environment(os.environ)
    res = measure(env)
    if plain:
        res["plain_verify_ms"] = measure(dict(os.environ))["verify_ms"]
    # the measuring process is gone from /proc by now, so `foreign` is everything else
    res["foreign_cpu_pct"] = window.stop(client_seconds=0)["foreign_cpu_pct"]
    res["params"] = (
        f"t={settings.argon2_time_cost} m={settings.argon2_memory_cost} KiB p={settings.argon2_parallelism}"
    )
    res["tunables"] = env.get("GLIBC_TUNABLES", "")
    return res


def bracket(before: dict, after: dict) -> dict:
    """The Argon2 reference of a flow: the mean of the raw verify times measured just before and
    just after it (both kept)."""
    verify_ms = (before["verify_ms"] + after["verify_ms"]) / 2
    return {
        "verify_ms": verify_ms,
        "verify_per_s": 1000.0 / verify_ms,
        "hash_ms": (before["hash_ms"] + after["hash_ms"]) / 2,
        "foreign_cpu_pct": max(before.get("foreign_cpu_pct") or 0, after.get("foreign_cpu_pct") or 0),
        "verify_ms_before": before["verify_ms"],
        "verify_ms_after": after["verify_ms"],
    }


# --- running one flow ------------------------------------------------------------------------
class Profiler:
    """py-spy record on the worker during a measured window (only with --profile)."""

    def __init__(self, exe: str | None, out_dir: Path, gil: bool = False) -> None:
        self.exe, self.out_dir, self.gil = exe, out_dir, gil
        self.proc = None

    def start(self, pid: int, seconds: float, name: str) -> None:
        if not self.exe:
            return
        self.file = self.out_dir / f"{name}.txt"
        self.proc = subprocess.Popen(
            ["taskset", "-c", CLIENT_CPU, self.exe, "record", "--pid", str(pid), "--rate", "250",
             "--duration", str(max(1, int(seconds))), "--format", "raw", "--nonblocking",
             *(["--gil"] if self.gil else []),
             "--output", str(self.file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def finish(self) -> dict | None:
        if self.proc is None:
            return None
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait()
        self.proc = None
        return summarise_profile(self.file) if self.file.exists() else None


def summarise_profile(path: Path, top: int = 15) -> dict:
    own, incl, total = Counter(), Counter(), 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        raw = [f for f in stack.split(";") if f]
        if not raw:
            continue
        own[_frame(raw[-1])] += n
        for f in {_frame(f) for f in raw if "/work/main/idp/" in f or " (idp/" in f}:
            incl[f] += n
    return {
        "samples": total,
        "self": [(f, round(c / total * 100, 1)) for f, c in own.most_common(top)] if total else [],
        "idp_inclusive": [(f, round(c / total * 100, 1)) for f, c in incl.most_common(top)] if total else [],
    }


def _frame(raw: str) -> str:
    # "function (path/to/file.py:123)" → "function (file.py)" with a short path
    name, _, where = raw.partition(" (")
    where = where.rstrip(")")
    file = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{name} ({file})"


class Runner:
    def __init__(self, args, profiler: Profiler | None = None) -> None:
        self.args = args
        self.profiler = profiler

    def quiet(self) -> float:
        busy = wait_quiet(self.args.quiet_max, self.args.quiet_wait)
        if busy > self.args.quiet_max:
            log(f"  warning: machine still {busy:.0f}% busy; measuring anyway")
        return busy

    def measured(self, fn) -> dict:
        """Run a measurement; when another job took the machine during it (much *other* CPU while
        the server did not get its whole core), run it again, up to --retries times, and keep the
        least disturbed run."""
        best, best_noise = None, 0.0
        for attempt in range(1, self.args.retries + 2):
            r = fn()
            # foreign misses processes that started and ended within the window (a test run's
            # subprocesses); *other* (machine − server − client − database) catches them, and is
            # near 0 on a quiet machine (softirq work is charged to the processes).
            foreign = max(r.get("foreign_cpu_pct") or 0, r.get("other_cpu_pct") or 0)
            if best is None or foreign < best_noise:
                best, best_noise = r, foreign
            best["attempts"] = attempt
            if foreign <= self.args.noise_max:
                break
            if attempt <= self.args.retries:
                log(f"  noisy: other processes took {foreign}% of a core: once more")
        return best

    def wrk(self, url: str, seconds: float, spec: dict, server_pids) -> tuple[dict, dict]:
        env = dict(os.environ)
        env.update(
            BENCH_METHOD=spec.get("method", "GET"),
            BENCH_BODY=spec.get("body", ""),
            BENCH_AUTH=spec.get("auth", ""),
            BENCH_HEADER=spec.get("header", ""),
            BENCH_POOL=spec.get("pool", ""),
            BENCH_EXPECT_STATUS=str(spec.get("status", 200)),
            BENCH_EXPECT_PATTERN=spec.get("pattern", ""),
        )
        argv = [
            "taskset", "-c", CLIENT_CPU, "wrk", "-t1", f"-c{self.args.conns}", f"-d{max(1, int(round(seconds)))}s",
            "--timeout", "10s", "-s", str(BENCH_DIR / "wrk.lua"), url,
        ]
        window = Window(server_pids, client_pids=[])
        window.start()
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        _, status, rusage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out = proc.stdout.read()
        cpu = window.stop(client_seconds=rusage.ru_utime + rusage.ru_stime, client_pids=[proc.pid])
        lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {out[-800:]}")
        return json.loads(lines[-1][7:]), cpu

    def wrk_flow(self, *a, **kw) -> dict:
        return self.measured(lambda: self._wrk_flow(*a, **kw))

    def _wrk_flow(self, name: str, url: str, spec: dict, server_pids, worker_pid=None) -> dict:
        self.quiet()
        warm, _ = self.wrk(url, self.args.warmup, spec, server_pids)
        if self.profiler and worker_pid:
            self.profiler.start(worker_pid, self.args.duration, name)
        res, cpu = self.wrk(url, self.args.duration, spec, server_pids)
        prof = self.profiler.finish() if self.profiler else None
        return {
            "rps": res["rps"], "p50_ms": res["p50_ms"], "p99_ms": res["p99_ms"],
            "requests": res["requests"], "errors": res["bad"] + res["socket_errors"],
            "seconds": res["seconds"], "warmup_rps": warm["rps"], **cpu, "profile": prof,
            "client": f"wrk -t1 -c{self.args.conns}",
        }

    def loadgen(self, *a, **kw) -> dict:
        return self.measured(lambda: self._loadgen(*a, **kw))

    def _loadgen(self, cfg_path: Path, flow: str, server_pids, rate_hint: float, worker_pid=None) -> dict:
        self.quiet()
        argv = [
            "taskset", "-c", CLIENT_CPU, str(VENV_BIN / "python"), str(BENCH_DIR / "loadgen.py"), "run",
            "--config", str(cfg_path), "--flow", flow, "--threads", str(self.args.threads),
            "--warmup", str(self.args.warmup), "--duration", str(self.args.duration),
            "--rate-hint", str(rate_hint), "--server-pids", ",".join(map(str, server_pids)),
        ]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        result = None
        for line in proc.stdout:
            if line.startswith("@measure") and self.profiler and worker_pid:
                self.profiler.start(worker_pid, self.args.duration, flow)
            elif line.startswith("RESULT "):
                result = json.loads(line[7:])
        proc.wait()
        prof = self.profiler.finish() if self.profiler else None
        if proc.returncode != 0 or result is None:
            raise RuntimeError(f"loadgen {flow} failed ({proc.returncode})")
        result["profile"] = prof
        result["client"] = f"loadgen.py, {self.args.threads} threads"
        return result

    def flowjs(self, *a, **kw) -> dict:
        return self.measured(lambda: self._flowjs(*a, **kw))

    def _flowjs(self, issuer, client_id, secret, redirect, n, warmup, server_pid, extra_env=None,
                forms=None, password=None) -> dict:
        self.quiet()
        argv = [
            "taskset", "-c", CLIENT_CPU, "node", str(PEERS / "flow.mjs"), f"--issuer={issuer}",
            f"--client-id={client_id}", f"--client-secret={secret}", f"--redirect-uri={redirect}",
            "--scope=openid profile email offline_access", f"--n={n}",
            f"--concurrency={self.args.flow_concurrency}", f"--warmup={warmup}",
            f"--server-pid={server_pid}", "--json",
        ]
        if forms:
            argv.append(f"--forms={forms}")
        if password:
            argv.append(f"--password={password}")
        env = dict(os.environ, **(extra_env or {}))
        window = Window([server_pid], client_pids=[])
        window.start()
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=str(PEERS))
        stdout, stderr = proc.communicate()
        fcpu = window.stop(client_seconds=0, client_pids=[proc.pid])
        foreign = fcpu["foreign_cpu_pct"]
        out = subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)
        try:
            data = json.loads(out.stdout)
        except json.JSONDecodeError:
            raise RuntimeError(f"flow.mjs failed ({out.returncode}): {out.stderr[-1500:]}") from None
        r = data["results"][-1]
        return {
            "rps": r["loginsPerSec"], "p50_ms": r["p50ms"], "p99_ms": r["p99ms"], "requests": r["ok"],
            "errors": r["errors"], "first_error": (r.get("firstError") or "")[:300] or None,
            "seconds": r["seconds"], "server_cpu_pct": r["serverCpuPct"], "client_cpu_pct": r["clientCpuPct"],
            "other_cpu_pct": r["otherCpuPct"], "http_requests_per_flow": r["httpRequestsPerLogin"],
            "foreign_cpu_pct": foreign, "db_cpu_pct": fcpu["db_cpu_pct"],
            "client": f"flow.mjs c={r['concurrency']} n={r['n']}",
        }


# --- ours -------------------------------------------------------------------------------------
def etag_of(base: str, path: str) -> str | None:
    resp = Conn(base).request("GET", path)
    return resp.headers.get("etag")


def prep_tokens(cfg_path: Path, kind: str, n: int, out: Path) -> Path:
    subprocess.run(
        ["taskset", "-c", CLIENT_CPU, str(VENV_BIN / "python"), str(BENCH_DIR / "loadgen.py"), "prep-tokens",
         "--config", str(cfg_path), "--kind", kind, "--n", str(n), "--out", str(out)],
        check=True,
    )
    return out


class OursServer:
    """Our server for a run: a fresh instance, seeded, started pinned to core 0; ``measure`` one
    flow at a time (any number of times: the paired rounds with the peer), ``summary`` at the end
    (the RSS after the whole suite is the issue's memory figure)."""

    def __init__(self, args, flows: list[str], argon2=None) -> None:
        self.args, self.flows, self.argon2, self.results = args, flows, argon2, {}
        self.inst = Instance(args)

    def __enter__(self) -> OursServer:
        try:
            self._start()
        except BaseException:
            self.inst.cleanup()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.inst.cleanup()

    def _start(self) -> None:
        args, inst = self.args, self.inst
        self.settings = inst.settings()
        log(f"# instance {inst.tmp} ({args.db}), issuer {inst.base}")
        self.cfg = inst.setup(args.citizens, [PEER_REDIRECT])
        self.cfg_path = inst.tmp / "bench.json"
        self.cfg_path.write_text(json.dumps(self.cfg))
        self.prefill = inst.prefill(args.prefill) if args.prefill else None
        if self.argon2 is None and ARGON2_FLOWS & set(self.flows):
            log("# raw Argon2id rate on core 0 (nothing else running)")
            self.argon2 = argon2_rate(
                self.settings, max(3.0, min(args.duration, 10.0)), Runner(args).quiet, plain=True
            )
            log(f"  {self.argon2['hash_per_s']:.2f} hashes/s ({self.argon2['hash_ms']:.1f} ms) with {self.argon2['params']}")
        inst.start(args.server_threads)
        self.pids = inst.pids()
        workers = inst.worker_pids()
        self.worker = workers[0] if workers else inst.server.pid
        self.affinity = {p: sorted(os.sched_getaffinity(p)) for p in self.pids}
        log(f"# server pids {self.pids} affinity {self.affinity}")
        self.rss_idle = rss_report(self.pids, inst.server.pid)
        profiler = None
        if args.profile:
            pdir = inst.tmp / "profiles"
            pdir.mkdir()
            profiler = Profiler(py_spy(args), pdir, args.profile == "gil")
        self.runner = Runner(args, profiler)

    def measure(self, flow: str) -> dict:
        beside = None
        if flow in ARGON2_FLOWS and self.argon2 is not None:
            # The raw rate again, just before the flow: this VM's memory speed (Argon2 is bound by
            # it) moved by 60 % within an hour (a verify 202 ms, then 324 ms), and a login measured
            # minutes after its Argon2 reference is compared with another machine.
            beside = argon2_rate(self.settings, 3.0, self.runner.quiet)
            log(f"  raw Argon2id just before: verify {beside['verify_ms']:.1f} ms")
        log(f"# ours: {flow}")
        r = measure_ours(self.runner, flow, self.inst, self.cfg, self.cfg_path, self.pids, self.worker,
                         self.argon2, self.results)
        if beside is not None and "rps" in r:
            # And again just after: the reference drifts within minutes (a verify 169 ms just before
            # a login POST run and 196-219 ms in the runs around it, 2026-12-03), so the flow is
            # compared with the mean of two measurements that bracket it.
            after = argon2_rate(self.settings, 3.0, self.runner.quiet)
            log(f"  raw Argon2id just after: verify {after['verify_ms']:.1f} ms")
            r["argon2_beside"] = bracket(beside, after)
        return r

    def summary(self) -> dict:
        inst = self.inst
        rss_end = rss_report(inst.pids(), inst.server.pid)
        server_log_tail = (inst.tmp / "server.log").read_text(errors="replace")[-3000:]
        return {
            "prefill": self.prefill,
            "flows": self.results,
            "rss_idle": self.rss_idle,
            "rss_end": rss_end,
            "affinity": {str(k): v for k, v in self.affinity.items()},
            "argon2": self.argon2,
            "settings": settings_info(self.args, self.settings),
            "launch_note": inst.launch_note,
            "server_log_errors": [line for line in server_log_tail.splitlines() if "ERROR" in line][-10:],
        }


def run_ours(args, flows, argon2) -> dict:
    with OursServer(args, flows, argon2) as ours:
        for flow in flows:
            ours.results[flow] = ours.measure(flow)
        return ours.summary()


def run_paired(args, flows) -> tuple[dict, dict]:
    """Ours and the peer both up (both pinned to core 0, the one not measured idle), each flow the
    peer also serves measured --rounds times on each, alternating ours, peer, ours, peer…: the
    machine's speed drifts by tens of percent within minutes here, and a ratio of two figures taken
    minutes apart carries that drift; a ratio of two figures taken back to back mostly does not.
    Each side's figures are those of its median round; the ratio is the median of the rounds'
    ratios (all of them are kept in the json and shown beside it)."""
    with OursServer(args, flows) as ours, PeerServer(args) as peer:
        for flow in flows:
            if not peer.serves(flow):
                ours.results[flow] = ours.measure(flow)
                continue
            mine, theirs = [], []
            for i in range(args.rounds):
                log(f"# round {i + 1}/{args.rounds}")
                mine.append(ours.measure(flow))
                theirs.append(peer.measure(flow))
            ours.results[flow], peer.results[flow] = paired(mine, theirs, flow, ours.argon2)
        return ours.summary(), peer.summary()


def _median_round(rounds: list[dict]) -> dict:
    ok = sorted((r for r in rounds if "rps" in r), key=lambda r: r["rps"])
    return dict(ok[(len(ok) - 1) // 2]) if ok else rounds[-1]


def paired(mine: list[dict], theirs: list[dict], flow: str, argon2: dict | None) -> tuple[dict, dict]:
    """Each side's median round, with every round's rate, and the ratios of the rounds that both
    sides measured (for the full login: ours minus the Argon2 time per login, over the peer)."""
    ours, peer = _median_round(mine), _median_round(theirs)
    ratios = []
    for o, p in zip(mine, theirs, strict=True):
        if "rps" not in o or not p.get("rps"):
            continue
        rate = minus_argon2(o["rps"], o.get("argon2_beside") or argon2) if flow == "flowjs" else o["rps"]
        if rate:
            ratios.append(round(rate / p["rps"], 3))
    if flow == "flowjs":
        # Per second of server CPU: flow.mjs's Node client saturates its core before the peer
        # does (the peer's server 75-87 % busy), so flows/s understates the peer's per-core rate.
        per_core = [per_core_ratio(o, p, o.get("argon2_beside") or argon2) for o, p in zip(mine, theirs, strict=True)]
        ours["pair_ratios_per_core"] = [r for r in per_core if r is not None]
    ours["rounds_rps"] = [r.get("rps") for r in mine]
    peer["rounds_rps"] = [r.get("rps") for r in theirs]
    ours["pair_ratios"] = ratios
    return ours, peer


def per_core_ratio(o: dict, p: dict, argon2: dict | None) -> float | None:
    """Peer's server CPU per login ÷ ours without its Argon2: the flows each would do per second
    of a core, ours less the Argon2 time, in proportion."""
    if not (o.get("rps") and p.get("rps") and o.get("server_cpu_pct") and p.get("server_cpu_pct") and argon2):
        return None
    ours_cpu = o["server_cpu_pct"] / 100 / o["rps"] - argon2["verify_ms"] / 1000
    peer_cpu = p["server_cpu_pct"] / 100 / p["rps"]
    return round(peer_cpu / ours_cpu, 3) if ours_cpu > 0 else None


# --- cost growth ------------------------------------------------------------------------------
GROWTH_FLOWS = ("token", "userinfo", "introspect", "refresh")
GROWTH_BAR = 0.80


def cpu_ms_per_request(r: dict, with_db: bool = False) -> float | None:
    """Server CPU (ms, every thread) per answered request over the measured window; with_db adds
    PostgreSQL's processes (which may include another job's queries: noise, never less)."""
    if not r.get("requests") or r.get("server_cpu_pct") is None:
        return None
    pct = r["server_cpu_pct"] + ((r.get("db_cpu_pct") or 0) if with_db else 0)
    return pct / 100 * r["seconds"] / r["requests"] * 1000


def growth_row(rounds: dict, with_db: bool = False) -> dict:
    """Two figures per flow. req/s: the fastest round of each side (the least disturbed). Capacity:
    the median over the rounds of the server's CPU per request, empty / filled, i.e. the ratio of
    the rates each would reach on a core of its own: it moves much less than req/s when other jobs
    take part of the server's core, which they did on this shared machine. The bar is judged on
    the capacity ratio; both are shown."""
    row = {"rounds": rounds}
    for name in rounds:
        ok = [r for r in rounds[name] if "rps" in r]
        for r in ok:
            r["cpu_ms_per_request"] = cpu_ms_per_request(r, with_db)
        row[name] = max(ok, key=lambda r: r["rps"]) if ok else rounds[name][-1]
        cpus = [r["cpu_ms_per_request"] for r in ok if r["cpu_ms_per_request"]]
        row[f"{name}_cpu_ms"] = statistics.median(cpus) if cpus else None
    if "rps" in row["empty"] and "rps" in row["filled"]:
        row["ratio"] = round(row["filled"]["rps"] / row["empty"]["rps"], 3)
        if row["empty_cpu_ms"] and row["filled_cpu_ms"]:
            row["cpu_ratio"] = round(row["empty_cpu_ms"] / row["filled_cpu_ms"], 3)
        row["pass"] = (row.get("cpu_ratio") or row["ratio"]) >= GROWTH_BAR
    return row


def run_growth(args, flows) -> dict:
    """The same flows on an empty database and on one filled with N citizens, N tokens and their
    audit rows, same server settings. Both instances are prepared first and both servers run
    (pinned to core 0, the idle one costs nothing); each flow is measured --growth-rounds times on
    each, alternating (empty, filled, filled, empty, …) so that a disturbance of the shared machine
    does not fall on one side only; the fastest round of each side is kept."""
    empty, filled = Instance(args), Instance(args)
    try:
        settings = empty.settings()
        insts = {"empty": empty, "filled": filled}
        cfgs = {}
        for name, inst in insts.items():
            log(f"# {name} instance {inst.tmp} ({args.db}), issuer {inst.base}")
            cfg = inst.setup(args.citizens, [PEER_REDIRECT])
            cfg_path = inst.tmp / "bench.json"
            cfg_path.write_text(json.dumps(cfg))
            cfgs[name] = (cfg, cfg_path)
        log("# plans on the empty database")
        empty_plans = empty.prefill(0, plans_only=True, costs=True)
        fill = filled.prefill(args.growth, costs=True)
        servers = {}
        for name, inst in insts.items():
            inst.start(args.server_threads)
            workers = inst.worker_pids()
            servers[name] = (inst.pids(), workers[0] if workers else inst.server.pid)
        runner = Runner(args)
        rows = {}
        for flow in flows:
            rounds = {"empty": [], "filled": []}
            for i in range(args.growth_rounds):
                order = ("empty", "filled") if i % 2 == 0 else ("filled", "empty")
                for name in order:
                    log(f"# growth: {flow}, {name} database, round {i + 1}")
                    cfg, cfg_path = cfgs[name]
                    pids, worker = servers[name]
                    r = measure_ours(runner, flow, insts[name], cfg, cfg_path, pids, worker, None, {})
                    r.pop("profile", None)
                    rounds[name].append(r)
            rows[flow] = growth_row(rounds, args.db == "postgres")
            if "ratio" in rows[flow]:
                log(f"  {flow}: filled/empty req/s {rows[flow]['ratio']:.2f}, "
                    f"capacity (1 / server CPU per request) {rows[flow]['cpu_ratio']:.2f}")
        after = {name: rss_report(inst.pids(), inst.server.pid) for name, inst in insts.items()}
        return {
            "kind": "growth",
            "n": args.growth,
            "flows": rows,
            "fill": fill,
            "empty_plans": empty_plans,
            "rss_end": after,
            "settings": settings_info(args, settings),
            "rounds": args.growth_rounds,
        }
    finally:
        empty.cleanup()
        filled.cleanup()


def settings_info(args, settings) -> dict:
    return {
        "db": args.db,
        "database_url": settings.database_url.split("@")[-1],
        "workers": 1,
        "threads": args.server_threads,
        "argon2": f"t={settings.argon2_time_cost} m={settings.argon2_memory_cost} KiB "
        f"p={settings.argon2_parallelism}" + (" (--fast-argon2)" if args.fast_argon2 else " (production defaults)"),
        "id_token_alg": settings.id_token_alg,
        "duration": args.duration,
        "warmup": args.warmup,
        "wrk": f"wrk -t1 -c{args.conns}",
        "loadgen_threads": args.threads,
        "flowjs_concurrency": args.flow_concurrency,
        "ratelimit": "off (IDP_RATELIMIT_ENABLED=false)",
        "code_ttl": "10m (IDP_CODE_TTL)",
        "citizens": args.citizens,
    }


def measure_ours(runner, flow, inst, cfg, cfg_path, pids, worker, argon2, results) -> dict:
    """One flow against one of our servers; {"failed": …} when it could not be measured."""
    cc_auth = basic_auth(cfg["cc"]["client_id"], cfg["cc"]["client_secret"])
    args = runner.args
    try:
        if flow in WRK_FLOWS:
            spec = ours_wrk_spec(flow, inst, cfg, cfg_path, cc_auth)
            url = inst.base + spec.pop("path")
            r = runner.wrk_flow(flow, url, spec, pids, worker)
        elif flow in PY_FLOWS:
            hint = argon2["hash_per_s"] if flow in ("login", "full") and argon2 else 1000
            r = runner.loadgen(cfg_path, flow, pids, hint, worker)
        elif flow == "flowjs":
            rate = results.get("full", {}).get("rps") or (argon2["hash_per_s"] if argon2 else 50)
            n = max(40, int(rate * args.duration))
            r = runner.flowjs(
                inst.base, cfg["web"]["client_id"], cfg["web"]["client_secret"], PEER_REDIRECT,
                n, max(8, int(rate * args.warmup)), worker,
                extra_env={"TNID_BENCH_IDENTIFIERS": ",".join(cfg["citizens"]),
                           "OPENID_CLIENT_FROM": str(peer_copy())},  # openid-client for flow.mjs
                forms=str(BENCH_DIR / "tnid_forms.mjs"), password=cfg["password"],
            )
        else:
            raise ValueError(flow)
    except Exception as exc:
        log(f"  FAILED: {exc}")
        r = {"failed": str(exc)[:500]}
        if inst.server.poll() is not None:
            raise RuntimeError(f"server died: {(inst.tmp / 'server.log').read_text()[-2000:]}") from None
    if "rps" in r:
        log(f"  {r['rps']:.1f}/s p50 {r['p50_ms']} ms p99 {r['p99_ms']} ms errors {r['errors']}"
            f" server {r.get('server_cpu_pct')}% client {r.get('client_cpu_pct')}%"
            f" other {r.get('other_cpu_pct')}% foreign {r.get('foreign_cpu_pct')}% db {r.get('db_cpu_pct')}%"
            + (f" ({r['first_error']})" if r.get("first_error") else ""))
    return r


def ours_wrk_spec(flow, inst, cfg, cfg_path, cc_auth) -> dict:
    cc = cfg["cc"]
    if flow == "discovery":
        return {"path": "/.well-known/openid-configuration"}
    if flow == "jwks":
        return {"path": "/jwks.json"}
    if flow == "jwks304":
        etag = etag_of(inst.base, "/jwks.json")
        return {"path": "/jwks.json", "header": f"If-None-Match: {etag}", "status": 304}
    if flow == "token":
        return {"path": "/token", "method": "POST", "auth": cc_auth,
                "body": f"grant_type=client_credentials&scope={cc['scope']}", "pattern": '"access_token"'}
    if flow == "userinfo":
        pool = prep_tokens(cfg_path, "user", 500, inst.tmp / "user_tokens.txt")
        return {"path": "/userinfo", "pool": str(pool), "auth": "Bearer {token}", "pattern": '"sub"'}
    if flow == "introspect":
        pool = prep_tokens(cfg_path, "cc", 500, inst.tmp / "cc_tokens.txt")
        return {"path": "/introspect", "method": "POST", "auth": cc_auth, "pool": str(pool),
                "body": "token={token}&token_type_hint=access_token", "pattern": '"active"%s*:%s*true'}
    raise ValueError(flow)


# --- the peer ---------------------------------------------------------------------------------
def peer_copy() -> Path:
    """The peer as shipped (its server.mjs, package.json and package-lock.json copied unchanged)
    in a directory of ours with its node_modules (`npm ci`): /work/shared stays untouched."""
    files = ("server.mjs", "package.json", "package-lock.json")
    digest = hashlib.sha256(b"".join((PEER_DIR / f).read_bytes() for f in files)).hexdigest()[:12]
    work = Path(tempfile.gettempdir()) / f"tnid-bench-peer-{digest}"
    if not (work / "node_modules" / "oidc-provider").exists():
        work.mkdir(exist_ok=True)
        for f in files:
            shutil.copyfile(PEER_DIR / f, work / f)
        log(f"# npm ci of the peer in {work}")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=work, check=True,
                       stdout=subprocess.DEVNULL)
    return work


class PeerServer:
    """node-oidc-provider for a run: started pinned to core 0 on :3000, ``measure`` one flow at a
    time, ``summary`` at the end."""

    def __init__(self, args) -> None:
        self.args, self.results = args, {}
        self.proc = self.logf = None
        self.tmp = Path(tempfile.mkdtemp(prefix="tnid-bench-peer-"))

    def __enter__(self) -> PeerServer:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _start(self) -> None:
        self.work = peer_copy()
        if _answers(PEER_BASE):
            raise RuntimeError("something already listens on 127.0.0.1:3000")
        self.logf = open(self.tmp / "peer.log", "w")
        env = dict(os.environ, NODE_ENV="production")
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, "node", "server.mjs"], cwd=self.work, env=env,
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        wait_http(PEER_BASE + "/.well-known/openid-configuration", 30, self.proc)
        disc = Conn(PEER_BASE).request("GET", "/.well-known/openid-configuration").json()
        self.paths = {name: disc[key].replace(PEER_BASE, "") for name, key in (
            ("jwks", "jwks_uri"), ("token", "token_endpoint"), ("introspect", "introspection_endpoint"),
            ("userinfo", "userinfo_endpoint"), ("authorize", "authorization_endpoint"))}
        self.cfg = {"base": PEER_BASE, "peer": True, "token_path": self.paths["token"],
                    "userinfo_path": self.paths["userinfo"], "authorize_path": self.paths["authorize"],
                    "cc": {"client_id": "bench-cc", "client_secret": "bench-cc-secret", "scope": "api"},
                    "web": {"client_id": "bench-web", "client_secret": "bench-web-secret", "redirect_uri": PEER_REDIRECT}}
        self.cfg_path = self.tmp / "peer.json"
        self.cfg_path.write_text(json.dumps(self.cfg))
        self.etag = etag_of(PEER_BASE, self.paths["jwks"])
        self.runner = Runner(self.args)

    def serves(self, flow: str) -> bool:
        if flow == "jwks304" and not self.etag:
            self.results[flow] = {"failed": "no ETag on the peer's JWKS"}
            return False
        return flow in PEER_FLOWS

    def _spec(self, flow: str) -> dict | None:
        auth = basic_auth("bench-cc", "bench-cc-secret")
        paths, tmp = self.paths, self.tmp
        if flow == "discovery":
            return {"path": "/.well-known/openid-configuration"}
        if flow == "jwks":
            return {"path": paths["jwks"]}
        if flow == "jwks304":
            return {"path": paths["jwks"], "header": f"If-None-Match: {self.etag}", "status": 304}
        if flow == "token":
            return {"path": paths["token"], "method": "POST", "auth": auth,
                    "body": "grant_type=client_credentials&scope=api", "pattern": '"access_token"'}
        if flow == "introspect":
            # made just before: the peer's LRU (1000 entries) would have evicted older tokens
            pool = prep_tokens(self.cfg_path, "cc", 300, tmp / "peer_tokens.txt")
            return {"path": paths["introspect"], "method": "POST", "auth": auth, "pool": str(pool),
                    "body": "token={token}&token_type_hint=access_token", "pattern": '"active"%s*:%s*true'}
        if flow == "userinfo":
            # Access tokens of real logins through the peer's devInteractions pages (scope openid
            # profile email). 100, not our 500: each login leaves ~7 entries in the LRU, and a
            # pool larger than ~140 logins would lose its first tokens (every one is checked to
            # answer 200 before the pool is used).
            pool = prep_tokens(self.cfg_path, "peer-user", 100, tmp / "peer_user_tokens.txt")
            return {"path": paths["userinfo"], "pool": str(pool), "auth": "Bearer {token}", "pattern": '"sub"'}
        return None

    def measure(self, flow: str) -> dict:
        log(f"# peer: {flow}")
        runner, args = self.runner, self.args
        try:
            spec = self._spec(flow)
            if spec is not None:
                r = runner.wrk_flow(flow, PEER_BASE + spec.pop("path"), spec, [self.proc.pid])
            elif flow == "refresh":
                r = runner.loadgen(self.cfg_path, flow, [self.proc.pid], 1000)
            elif flow == "flowjs":
                r = runner.flowjs(
                    PEER_BASE, "bench-web", "bench-web-secret", PEER_REDIRECT,
                    max(200, int(150 * args.duration)), 50, self.proc.pid,
                    extra_env={"OPENID_CLIENT_FROM": str(self.work)},
                )
            else:
                raise ValueError(flow)
        except Exception as exc:
            log(f"  FAILED: {exc}")
            r = {"failed": str(exc)[:500]}
        if "rps" in r:
            log(f"  {r['rps']:.1f}/s p50 {r['p50_ms']} ms p99 {r['p99_ms']} ms errors {r['errors']}"
                f" server {r.get('server_cpu_pct')}% client {r.get('client_cpu_pct')}% other {r.get('other_cpu_pct')}%"
                f" foreign {r.get('foreign_cpu_pct')}%")
        return r

    def summary(self) -> dict:
        results = self.results
        rss = rss_report([self.proc.pid], None)
        version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
        notes = []
        share = (results.get("refresh") or {}).get("rotated_share")
        if share is not None:
            notes.append(
                "refresh: the peer rotated " + (f"{share:.0%} of" if share else "none of")
                + " the refresh tokens (its default rotateRefreshToken rotates a confidential client's only "
                "past 70 % of the token's lifetime): each of its refreshes issues an access token and an RS256 "
                "ID token and keeps the refresh token; ours rotate every time (new refresh token, the old one "
                "marked used under the group commit, an audit row)")
        if "userinfo" in results:
            notes.append("userinfo: the peer's pool is 100 access tokens of real logins (its LRU would evict a "
                         "larger one), ours 500; the peer's userinfo reads its token, grant and session from memory")
        notes += [PEER_SKIPPED[f] for f in ("code", "revoke")]
        return {"flows": results, "rss_end": rss, "node": version, "notes": notes,
                "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "duration": self.args.duration, "rounds": self.args.rounds,
                "note": "node-oidc-provider 9.13.3, in-memory store (LRU), RS256"}

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self.logf is not None:
            self.logf.close()
            self.logf = None
        shutil.rmtree(self.tmp, ignore_errors=True)


def run_peer(args, flows) -> dict:
    with PeerServer(args) as peer:
        for flow in flows:
            if peer.serves(flow):
                peer.results[flow] = peer.measure(flow)
        return peer.summary()


def _answers(base: str) -> bool:
    try:
        Conn(base, timeout=1).request("GET", "/.well-known/openid-configuration")
        return True
    except Exception:
        return False


# --- report -----------------------------------------------------------------------------------
def machine_info() -> dict:
    model = "?"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    def run(*argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, cwd=PROJECT_ROOT).stdout.strip()
        except OSError:
            return "?"
    from importlib.metadata import version

    dirty = run("git", "status", "--porcelain", "--", "idp", "migrations", "pyproject.toml")
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "granian": version("granian"),
        "flask": version("flask"),
        "authlib": version("authlib"),
        "sqlalchemy": version("sqlalchemy"),
        "git": run("git", "rev-parse", "--short", "HEAD") + (" + uncommitted changes in idp/" if dirty else ""),
    }


def fmt(v, digits=1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}"


def minus_argon2(rate: float | None, argon2: dict | None) -> float | None:
    """Flows/s once the Argon2 time of one login is taken out: 1 / (1/rate − s_per_hash)."""
    if not rate or not argon2:
        return None
    left = 1.0 / rate - argon2["verify_ms"] / 1000.0
    return 1.0 / left if left > 0 else None


def too_spread(ratios: list[float]) -> bool:
    """Paired rounds whose ratios differ by more than half: the median of them judges nothing."""
    return len(ratios) > 1 and min(ratios) > 0 and max(ratios) / min(ratios) > 1.5


def ratio_cell(ratios: list[float]) -> str:
    """The median of the paired rounds' ratios, and their range."""
    if len(ratios) == 1:
        return f"{ratios[0]:.2f}"
    return f"**{statistics.median(ratios):.2f}** ({min(ratios):.2f}–{max(ratios):.2f})"


FAST_ARGON2_NOTE = (
    "The same pages, tokens and peer with a cheap Argon2id (t=1, 8 MiB, p=1, `--fast-argon2`), in a run "
    "of its own: with production parameters a login is ≈ 90 % Argon2, and the VM's memory speed moves the "
    "raw verify that is subtracted by more than the whole rest of a login, so this is where the full "
    "login's bar (flows/s less the Argon2 time, against the peer's) is read. The memory and login-POST "
    "bars are read from the production run above (a fast run keeps Argon2's 8 MiB blocks in the malloc "
    "arenas; production's 64 MiB ones are returned)."
)


FAST_ARGON2_HEADING = ", fast Argon2 (the full login's verdict)"  # after "## SQLite"


def results_name(db: str, fast_argon2: bool) -> str:
    """bench/results/<name>.json of a run: production Argon2 and --fast-argon2 runs each keep theirs."""
    return db + ("-fast-argon2" if fast_argon2 else "")


def render_section(data: dict, peer: dict | None, fast_argon2: bool = False) -> list[str]:
    s, m, flows = data["settings"], data["machine"], data["flows"]
    name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[s["db"]]
    lines = [
        f"## {name}" + (FAST_ARGON2_HEADING if fast_argon2 else ""),
        "",
        *([FAST_ARGON2_NOTE, ""] if fast_argon2 else []),
        f"- date: {data['date']}; command: `{data['command']}`",
        f"- machine: {m['nproc']} CPUs, {m['cpu']}, Linux {m['kernel']}; Python {m['python']}, "
        f"Granian {m['granian']}, Flask {m['flask']}, Authlib {m['authlib']}, SQLAlchemy {m['sqlalchemy']}; "
        f"commit {m['git']}",
        f"- server: `idp serve --workers {s['workers']} --threads {s['threads']}` pinned to core 0 "
        f"(`taskset -c 0`); database {s['database_url']}; ID tokens {s['id_token_alg']}",
        f"- load: from core 1; {s['wrk']} for the stateless flows, bench/loadgen.py with "
        f"{s['loadgen_threads']} threads for the stateful ones, flow.mjs c={s['flowjs_concurrency']}; "
        f"warm-up {s['warmup']} s, then {s['duration']} s measured per flow",
        f"- Argon2id: {s['argon2']}; rate limits {s['ratelimit']}; code TTL {s['code_ttl']}",
        "",
    ]
    have_peer = peer is not None
    pg = s["db"] == "postgres"
    head = ("| flow | req/s | p50 ms | p99 ms | errors | server CPU | client CPU | "
            + ("PostgreSQL CPU | " if pg else "") + "other (foreign) CPU |")
    sep = "|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if pg else "")
    if have_peer:
        head += " peer req/s | ours/peer |"
        sep += "---:|---:|"
    lines += [head, sep]
    for flow in ALL_FLOWS:
        r = flows.get(flow)
        if r is None:
            continue
        label = LABELS[flow]
        if "failed" in r:
            # One line of the error (a Node stack trace would break the table); the log has it all.
            lines_ = [x.strip() for x in r["failed"].splitlines()]
            reason = next((x for x in lines_ if x.startswith("Error")), lines_[0] if lines_ else "")
            lines.append(f"| {label} | failed: {reason[:120].replace('|', '/')} |")
            continue
        unit = "/s" if flow not in ("full", "flowjs") else " flows/s"
        row = (
            f"| {label} | {fmt(r['rps'])}{'' if unit == '/s' else ' flows/s'} | {fmt(r['p50_ms'], 2)} | "
            f"{fmt(r['p99_ms'], 2)} | {r['errors']}{' (' + str(r.get('first_error'))[:60] + ')' if r.get('first_error') else ''} | "
            f"{fmt(r.get('server_cpu_pct'), 0)}% | {fmt(r.get('client_cpu_pct'), 0)}% | "
            + (f"{fmt(r.get('db_cpu_pct'), 0)}% | " if pg else "")
            + f"{fmt(r.get('other_cpu_pct'), 0)}% ({fmt(r.get('foreign_cpu_pct'), 0)}%) |"
        )
        if have_peer:
            p = peer["flows"].get(flow)
            if r.get("pair_ratios") and flow != "flowjs":
                row += f" {fmt(p['rps'])} | {ratio_cell(r['pair_ratios'])} |"
            elif p and "rps" in p:
                row += f" {fmt(p['rps'])} | {r['rps'] / p['rps']:.2f} |"
            else:
                row += " – | – |"
        lines.append(row)
    lines.append("")
    notes = []
    for flow in ALL_FLOWS:
        r = flows.get(flow) or {}
        if r.get("exhausted") is not None:
            notes.append(f"{flow}: its pre-created pool ran out after {r['exhausted']} s; the rate is over that time")
    a = data.get("argon2")
    if a:
        lines.append(
            f"**Argon2id** ({a['params']}, single core, argon2-cffi"
            + (f", GLIBC_TUNABLES={a['tunables']} as `idp serve` sets it" if a.get("tunables") else "")
            + f"): {a['hash_per_s']:.2f} hashes/s "
            f"({a['hash_ms']:.1f} ms), verify {a['verify_per_s']:.2f}/s ({a['verify_ms']:.1f} ms)"
            + (f"; without the tunable a verify took {a['plain_verify_ms']:.1f} ms" if a.get("plain_verify_ms") else "")
            + f"; foreign processes meanwhile: {fmt(a.get('foreign_cpu_pct'), 0)}% of a core."
        )
        lr = flows.get("login", {})
        if "rps" in lr:
            ref, when = lr.get("argon2_beside") or a, "above"
            if "verify_ms_after" in ref:
                when = (f"the mean of a verify measured just before it, {ref['verify_ms_before']:.1f} ms, "
                        f"and one just after, {ref['verify_ms_after']:.1f} ms")
            elif lr.get("argon2_beside"):
                when = "measured just before it"
            lines.append(
                f"Login POST / raw verify rate ({when}: {ref['verify_ms']:.1f} ms): {lr['rps']:.2f} / "
                f"{ref['verify_per_s']:.2f} = **{lr['rps'] / ref['verify_per_s']:.2f}** (1.00 = the login costs "
                "nothing but Argon2)."
            )
        lines.append("")
        lines.append("Full login minus the Argon2 time per login, 1 / (1/rate − Argon2 s per verify), with "
                     "the raw verify time measured just before and just after each flow, their mean (beside "
                     "each Argon2-bound flow and each paired round, as this VM's memory speed drifts):")
        lines.append("")
        lines.append("| full login | flows/s | minus Argon2 | peer flows/s (flow.mjs) | ours minus Argon2 / peer |")
        lines.append("|---|---:|---:|---:|---:|")
        pf = (peer or {}).get("flows", {}).get("flowjs", {}) if peer else {}
        for flow in ("full", "flowjs"):
            r = flows.get(flow, {})
            if "rps" not in r:
                continue
            m2 = minus_argon2(r["rps"], r.get("argon2_beside") or a)
            if r.get("pair_ratios"):
                ratio = ratio_cell(r["pair_ratios"])
            else:
                ratio = f"{m2 / pf['rps']:.2f}" if m2 and pf.get("rps") else "–"
            lines.append(f"| {LABELS[flow]} | {r['rps']:.2f} | {fmt(m2)} | {fmt(pf.get('rps'))} | {ratio} |")
        fj = flows.get("flowjs", {})
        if fj.get("pair_ratios_per_core"):
            lines.append("")
            lines.append(
                "Per second of server CPU (the peer's server CPU per login ÷ ours less the Argon2 time; "
                f"flow.mjs's Node client saturates its core before the peer does: the peer's server was "
                f"{fmt(pf.get('server_cpu_pct'), 0)}% busy in its median round, ours {fmt(fj.get('server_cpu_pct'), 0)}%): "
                f"{ratio_cell(fj['pair_ratios_per_core'])}."
            )
        if too_spread(fj.get("pair_ratios") or []):
            share = (fj.get("argon2_beside") or a)["verify_ms"] / 1000 * fj["rps"]
            lines.append("")
            lines.append(
                f"**Not a verdict:** the rounds' ratios disagree by more than half. Argon2 is {share:.0%} of "
                "a login's time here, and the subtraction turns a few percent of drift in that reference into "
                "tens of percent in what is left; `--fast-argon2` runs measure the rest of a login directly, "
                "and their section below (\"fast Argon2\") is where the full login's bar is read."
            )
        lines.append("")
        lines.append(
            "The issue's bar: *full login flow: at least the peer's flows/s after subtracting the Argon2 time "
            "per login* — met when the last column is ≥ 1.00 (the flow.mjs row compares like with like)."
        )
        lines.append("")
    rows = [f"{p['role']} pid {p['pid']}: {p['rss_mb']} MB (peak {p['peak_rss_mb']} MB, {p['threads']} threads)"
            for p in data["rss_end"]]
    idle = ", ".join(f"{p['role']} {p['rss_mb']} MB" for p in data["rss_idle"])
    lines.append(f"**Memory** (RSS after the run): {'; '.join(rows)}. At start, idle: {idle}.")
    if peer and peer.get("rss_end"):
        lines.append(f"Peer (node) RSS after its run: {peer['rss_end'][0]['rss_mb']} MB.")
    lines.append("")
    if notes:
        lines += ["Notes: " + "; ".join(notes) + ".", ""]
    if data.get("launch_note"):
        lines += [f"**Launcher**: {data['launch_note']}.", ""]
    if data.get("server_log_errors"):
        lines += ["Server log errors:", "", "```", *data["server_log_errors"], "```", ""]
    return lines


def previous_blocks(path: Path) -> dict[str, list[str]]:
    """The sections of the RESULTS.md on disk, by heading ("## SQLite" …), and its "**Peer**"
    paragraph: a section whose json is not in bench/results (that directory is not in git; another
    checkout, or a clean one) is kept as it was instead of being lost."""
    blocks: dict[str, list[str]] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return blocks
    current = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line
            blocks[current] = []
        elif current is None and line.startswith("**Peer**"):
            blocks["**Peer**"] = [line]
        if current is not None:
            blocks[current].append(line)
    return {k: _strip_blank(v) for k, v in blocks.items()}


def _strip_blank(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


DB_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def render(path: Path) -> None:
    peer = _load(RESULTS_DIR / "peer.json")
    old = previous_blocks(path)
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/run.py` (do not edit by hand): every run rewrites its own section from "
        "bench/results/<db>.json (<db>-fast-argon2.json for a `--fast-argon2` run), the peer's figures from "
        "bench/results/peer.json (peer-fast-argon2.json) and the cost growth "
        "from bench/results/growth-<db>.json (a section whose json is absent is kept as it was).",
        "",
        "Columns: req/s over the measured window; p50/p99 latency per request (per login for the full "
        "flows); errors = responses with an unexpected status or body, socket errors, failed flows; "
        "CPU in % of one core during the window (server = every process of the server, client = wrk, "
        "loadgen.py or flow.mjs, other = the rest of the machine, mostly the kernel's loopback TCP work, "
        "and in brackets the part of it used by foreign processes, i.e. other jobs disturbing the run; "
        "a run with more than 10 % other or foreign is repeated, twice at most, and the quietest kept; with "
        "PostgreSQL, its processes (unpinned, on either core) are a column of their own, not foreign).",
        "",
    ]
    if peer:
        lines += [
            f"**Peer**: {peer['note']}, node {peer['node']}, measured {peer['date']} on the same cores "
            f"({peer['duration']} s per flow). The peer keeps everything in memory and hashes no password; "
            "we persist every token, code and session (SQLite WAL synchronous=NORMAL, or PostgreSQL): each "
            "ratio compares a durable provider with an in-memory one."
            + (f" Paired rounds: both servers up on core 0 (the one not measured idle), each flow that both "
               f"serve measured {peer['rounds']} times on each, alternating ours, peer, ours, peer…; each side's "
               "req/s is its median round, and ours/peer is the **median of the rounds' ratios** (their range in "
               "brackets): this machine's speed drifts by tens of percent within minutes, and a ratio of two "
               "figures taken back to back carries little of that drift." if peer.get("rounds", 1) > 1 else ""),
            "",
        ]
        if peer.get("notes"):
            lines += ["Peer notes: " + "; ".join(peer["notes"]) + ".", ""]
    elif "**Peer**" in old:
        lines += [*old["**Peer**"], ""]
    for db in ("sqlite", "postgres"):
        data = _load(RESULTS_DIR / f"{db}.json")
        if data:
            lines += render_section(data, peer)
        elif f"## {DB_NAMES[db]}" in old:
            lines += [*old[f"## {DB_NAMES[db]}"], ""]
        fast = _load(RESULTS_DIR / f"{results_name(db, True)}.json")
        heading = f"## {DB_NAMES[db]}{FAST_ARGON2_HEADING}"
        if fast:
            lines += render_section(fast, _load(RESULTS_DIR / f"{results_name('peer', True)}.json"), True)
        elif heading in old:
            lines += [*old[heading], ""]
    for db in ("sqlite", "postgres"):
        data = _load(RESULTS_DIR / f"growth-{db}.json")
        heading = f"## Cost growth, {DB_NAMES[db]}"
        if data:
            lines += render_growth(data)
        elif heading in old:
            lines += [*old[heading], ""]
    # The hand-written part (what each change bought, measured as it was made) is kept in its own
    # file and copied in as it is, so that regenerating the tables never loses it.
    changes = BENCH_DIR / "CHANGES.md"
    if changes.exists():
        lines += ["", changes.read_text(encoding="utf-8").rstrip()]
    path.write_text("\n".join(lines).rstrip() + "\n")


def render_growth(data: dict) -> list[str]:
    s, m, fill = data["settings"], data["machine"], data["fill"]
    counts = fill["counts"]
    size = fill.get("db_bytes") or data.get("db_bytes")
    size = f", database {size / 2**20:,.0f} MiB" if size else ""
    lines = [
        f"## Cost growth, {DB_NAMES[s['db']]}",
        "",
        "The issue's bar: throughput of token and userinfo with 1,000,000 issued tokens and 1,000,000 citizens "
        f"in the database within 20 % of the throughput on an empty database (filled / empty ≥ {GROWTH_BAR:.2f}).",
        "",
        f"- date: {data['date']}; command: `{data['command']}`; commit {m['git']}; machine shared with other jobs",
        f"- two instances with the same settings (`idp serve --workers {s['workers']} --threads {s['threads']}`, "
        f"both pinned to core 0, load from core 1; {s['wrk']}, loadgen.py {s['loadgen_threads']} threads; "
        f"warm-up {s['warmup']} s, {s['duration']} s measured): one as seeded ({s['citizens']} citizens), one "
        f"filled by bench/prefill.py; each flow measured {data['rounds']} times on each, alternating, the "
        "fastest round of each side kept (every round's rate is in the last column)",
        f"- filled: {counts['citizens']:,} citizens, {counts['tokens']:,} tokens, "
        f"{counts.get('audit_events', 0):,} audit rows{size}; fill {fill['fill_seconds']:,} s "
        f"({', '.join(f'{k} {v} s' for k, v in fill['seconds'].items())}; "
        + ("executemany" if s["db"] == "sqlite" else "COPY") + " in batches of 50,000, then ANALYZE)",
        "",
        "Columns: req/s, p50 and p99 of the fastest round of each side; *req/s ratio* = filled / empty of those; "
        "*CPU/req* = the server's CPU (all its threads" + (", and PostgreSQL's processes" if s["db"] == "postgres" else "")
        + ") per request, median of the rounds; *capacity ratio* = "
        "empty CPU/req ÷ filled CPU/req, the ratio of the rates the two would reach each on a core of its "
        "own. Other jobs took a varying part of the server's core during the rounds (the req/s of one "
        "database moved by up to ±50 % from round to round), so the bar is judged on the capacity ratio; "
        "the req/s ratio is shown beside it.",
        "",
        "| flow | empty req/s | p50 ms | p99 ms | filled req/s | p50 ms | p99 ms | req/s ratio | CPU/req empty → filled "
        "| capacity ratio | bar 0.80 | errors | rounds, req/s (empty; filled) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for flow in ALL_FLOWS:
        row = data["flows"].get(flow)
        if row is None:
            continue
        row = growth_row(row["rounds"], s["db"] == "postgres")
        e, f = row["empty"], row["filled"]
        if "rps" not in e or "rps" not in f:
            why = (e.get("failed") or f.get("failed") or "?").splitlines()[0][:120].replace("|", "/")
            lines.append(f"| {LABELS[flow]} | failed: {why} |")
            continue
        errors = sum(r.get("errors", 0) for side in row["rounds"].values() for r in side if "rps" in r)
        each = "; ".join(", ".join(fmt(r.get("rps"), 0) for r in row["rounds"][side]) for side in ("empty", "filled"))
        cpu = (f"{row['empty_cpu_ms'] * 1000:,.0f} → {row['filled_cpu_ms'] * 1000:,.0f} µs"
               if row.get("empty_cpu_ms") and row.get("filled_cpu_ms") else "–")
        cap = f"**{row['cpu_ratio']:.2f}**" if row.get("cpu_ratio") else "–"
        lines.append(
            f"| {LABELS[flow]} | {fmt(e['rps'])} | {fmt(e['p50_ms'], 2)} | {fmt(e['p99_ms'], 2)} | "
            f"{fmt(f['rps'])} | {fmt(f['p50_ms'], 2)} | {fmt(f['p99_ms'], 2)} | {row['ratio']:.2f} | {cpu} | {cap} | "
            f"{'pass' if row['pass'] else 'FAIL'} | {errors} | {each} |"
        )
    lines += ["", "Query plans of the hot statements on the filled database (the statements of "
              "idp/oauth/hotpath.py compiled for this database; *index* = every big table — tokens, citizens, "
              "audit_events — is reached through an index, no table scan):", ""]
    lines += ["| statement | plan on the filled database | verdict |", "|---|---|---|"]
    for name, plan in fill["plans"].items():
        text_ = "<br>".join(f"`{x.replace('|', '/')}`" for x in plan["plan"])
        lines.append(f"| {name} | {text_} | {plan['verdict']} |")
    if fill.get("costs") and (data.get("empty_plans") or {}).get("costs"):
        ec = data["empty_plans"]["costs"]
        lines += ["", "What the database's size costs each statement, in process (bench/prefill.py `statement_costs`: one "
                  "DB-API connection of the app's engine, one thread, µs per execution, median of 5 rounds, measured "
                  "before the servers start; reads over 500 fresh tokens like the HTTP pools; writes = a "
                  "client_credentials token's token row and audit row, one commit each"
                  + ("; on PostgreSQL the CPU column is only the client's share" if s["db"] == "postgres" else "") + "):",
                  "", "| statement | empty: wall µs | CPU µs | filled: wall µs | CPU µs | wall filled − empty |",
                  "|---|---:|---:|---:|---:|---:|"]
        for name, c in fill["costs"].items():
            e = ec.get(name)
            if e:
                lines.append(f"| {name} | {e['wall_us']:,.1f} | {e['cpu_us']:,.1f} | {c['wall_us']:,.1f} | "
                             f"{c['cpu_us']:,.1f} | {c['wall_us'] - e['wall_us']:+,.1f} |")
    changed = [name for name, plan in fill["plans"].items()
               if (data.get("empty_plans") or {}).get("plans", {}).get(name, {}).get("plan") not in (None, plan["plan"])]
    lines.append("")
    if changed:
        lines.append("Plans that differ on the empty database: " + "; ".join(
            f"{name}: " + " / ".join(data["empty_plans"]["plans"][name]["plan"]) for name in changed) + ".")
    else:
        lines.append("The plans on the empty database are the same.")
    lines.append("")
    return lines


def render_profiles(path: Path) -> None:
    lines = ["# Profiles (py-spy)", "",
             "Written by `bench/run.py --profile[=gil]` (do not edit by hand), from bench/results/profile-*.json. "
             "py-spy record --rate 250 --nonblocking on the worker during each measured window. Mode *active*: "
             "every thread that is not idle, so time in C code that released the GIL (SQLite, Argon2, "
             "waiting for the body) counts, under the Python frame that called it. Mode *gil*: only the "
             "thread holding the GIL, i.e. where the Python interpreter spends the core. Self = innermost "
             "frame; idp inclusive = samples under each idp/ function. Percentages of all samples. The "
             "rates under the profiler are lower than in RESULTS.md (py-spy shares core 1 with the load).", ""]
    for file in sorted(RESULTS_DIR.glob("profile-*.json")):
        data = _load(file)
        if not data:
            continue
        lines += [f"## {data['settings']['db']}, mode {data['settings']['profile']} ({data['date']})", ""]
        for flow, r in data["flows"].items():
            prof = r.get("profile") if isinstance(r, dict) else None
            if not prof or not prof.get("samples"):
                continue
            lines += [f"### {flow} ({prof['samples']} samples, {fmt(r.get('rps'))}/s under the profiler)", "",
                      "| self % | function | idp inclusive % | function |", "|---:|---|---:|---|"]
            for i in range(max(len(prof["self"]), len(prof["idp_inclusive"]))):
                a = prof["self"][i] if i < len(prof["self"]) else ("", "")
                b = prof["idp_inclusive"][i] if i < len(prof["idp_inclusive"]) else ("", "")
                lines.append(f"| {a[1]} | `{a[0]}` | {b[1]} | `{b[0]}` |")
            lines.append("")
    path.write_text("\n".join(lines) + "\n")


def _load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def print_table(data: dict, peer: dict | None) -> None:
    print("\n".join(render_section(data, peer)))


# --- main -------------------------------------------------------------------------------------
def py_spy(args) -> str | None:
    """py-spy (not a project dependency): --py-spy, on PATH, beside this interpreter, or in
    /tmp/bench-tools."""
    for exe in (args.py_spy, shutil.which("py-spy"), str(VENV_BIN / "py-spy"), "/tmp/bench-tools/bin/py-spy"):
        if exe and Path(exe).exists():
            return exe
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--peer", action="store_true", help="also benchmark node-oidc-provider")
    ap.add_argument("--rounds", type=int, default=3,
                    help="with --peer: both servers up, each shared flow measured this many times on each, "
                    "alternating (1: ours first, then the peer, as two separate phases)")
    ap.add_argument("--flows", default=None, help="comma-separated subset of: " + ",".join(ALL_FLOWS))
    ap.add_argument("--fast-argon2", action="store_true", help="t=1 m=8192 p=1 instead of the defaults")
    ap.add_argument("--conns", type=int, default=32, help="wrk connections")
    ap.add_argument("--threads", type=int, default=8, help="loadgen.py threads")
    ap.add_argument("--server-threads", type=int, default=None,
                    help="idp serve --threads (default: what idp serve picks for the database)")
    ap.add_argument("--flow-concurrency", default="8", help="flow.mjs --concurrency")
    ap.add_argument("--citizens", type=int, default=16)
    ap.add_argument("--quiet-max", type=float, default=15, help="wait until the machine is below this %% busy")
    ap.add_argument("--quiet-wait", type=float, default=180)
    ap.add_argument("--noise-max", type=float, default=10,
                    help="a run where other processes took more than this %% of a core is repeated")
    ap.add_argument("--retries", type=int, default=2)
    ap.add_argument("--profile", nargs="?", const="active", choices=["active", "gil"], default=None,
                    help="py-spy the worker (active threads, or only the GIL holder); writes PROFILE.md only")
    ap.add_argument("--py-spy", default=None)
    ap.add_argument("--no-write", action="store_true", help="print, do not touch bench/RESULTS.md")
    ap.add_argument("--prefill", type=int, default=0,
                    help="first fill the database with N citizens and N tokens (cost growth); implies --no-write")
    ap.add_argument("--growth", type=int, default=0, metavar="N",
                    help="cost growth: the flows on an empty database and on one filled with N citizens, N tokens "
                    "and N audit rows; writes bench/results/growth-<db>.json and its RESULTS.md section")
    ap.add_argument("--growth-rounds", type=int, default=2, help="measurements of each flow on each database")
    ap.add_argument("--peer-only", action="store_true",
                    help="only the peer's flows (a check of the peer side); prints, writes nothing")
    ap.add_argument("--render", action="store_true", help="only rewrite RESULTS.md from bench/results/*.json")
    args = ap.parse_args()
    if args.server_threads is None:
        from idp.cli.serve import default_threads

        args.server_threads = default_threads("sqlite" if args.db == "sqlite" else "postgresql")
    if args.profile and py_spy(args) is None:
        # Without it the run would measure nothing to profile and still rewrite PROFILE.md empty.
        sys.exit("--profile needs py-spy: --py-spy PATH, on PATH, in .venv/bin or /tmp/bench-tools/bin "
                 "(see bench/README.md)")
    if args.render:
        render(BENCH_DIR / "RESULTS.md")
        return
    if args.prefill:
        args.no_write = True
    if args.growth and not args.flows:
        args.flows = "token,userinfo,introspect"

    flows = args.flows.split(",") if args.flows else [f for f in ALL_FLOWS if f != "flowjs" or args.peer]
    unknown = set(flows) - set(ALL_FLOWS)
    if unknown:
        ap.error(f"unknown flows: {', '.join(sorted(unknown))}")
    for tool in ("wrk", "taskset") + (("node",) if args.peer or "flowjs" in flows else ()):
        if shutil.which(tool) is None:
            sys.exit(f"missing {tool}: apt-get install -y wrk hyperfine sysstat nodejs")
    if (os.cpu_count() or 1) < 2:
        sys.exit("needs 2 CPUs: the server on core 0, the load on core 1")

    if args.profile:
        args.retries = 0  # py-spy itself would count as a foreign process
    started = dt.datetime.now(dt.UTC)
    if args.peer_only:
        peer = run_peer(args, [f for f in PEER_FLOWS if f in flows])
        print(json.dumps({f: {k: r.get(k) for k in ("rps", "p50_ms", "p99_ms", "errors", "failed", "rotated_share")}
                          for f, r in peer["flows"].items()}, indent=1))
        print("\n".join(peer["notes"]))
        return
    if args.growth:
        main_growth(args, flows, started)
        return
    peer = None
    if args.peer and args.rounds > 1:
        data, peer = run_paired(args, flows)
    else:
        data = run_ours(args, flows, None)
        if args.peer:
            peer = run_peer(args, [f for f in PEER_FLOWS if f in flows])
    data["machine"] = machine_info()
    data["date"] = started.strftime("%Y-%m-%d %H:%M UTC")
    data["command"] = "python bench/run.py " + " ".join(sys.argv[1:])
    if not args.no_write and not args.profile:
        RESULTS_DIR.mkdir(exist_ok=True)
        name = results_name(args.db, args.fast_argon2)
        (RESULTS_DIR / f"{name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False))
        if peer:
            (RESULTS_DIR / f"{results_name('peer', args.fast_argon2)}.json").write_text(json.dumps(peer, indent=1))
        render(BENCH_DIR / "RESULTS.md")
    if args.profile:
        data["settings"]["profile"] = args.profile
        RESULTS_DIR.mkdir(exist_ok=True)
        (RESULTS_DIR / f"profile-{args.db}-{args.profile}.json").write_text(
            json.dumps(data, indent=1, ensure_ascii=False))
        render_profiles(BENCH_DIR / "PROFILE.md")
    print_table(data, peer or _load(RESULTS_DIR / "peer.json"))
    bad = [f for f, r in data["flows"].items() if "failed" in r or r.get("errors")]
    if bad:
        log(f"flows with errors: {', '.join(bad)}")
        sys.exit(1)


def main_growth(args, flows, started) -> None:
    data = run_growth(args, flows)
    data["machine"] = machine_info()
    data["date"] = started.strftime("%Y-%m-%d %H:%M UTC")
    data["command"] = "python bench/run.py " + " ".join(sys.argv[1:])
    if not args.no_write:
        RESULTS_DIR.mkdir(exist_ok=True)
        (RESULTS_DIR / f"growth-{args.db}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False))
        render(BENCH_DIR / "RESULTS.md")
    print("\n".join(render_growth(data)))
    bad = [f for f, r in data["flows"].items() if not r.get("pass")]
    if bad:
        log(f"flows under the bar or failed: {', '.join(bad)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
