"""The end of a login, whatever its steps: a fresh SSO session, its cookie, and the way back."""

from __future__ import annotations

from flask import Response, redirect, request, session, url_for

from ..extensions import db
from ..identity import sessions
from ..models import Citizen, Interaction
from ..services import services
from . import cookies


def finish_login(
    citizen: Citizen, interaction: Interaction | None, amr: list[str], acr: str, target: str | None = None
) -> Response:
    """Start the session (a new id: the old one ends), commit, and go back to the pending
    authorization request, or to ``target`` (a URL of ours), or to the home page."""
    cookie_value, row = sessions.start(
        citizen,
        services().settings.session_ttl,
        amr=amr,
        acr=acr,
        user_agent=request.user_agent.string,
        ip_address=request.remote_addr,
        previous_cookie=cookies.session_cookie(),
    )
    if interaction is not None:
        interaction.login_done_at = row.auth_time
    db.session.commit()
    after = session.get("after_login")
    session.clear()  # a new CSRF token for the logged-in browser
    if interaction is None and target is None and isinstance(after, dict) and after.get("page") == "device":
        target = url_for("device.verify", user_code=str(after.get("user_code", ""))[:20])
    if interaction is not None:
        target = url_for("oidc.resume", interaction=interaction.id)
    target = target or url_for("auth.home")
    response = redirect(target, code=303)
    cookies.set_session_cookie(response, cookie_value)
    return response
