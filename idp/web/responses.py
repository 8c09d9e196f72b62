"""How a pending authorization request goes on: the next page for the citizen, or the answer to
the portal (a redirect, or an auto-posted form)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Response, redirect, render_template, url_for

from .. import lean
from ..models import Interaction
from ..oauth import authorize
from ..oauth.authorize import AuthorizationRequest
from ..oauth.errors import ProtocolError


def to_portal(req: AuthorizationRequest, params: dict[str, str]) -> Response:
    """Deliver ``params`` to the verified redirect URI in the requested response mode."""
    if req.response_mode == "form_post":
        # OAuth 2.0 Form Post Response Mode: the browser POSTs the values; nothing in the URL.
        response = Response(render_template("form_post.html", action=req.redirect_uri, params=params))
        response.headers["Cache-Control"] = "no-store"
        return response
    parts = urlsplit(req.redirect_uri)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    response = redirect(urlunsplit(parts._replace(query=query)), code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


def already_answered() -> ProtocolError:
    """The same login form or consent sent twice (a double click, a reload): the first one got
    the answer, this one writes nothing and says the request is over."""
    lean.rollback()
    return ProtocolError("invalid_request", "expired", redirect=False)


# (interaction, request, SSO session) → the consent page (idp/web/auth.py).
ConsentPage = Callable[[Interaction, AuthorizationRequest, Any], Response]


def answer(
    req: AuthorizationRequest,
    session,
    interaction=None,
    login_just_done: bool = False,
    login_page: Callable[[Interaction, AuthorizationRequest], Response] | None = None,
    consent_page: ConsentPage | None = None,
) -> Response:
    """Decide what the citizen must do next, and do it. With ``login_page``, a citizen who must
    log in gets the form in this answer rather than a redirect to it; with ``consent_page``, the
    same for a consent to give."""
    try:
        decision = authorize.decide(req, session, login_just_done)
    except authorize.RedirectableError as exc:
        if interaction is not None:
            authorize.forget(interaction, answered_here=False)
        lean.commit()
        return to_portal(exc.request, authorize.error_params(exc.request, exc.error))
    if decision.action == "issue":
        if interaction is not None and not authorize.forget(interaction):
            raise already_answered()
        code = authorize.issue_code(req, session)
        lean.commit()
        return to_portal(req, authorize.response_params(req, code=code))
    if interaction is None:
        interaction = authorize.park(req)
    lean.commit()
    if decision.action == "login" and login_page is not None:
        return login_page(interaction, req)
    if decision.action == "consent" and consent_page is not None:
        return consent_page(interaction, req, session)
    endpoint = {"login": "auth.login", "step_up": "second_factor.page"}.get(
        decision.action, "auth.consent_page"
    )
    return redirect(url_for(endpoint, interaction=interaction.id))
