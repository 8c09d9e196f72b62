"""Errors turned into responses in one place: JSON for API clients, a page for people."""

from __future__ import annotations

import contextlib
import logging
import math
import time
import traceback

from flask import Flask, Response, current_app, jsonify, render_template, request
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from ..extensions import db
from ..oauth.errors import ProtocolError
from ..security.csrf import CSRFError
from .i18n import t

log = logging.getLogger(__name__)

API_PATHS = (
    "/token",
    "/userinfo",
    "/introspect",
    "/revoke",
    "/connect/",
    "/par",
    "/device_authorization",
    "/jwks.json",
    "/.well-known/",
)


def wants_json() -> bool:
    return request.path.startswith(API_PATHS)


def protocol_error_page(error: ProtocolError, status: int = 400, message: str | None = None) -> Response:
    """``message``: what the citizen reads, in the page's language. Without one, a plain sentence
    for the error's kind, and the description (English, written for the portal's developers)
    shown beneath it as a detail."""
    if wants_json():
        response = jsonify({"error": error.error, "error_description": error.description})
        response.status_code = status
        return response
    detail = None
    if error.description == "expired":
        message = t("expired")
    elif message is None and error.error == "server_error":
        message = t("error_unexpected")
    elif message is None:
        message, detail = t("error_portal_request"), error.description
    return Response(
        render_template("error.html", error=error.error, message=message, detail=detail), status=status
    )


def _retry_after() -> int:
    """Seconds until the rate limit that refused this request lets the next one through."""
    limiter = current_app.extensions.get("idp.limiter")
    current = limiter.current_limit if limiter is not None else None
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def init_app(app: Flask) -> None:
    @app.errorhandler(ProtocolError)
    def on_protocol_error(error: ProtocolError) -> Response:
        db.session.rollback()
        return protocol_error_page(error, error.status)

    @app.errorhandler(CSRFError)
    def on_csrf(error: CSRFError) -> Response:
        return protocol_error_page(ProtocolError("invalid_request", t("expired"), redirect=False),
                                   message=t("expired"))

    @app.errorhandler(HTTPException)
    def on_http(error: HTTPException) -> Response:
        code = {
            404: "not_found",
            405: "method_not_allowed",
            413: "request_too_large",
            429: "temporarily_unavailable",
        }.get(error.code, "invalid_request")
        description = t("not_found") if error.code == 404 else (error.description or code)
        message = t("not_found") if error.code == 404 else None
        seconds = 0
        if error.code == 429:
            seconds = _retry_after()
            description = message = t("too_many_requests").format(n=seconds)
        response = protocol_error_page(
            ProtocolError(code, description, redirect=False), error.code or 400, message=message
        )
        if seconds:
            response.headers["Retry-After"] = str(seconds)
        for name, value in error.get_headers():
            if name.lower() != "content-type":  # e.g. Allow on a 405 (RFC 9110 §15.5.6)
                response.headers[name] = value
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def on_database_unavailable(error: Exception) -> Response:
        # The database is down or restarting: a clean, retryable answer; nothing was written.
        with contextlib.suppress(Exception):
            db.session.rollback()
        log.error(
            "database unavailable at %s %s (%s)", request.method, request.path, error.__class__.__name__
        )
        response = protocol_error_page(
            ProtocolError("temporarily_unavailable", t("unavailable"), redirect=False), 503,
            message=t("unavailable"),
        )
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def on_unexpected(error: Exception) -> Response:
        db.session.rollback()
        # The exception text may hold request data (SQL parameters…): log where, not what.
        log.error(
            "unexpected %s at %s %s\n%s",
            error.__class__.__name__,
            request.method,
            request.path,
            "".join(traceback.format_tb(error.__traceback__)),
        )
        return protocol_error_page(
            ProtocolError("server_error", "An unexpected error occurred.", redirect=False), 500
        )
