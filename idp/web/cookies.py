"""The single sign-on cookie: an opaque id, HttpOnly, SameSite=Lax, Secure and __Host- under https."""

from __future__ import annotations

from flask import Response, request

from ..services import services


def session_cookie_name() -> str:
    return "__Host-tnid_session" if services().settings.https else "tnid_session"


def session_cookie() -> str | None:
    return request.cookies.get(session_cookie_name())


def set_session_cookie(response: Response, value: str) -> None:
    settings = services().settings
    # A session cookie (no Max-Age): closing the browser on a shared device logs the citizen
    # out; the server-side row still expires after IDP_SESSION_TTL.
    response.set_cookie(
        session_cookie_name(), value, httponly=True, samesite="Lax", secure=settings.https, path="/"
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(
        session_cookie_name(), path="/", secure=services().settings.https, httponly=True, samesite="Lax"
    )
