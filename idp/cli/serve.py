"""``idp serve``: the production server (Granian, WSGI) in front of ``idp.wsgi:app``."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

import click

from ..config import Settings

# Blocking threads per worker, by database. On SQLite a request waits for nothing but the CPU (a
# commit is a write into the page cache; the checkpoint's fdatasync is rare): more threads only
# take turns on the core, and each turn costs cache misses. Under SCHED_BATCH (below) four cost
# the same per token and refresh as eight and ≈ 5 % less per login (flow.mjs logins/s 73.9–77.6
# against 71.5–73.4; bench/CHANGES.md, 2026-12-05); fewer than four and a login burst (one thread
# hashing, the others waiting their turn at Argon2) would leave none for tokens. On PostgreSQL
# every statement is a round trip the other threads fill: eight answered 10-25 % more tokens per
# second than four (2,579/2,698 against 2,342/2,088).
SQLITE_THREADS = 4
DEFAULT_THREADS = 8


def default_threads(database_url: str) -> int:
    """Blocking threads per worker for this database, unless the operator gives --threads."""
    return SQLITE_THREADS if database_url.startswith("sqlite") else DEFAULT_THREADS


def granian_argv(bind: str, workers: int, threads: int) -> list[str]:
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter(f"{bind!r}: expected HOST:PORT", param_hint="--bind")
    granian = shutil.which("granian", path=os.path.dirname(sys.executable)) or shutil.which("granian")
    if granian is None:
        raise click.ClickException("granian is not installed (pip install granian)")
    # --blocking-threads: 2–8 measured best on this hardware (../shared/SERVING.md).
    return [
        granian,
        "--interface",
        "wsgi",
        "--host",
        host.strip("[]"),
        "--port",
        port,
        "--workers",
        str(workers),
        "--blocking-threads",
        str(threads),
        "--http",
        "1",
        "--no-ws",
        "--log-level",
        "warning",
        "idp.wsgi:app",
    ]


# Argon2 takes its memory (64 MiB by default) afresh for every password it checks: glibc maps an
# allocation that large anew each time, and the kernel faulted it in 4 KiB at a time, 16,385
# page faults, ≈ 55 ms of a ≈ 200 ms verify on the benchmark VM. With glibc's hugetlb tunable,
# malloc asks for transparent huge pages (madvise), 2 MiB at a time: the same Argon2 (same
# parameters, its memory still wiped after use) in ≈ 145 ms (bench/CHANGES.md). glibc reads it
# only at start, so it is set for the server's processes; on a system without transparent huge
# pages (or with another libc) it changes nothing.
#
# glibc gives each new thread an arena of its own (up to eight per core), and the memory a thread
# frees stays in its arena: with eight blocking threads the worker ended a ten-flow benchmark at
# 122 MB, with two arenas at 118 MB, for no measurable CPU (bench/CHANGES.md; most of the rest was
# SQLite's page caches, made smaller in idp/__init__.py).
MALLOC_TUNABLES = ("glibc.malloc.hugetlb=1", "glibc.malloc.arena_max=2")


def server_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` for the server's processes: glibc's malloc tunables added, each unless the
    operator set that tunable in GLIBC_TUNABLES themselves."""
    env = dict(environ)
    tunables = [t for t in env.get("GLIBC_TUNABLES", "").split(":") if t]
    named = {t.partition("=")[0] for t in tunables}
    tunables += [t for t in MALLOC_TUNABLES if t.partition("=")[0] not in named]
    env["GLIBC_TUNABLES"] = ":".join(tunables)
    return env


# On one core the worker's threads take turns: Granian's I/O thread wakes for every request that
# arrives and every answer that is ready, and under Linux's default policy each wake-up preempts
# the blocking thread in the middle of its request (5 context switches per refresh-token rotation,
# ≈ 25 µs of the I/O thread's CPU each time). Under SCHED_BATCH a thread that wakes does not
# preempt: it runs when the running one blocks or at the next tick, and handles every socket that
# is ready by then (1.1 switches per rotation; bench/CHANGES.md, 2026-12-05). Still fair shares,
# same priority; only the wake-up preemption goes. Inherited by every process and thread started
# after it.
SCHEDULING = ("batch", "inherit")


def batch_scheduling() -> bool:
    """Put this process, and all it starts, under SCHED_BATCH, unless it already runs under a
    policy someone chose (chrt, systemd's CPUSchedulingPolicy): only the default is changed.
    True if it was changed."""
    if not hasattr(os, "SCHED_BATCH"):
        return False  # not Linux
    try:
        if os.sched_getscheduler(0) != os.SCHED_OTHER:
            return False
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except OSError:  # a sandbox that forbids it: the default policy then
        return False
    return True


def prepare_metrics_dir(directory: Path) -> None:
    """Workers share metrics through files here; stale files of a previous run would be summed."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


@click.command("serve")
@click.option("--bind", default="127.0.0.1:5000", show_default=True, help="HOST:PORT")
@click.option("--workers", default=os.cpu_count() or 1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--threads",
    default=None,
    type=click.IntRange(1, 64),
    help=f"Blocking threads per worker [default: {SQLITE_THREADS} on SQLite, {DEFAULT_THREADS} otherwise].",
)
@click.option(
    "--scheduling",
    type=click.Choice(SCHEDULING),
    default="batch",
    show_default=True,
    help="batch: Linux's SCHED_BATCH for the server's threads (no wake-up preemption); "
    "inherit: the policy this command runs under.",
)
def command(bind: str, workers: int, threads: int | None, scheduling: str) -> None:
    """Run the provider under Granian (migrations must already be applied: idp db upgrade)."""
    settings = Settings.from_env()
    threads = threads or default_threads(settings.database_url)
    argv = granian_argv(bind, workers, threads)
    if scheduling == "batch":
        batch_scheduling()
    prepare_metrics_dir(settings.metrics_dir)  # no app here: the workers build their own
    click.echo(f"Thai Nguyen ID serving on http://{bind} ({workers} workers × {threads} threads)")
    sys.stdout.flush()
    os.execve(argv[0], argv, server_environment(os.environ))
