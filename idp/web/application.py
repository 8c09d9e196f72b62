"""The Flask application class, with what Flask does on every request that this provider does not
need done again and again (measured: bench/CHANGES.md, "The login pages").

Every page of a login pays Flask's per-request work several times over, so cutting it pays on
the login flow, not only on one endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class _CachedSerializerSessions(SecureCookieSessionInterface):
    """Flask builds a new itsdangerous serializer (key derivation set-up, JSON tagger) for every
    request that opens or saves the cookie session (the CSRF token lives there); the secret key
    does not change while the process lives, so one per key is enough."""

    _cache: tuple[Any, URLSafeTimedSerializer | None] = (None, None)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        key, serializer = self._cache
        if key is not app.secret_key or serializer is None:
            serializer = super().get_signing_serializer(app)
            self._cache = (app.secret_key, serializer)
        return serializer


class App(Flask):
    session_interface = _CachedSerializerSessions()

    def ensure_sync(self, func: Callable) -> Callable:
        # Flask asks inspect.iscoroutinefunction() of every view and hook on every request (about
        # ten calls); no view or hook of ours is async, and one that was would fail loudly here.
        return func
