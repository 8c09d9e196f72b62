"""`idp serve` gives its processes glibc's malloc tunables: hugetlb, so that Argon2's 64 MiB come
in transparent huge pages instead of 16,384 page faults of 4 KiB per password checked, and two
arenas, so that memory freed by one of the eight blocking threads serves the others."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from idp.cli.serve import MALLOC_TUNABLES, server_environment

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


def test_the_tunables_are_added_to_what_the_operator_set():
    assert server_environment({})["GLIBC_TUNABLES"] == ":".join(MALLOC_TUNABLES)
    assert server_environment({"GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"})["GLIBC_TUNABLES"] == (
        "glibc.malloc.tcache_count=0:" + ":".join(MALLOC_TUNABLES))


def test_an_operators_own_setting_of_a_tunable_is_kept():
    assert server_environment({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"})["GLIBC_TUNABLES"] == (
        "glibc.malloc.hugetlb=0:glibc.malloc.arena_max=2")
    assert server_environment({"GLIBC_TUNABLES": "glibc.malloc.arena_max=8"})["GLIBC_TUNABLES"] == (
        "glibc.malloc.arena_max=8:glibc.malloc.hugetlb=1")


# Eight threads, each allocating outside Python's small-object allocator, then glibc's own count
# of its arenas (malloc_info's <heap> elements).
ARENAS = r"""
import ctypes, json, threading
libc = ctypes.CDLL(None)
ready = threading.Barrier(9)
def work():
    block = bytearray(256 * 1024)
    ready.wait()
    ready.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
ready.wait()
buf, size = ctypes.c_char_p(), ctypes.c_size_t()
libc.open_memstream.restype = ctypes.c_void_p
stream = ctypes.c_void_p(libc.open_memstream(ctypes.byref(buf), ctypes.byref(size)))
libc.malloc_info(0, stream)
libc.fclose(stream)
ready.wait()
print(json.dumps(ctypes.string_at(buf, size.value).decode().count("<heap nr=")))
"""


def arenas_of_eight_threads(env: dict) -> int:
    out = subprocess.run([sys.executable, "-c", ARENAS], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def test_the_servers_threads_share_two_arenas():
    plain = arenas_of_eight_threads({"PATH": "/usr/bin:/bin"})
    served = arenas_of_eight_threads(server_environment({"PATH": "/usr/bin:/bin"}))

    assert plain > 2  # glibc's default: an arena per thread, up to eight per core
    assert served <= 2


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
