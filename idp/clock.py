"""The one source of the current time, so tests can move it and every expiry agrees."""

import time

_offset = 0


def now() -> int:
    """Seconds since the epoch, as stored in every ``*_at`` column."""
    return int(time.time()) + _offset


def advance(seconds: int) -> None:
    """Move the clock forward (tests only)."""
    global _offset
    _offset += seconds


def reset() -> None:
    global _offset
    _offset = 0
