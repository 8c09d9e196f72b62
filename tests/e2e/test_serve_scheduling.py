"""`idp serve` runs Granian and its workers under SCHED_BATCH: a thread that wakes (Granian's I/O
thread, for every request that arrives) waits for the running one instead of preempting it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="Linux scheduling policies")


def threads_of(pid: int) -> list[int]:
    return [int(task) for task in os.listdir(f"/proc/{pid}/task")]


def test_every_thread_of_the_live_server_is_batch_scheduled(live_server):
    main = live_server.process.pid  # idp serve became Granian (exec)
    children = Path(f"/proc/{main}/task/{main}/children").read_text().split()
    threads = [t for pid in (main, *map(int, children)) for t in threads_of(pid)]

    assert children  # the worker
    assert len(threads) > 4  # Granian's I/O thread and the blocking threads among them
    assert {os.sched_getscheduler(t) for t in threads} == {os.SCHED_BATCH}


CHOSEN = """
import os
from idp.cli.serve import batch_scheduling
os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # the operator's chrt --idle
print(batch_scheduling(), os.sched_getscheduler(0) == os.SCHED_IDLE)
"""


def test_a_policy_the_operator_chose_is_kept():
    out = subprocess.run([sys.executable, "-c", CHOSEN], capture_output=True, text=True, timeout=60)

    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "True"]
