"""Per-client-IP rate limits (Flask-Limiter). Counters live in memory for one instance, or in
Redis so that every instance counts together.

One Limiter per app, with the limits applied to the views when the app is built: the limits come
from settings, and a test (or a second app in one process) gets counters of its own.
"""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from ..config import Settings

TOKEN_ENDPOINTS = ("oidc.token", "oidc.revoke", "oidc.introspect", "par.push")
SEND_CODE_ENDPOINTS = ("signup.resend_signup", "signup.contact_send", "recovery.forgot_submit")
CHECK_CODE_ENDPOINTS = (
    "signup.verify_signup_submit",
    "signup.contact_submit",
    "recovery.reset_submit",
    "recovery.change_submit",
)
CLIENT_REGISTRATION_ENDPOINTS = ("registration.register", "registration.configuration")
# A kiosk asking for codes counts like the token endpoint; a person typing codes like other codes.
DEVICE_TOKEN_ENDPOINTS = ("device.authorize_device",)
DEVICE_CODE_ENDPOINTS = ("device.verify", "device.decide")


def init_app(app: Flask, settings: Settings) -> Limiter:
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=settings.ratelimit_storage,
        strategy="sliding-window-counter",
        # Off: its Retry-After would overwrite the login throttle's own; errors.py adds ours to a 429.
        headers_enabled=False,
        enabled=settings.ratelimit_enabled,
        key_prefix=settings.ratelimit_prefix,
        # If Redis is down, count in memory rather than refuse every login.
        in_memory_fallback_enabled=True,
    )
    # The limiter checks inside the wrapper it returns, so the wrapper replaces the view.
    views = app.view_functions
    views["auth.login_submit"] = limiter.limit(settings.ratelimit_login)(views["auth.login_submit"])
    # The second step of a login: its own counter, the login's limit.
    for endpoint in ("second_factor.submit", "second_factor.passkey_options"):
        views[endpoint] = limiter.limit(settings.ratelimit_login)(views[endpoint])
    # Activation checks a paper code: guessing is slowed per IP as well as per code.
    views["activation.activate_submit"] = limiter.limit(settings.ratelimit_activate)(
        views["activation.activate_submit"]
    )
    # Registration, and the pages that send or check 6-digit codes: one counter each per IP.
    views["signup.register_submit"] = limiter.limit(settings.ratelimit_register)(
        views["signup.register_submit"]
    )
    for scope, limit, endpoints in (
        ("send_code", settings.ratelimit_send_code, SEND_CODE_ENDPOINTS),
        ("check_code", settings.ratelimit_check_code, CHECK_CODE_ENDPOINTS + DEVICE_CODE_ENDPOINTS),
    ):
        shared = limiter.shared_limit(limit, scope=scope)
        for endpoint in endpoints:
            views[endpoint] = shared(views[endpoint])
    # A request the hot path (idp/web/hotpath.py) already counted and then passed on is exempt.
    token_limit = limiter.shared_limit(
        settings.ratelimit_token,
        scope="token",
        exempt_when=lambda: bool(request.environ.get("idp.hotpath.rate_limit_counted")),
    )
    for endpoint in TOKEN_ENDPOINTS + DEVICE_TOKEN_ENDPOINTS:
        views[endpoint] = token_limit(views[endpoint])
    client_registration_limit = limiter.shared_limit(
        settings.ratelimit_client_registration, scope="client-registration"
    )
    for endpoint in CLIENT_REGISTRATION_ENDPOINTS:
        views[endpoint] = client_registration_limit(views[endpoint])
    app.extensions["idp.limiter"] = limiter
    return limiter
