"""`idp serve` gives its processes glibc's hugetlb malloc tunable, so that Argon2's 64 MiB come
in transparent huge pages instead of 16,384 page faults of 4 KiB per password checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from idp.cli.serve import MALLOC_TUNABLE, server_environment

THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")

# One verify at the production parameters, counting the minor page faults it causes.
VERIFY = r"""
import json, resource
from argon2 import PasswordHasher
hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)
stored = hasher.hash("mật khẩu thử nghiệm")
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
hasher.verify(stored, "mật khẩu thử nghiệm")
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before))
"""


def test_the_tunable_is_added_to_what_the_operator_set():
    assert server_environment({})["GLIBC_TUNABLES"] == MALLOC_TUNABLE
    assert server_environment({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"})["GLIBC_TUNABLES"] == (
        f"glibc.malloc.arena_max=2:{MALLOC_TUNABLE}")


def test_an_operators_own_hugetlb_setting_is_kept():
    assert server_environment({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"})["GLIBC_TUNABLES"] == (
        "glibc.malloc.hugetlb=0")


def faults_of_one_verify(env: dict) -> int:
    out = subprocess.run([sys.executable, "-c", VERIFY], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


# Only in "madvise" mode does the tunable decide: "never" gives no huge pages at all, "always" gives
# them to the plain process as well.
@pytest.mark.skipif(not THP.exists() or "[madvise]" not in THP.read_text(),
                    reason="transparent huge pages are not in madvise mode here")
def test_argon2_in_the_servers_environment_takes_its_memory_in_huge_pages():
    plain = faults_of_one_verify({"PATH": "/usr/bin:/bin"})
    served = faults_of_one_verify(server_environment({"PATH": "/usr/bin:/bin"}))

    assert plain > 16_000  # 64 MiB in 4 KiB pages
    assert served < plain / 10
