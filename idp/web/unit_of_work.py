"""The login pages' writes, made in one go when the page commits (lean.deferring): GET
/authorize parks the request, POST /login starts the session, POST /consent records the consent
and issues the code. Each of these pages writes a few prebuilt rows; through the Session each
page paid for a transaction of its own (pool checkout, BEGIN, COMMIT, check-in) and, on SQLite,
waited for the write lock of the hot path's writer in SQLite's busy handler, which sleeps."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from flask import Response

from .. import lean
from .responses import already_answered

View = TypeVar("View", bound=Callable[..., Response])


def deferred_writes(view: View) -> View:
    """Run the view with its writes waiting for its commit. A condition that fails only then
    (the DELETE of a parked request that another answer already ended: a form sent twice) is
    the same "already answered" as when the view sees it at once, and nothing of the page is
    written."""

    @functools.wraps(view)
    def run(*args, **kwargs) -> Response:
        with lean.deferring():
            try:
                return view(*args, **kwargs)
            except lean.Conflict:
                raise already_answered() from None

    return run  # type: ignore[return-value]
