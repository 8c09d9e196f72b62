"""How the authorization endpoint answers the portal: a redirect, or an auto-posted form."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Response, redirect, render_template

from ..oauth.authorize import AuthorizationRequest


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
