"""The Flask application class, with what Flask does on every request that this provider does not
need done again and again (measured: bench/CHANGES.md, "The login pages").

Every page of a login pays Flask's per-request work several times over, so cutting it pays on
the login flow, not only on one endpoint.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from .cookie_session import CookieSessions


class App(Flask):
    session_interface = CookieSessions()

    def ensure_sync(self, func: Callable) -> Callable:
        # Flask asks inspect.iscoroutinefunction() of every view and hook on every request (about
        # ten calls); no view or hook of ours is async, and one that was would fail loudly here.
        return func
