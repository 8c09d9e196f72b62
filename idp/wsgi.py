"""The WSGI entry point for the production server: ``granian --interface wsgi idp.wsgi:app``."""

import ctypes
import ctypes.util

from . import create_app

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)


def _return_large_blocks_to_the_system() -> None:
    """Allocate every block of 128 KiB or more with its own mmap, freed back to the system at once.

    glibc raises that threshold each time such a block is freed (up to 32 MiB), so after the
    first logins each server thread's heap held an 8 to 9 MiB Argon2 buffer (and other large
    blocks) for good: 157 MB resident after a run of logins instead of 102 (bench/CHANGES.md,
    memory). The Argon2 memory of each login is now mapped and unmapped with it, as it always
    was at the production parameters (64 MiB is above glibc's ceiling). Not glibc: nothing to do."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        return
    if mallopt is not None:
        mallopt(M_MMAP_THRESHOLD, 128 * 1024)


_return_large_blocks_to_the_system()
app = create_app()
