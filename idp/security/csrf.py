"""Cross-site request forgery: every form a citizen posts carries a token bound to their browser.

The browser's signed cookie session (idp/web/cookie_session.py) holds a random value; each form
carries base64url(HMAC-SHA256(key, that value)), the key derived from the application's
SECRET_KEY (server_keys.derive). A POST, PUT, PATCH or DELETE to a view not marked ``exempt``
(the protocol endpoints a portal calls, authenticated otherwise) must carry that token in its
``csrf_token`` field (the passkey script posts the form's own fields too), or it is refused
with a 400 before the view runs, and nothing is written. Another browser's token, a token of
an older session (the session starts again at login), or one made without the key never
matches.

This is what Flask-WTF's CSRFProtect did here (its token was the session value signed by
itsdangerous, with no time limit as configured), at a tenth of the cost: its serializer was
built, and its token signed and parsed, on every page of a login (≈ 3 % of a login's Python
time; bench/CHANGES.md).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable

from flask import Blueprint, Flask, current_app, g, request, session
from joserfc.util import urlsafe_b64encode
from werkzeug.exceptions import BadRequest

from ..identity.server_keys import derive

log = logging.getLogger(__name__)

FIELD = "csrf_token"  # the form field, and the key of the browser's value in its session
CHECKED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PURPOSE = "csrf-form-token-v1"


class CSRFError(BadRequest):
    """The form's token is missing or is not this browser's (400)."""


def _form_token(raw: str) -> str:
    return urlsafe_b64encode(hmac.digest(derive(_PURPOSE), raw.encode(), hashlib.sha256)).decode()


def generate_csrf() -> str:
    """This browser's form token (the same for every form of a page)."""
    token = g.get("_csrf_token")
    if token is None:
        raw = session.get(FIELD)
        if not isinstance(raw, str):
            raw = session[FIELD] = secrets.token_urlsafe(32)
        token = g._csrf_token = _form_token(raw)
    return token


def validate_csrf(given: str | None) -> None:
    """Raise CSRFError unless ``given`` is this browser's form token."""
    if not given:
        raise CSRFError("The CSRF token is missing.")
    raw = session.get(FIELD)
    if not isinstance(raw, str):
        raise CSRFError("The CSRF session token is missing.")
    if not hmac.compare_digest(_form_token(raw).encode(), given.encode("utf-8", "surrogatepass")):
        raise CSRFError("The CSRF tokens do not match.")


class CSRFProtect:
    """The check before every state-changing request, with ``exempt`` views and blueprints."""

    def __init__(self) -> None:
        self._exempt_views: set[str] = set()
        self._exempt_blueprints: set[str] = set()

    def init_app(self, app: Flask) -> None:
        app.jinja_env.globals["csrf_token"] = generate_csrf
        app.before_request(self.protect)

    def exempt(self, view: Callable | Blueprint) -> Callable | Blueprint:
        if isinstance(view, Blueprint):
            self._exempt_blueprints.add(view.name)
        else:
            self._exempt_views.add(f"{view.__module__}.{view.__name__}")
        return view

    def protect(self) -> None:
        if request.method not in CHECKED_METHODS or not request.endpoint:
            return  # no view (404, 405): Flask answers, nothing runs
        if request.blueprint in self._exempt_blueprints:
            return
        view = current_app.view_functions.get(request.endpoint)
        if view is not None and f"{view.__module__}.{view.__name__}" in self._exempt_views:
            return
        try:
            validate_csrf(request.form.get(FIELD))
        except CSRFError as error:
            log.info("CSRF check refused a %s to %s: %s", request.method, request.path, error.description)
            raise
