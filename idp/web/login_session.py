"""The end of a login, whatever its steps: a fresh SSO session, its cookie, and the way back."""

from __future__ import annotations

from flask import Response, redirect, request, session, url_for

from .. import lean
from ..identity import sessions
from ..models import Citizen, Interaction
from ..oauth import authorize
from ..services import services
from . import cookies
from .i18n import negotiate, use_locale
from .responses import ConsentPage, answer, to_portal


def finish_login(
    citizen: Citizen,
    interaction: Interaction | None,
    amr: list[str],
    acr: str,
    target: str | None = None,
    req: authorize.AuthorizationRequest | None = None,
    consent_page: ConsentPage | None = None,
) -> Response:
    """Start the session (a new id: the old one ends), commit, and go on with the pending
    authorization request (``req``: the interaction's request, as this request validated it), or
    to ``target`` (a URL of ours), or to the home page. With ``consent_page``, a consent still to
    give is answered with its page rather than a redirect to it."""
    cookie_value, row = sessions.start(
        citizen,
        services().settings.session_ttl,
        amr=amr,
        acr=acr,
        user_agent=request.user_agent.string,
        ip_address=request.remote_addr,
        previous_cookie=cookies.session_cookie(),
    )
    after = session.get("after_login")
    session.clear()  # a new CSRF token for the logged-in browser
    if interaction is not None:
        authorize.login_done(interaction, row.auth_time)
        response = _go_on(interaction, row, req, consent_page)
    else:
        lean.commit()
        if target is None and isinstance(after, dict) and after.get("page") == "device":
            target = url_for("device.verify", user_code=str(after.get("user_code", ""))[:20])
        response = redirect(target or url_for("auth.home"), code=303)
    cookies.set_session_cookie(response, cookie_value)
    return response


def _go_on(
    interaction: Interaction,
    row: lean.Record,
    req: authorize.AuthorizationRequest | None,
    consent_page: ConsentPage | None = None,
) -> Response:
    """The next step of the portal's request (consent, or the code), decided here rather than
    after one more redirect through /authorize/resume: a login is a request shorter. The new
    session and that step are written in one transaction."""
    if req is None:
        try:
            req = authorize.resume(interaction)
        except authorize.RedirectableError as exc:
            lean.commit()
            return to_portal(exc.request, authorize.error_params(exc.request, exc.error))
        use_locale(negotiate(req.ui_locales))
    return _see_other(answer(req, row, interaction, login_just_done=True, consent_page=consent_page))


def _see_other(response: Response) -> Response:
    """A next page of ours after the form POST is a 303 ("GET it", RFC 9110 §15.4.4), as before;
    the redirect to the portal stays the 302 every portal has always received."""
    if response.status_code == 302 and response.location.startswith("/"):
        response.status_code = 303
    return response
