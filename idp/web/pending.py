"""What the sign-up and recovery pages share: the portal login they interrupt, the way back to it,
and the "wait a moment" answer.

A citizen who creates an account or resets a password in the middle of a portal's login carries
the pending request's id (``interaction``) from page to page, and goes back to it at the end.
"""

from __future__ import annotations

from flask import Response, request, url_for

from ..models import Client, Interaction
from ..oauth import authorize
from ..oauth.errors import ProtocolError
from .i18n import negotiate, t, use_locale

MAX_ID = 64


def interaction_row(raw: str | None) -> Interaction | None:
    return authorize.find_interaction((raw or "")[:MAX_ID] or None)


def login_in_progress() -> tuple[Interaction | None, authorize.AuthorizationRequest | None]:
    """(interaction, request) of the portal login the login pages serve, or (None, None) without
    one. Unlike pending_login, an expired or no longer valid request is an error page: the login
    and second-factor steps exist only to finish it."""
    raw = request.values.get("interaction")
    if raw is None:
        return None, None
    interaction, portal = authorize.find_interaction_and_portal(raw)
    if interaction is None:
        raise ProtocolError("invalid_request", "expired", redirect=False)
    try:
        req = authorize.resume(interaction, portal)
    except authorize.RedirectableError as exc:
        raise ProtocolError(exc.error.error, exc.error.description, redirect=False) from None
    use_locale(negotiate(req.ui_locales))
    return interaction, req


def pending_login(raw: str | None = None) -> tuple[str | None, Client | None]:
    """(id, portal) of the pending login this page belongs to, or (None, None). The page takes the
    language the portal asked for (ui_locales). An expired request is dropped, not an error:
    the account or the new password is worth finishing even if the portal's request timed out."""
    raw = raw if raw is not None else request.values.get("interaction")
    interaction = interaction_row(raw)
    if interaction is None:
        return None, None
    try:
        req = authorize.resume(interaction)
    except authorize.RedirectableError:
        return None, None
    use_locale(negotiate(req.ui_locales))
    return interaction.id, req.client


def return_target(interaction_id: str | None) -> str:
    """Back to the portal's pending request, or to the account home."""
    if interaction_id and interaction_row(interaction_id) is not None:
        return url_for("oidc.resume", interaction=interaction_id)
    return url_for("auth.home")


def wait_words(seconds: int) -> str:
    if seconds < 120:
        return t("code_wait_seconds").format(n=seconds)
    return t("code_wait_minutes").format(n=-(-seconds // 60))


def wait_response(response: Response, seconds: int) -> Response:
    """429 with Retry-After (RFC 6585 §4); the page already says how long in words."""
    response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    return response
