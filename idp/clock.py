"""The one source of the current time, so tests can move it and every expiry agrees."""

import time

_offset = 0
_frozen: int | None = None


def now() -> int:
    """Seconds since the epoch, as stored in every ``*_at`` column."""
    return _frozen if _frozen is not None else int(time.time()) + _offset


def advance(seconds: int) -> None:
    """Move the clock forward (tests only)."""
    global _offset, _frozen
    _offset += seconds
    if _frozen is not None:
        _frozen += seconds


def freeze() -> None:
    """Stop the clock at the current second (tests only)."""
    global _frozen
    _frozen = now()


def reset() -> None:
    global _offset, _frozen
    _offset, _frozen = 0, None
