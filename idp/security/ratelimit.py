"""Per-client-IP rate limits (Flask-Limiter). Counters live in memory for one instance, or in
Redis so that every instance counts together.

One Limiter per app, with the limits applied to the views when the app is built: the limits come
from settings, and a test (or a second app in one process) gets counters of its own.
"""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from ..config import Settings

TOKEN_ENDPOINTS = ("oidc.token", "oidc.revoke", "oidc.introspect")


def init_app(app: Flask, settings: Settings) -> Limiter:
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=settings.ratelimit_storage,
        strategy="sliding-window-counter",
        headers_enabled=True,
        enabled=settings.ratelimit_enabled,
        key_prefix="tnid",
        # If Redis is down, count in memory rather than refuse every login.
        in_memory_fallback_enabled=True,
    )
    limiter.limit(settings.ratelimit_login, methods=["POST"])(app.view_functions["auth.login_submit"])
    token_limit = limiter.shared_limit(settings.ratelimit_token, scope="token")
    for endpoint in TOKEN_ENDPOINTS:
        token_limit(app.view_functions[endpoint])
    app.extensions["idp.limiter"] = limiter
    return limiter
