"""The pages a citizen sees: login, consent, and a small home page."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for

from .. import lean
from ..identity import assurance, citizens, consent, lockout, sessions
from ..models import Interaction
from ..oauth import authorize
from ..oauth.authorize import AuthorizationRequest
from ..oauth.claims import scope_label
from ..oauth.errors import ProtocolError
from ..security import audit
from ..services import services
from . import account, cookies, second_factor
from .i18n import negotiate, other_locale, t, wait_message
from .login_session import finish_login
from .pending import login_in_progress
from .responses import already_answered, to_portal
from .unit_of_work import deferred_writes

bp = Blueprint("auth", __name__)

MAX_IDENTIFIER = 254
MAX_PASSWORD = 1024  # Argon2 takes any length; a cap stops a megabyte "password" costing CPU


@bp.get("/")
def home() -> Response:
    """A friendly landing: what Thai Nguyen ID is, and the way to "Tài khoản của tôi" (/account)."""
    current = sessions.find(cookies.session_cookie())
    return Response(render_template("home.html", citizen=current.citizen if current else None))


@bp.post("/consents/withdraw")
def withdraw_consent() -> Response:
    """The older address of /account/portals/withdraw, kept for pages and bookmarks that use it."""
    return account.withdraw()


@bp.get("/login")
def login() -> Response:
    interaction, req = login_in_progress()
    return _login_form(interaction, req, identifier=req.login_hint if req else "")


def login_page(interaction: Interaction, req: AuthorizationRequest) -> Response:
    """The login form of a portal's request, shown by /authorize itself."""
    return _login_form(interaction, req, identifier=req.login_hint or "")


def _login_form(
    interaction, req, identifier: str = "", error: str | None = None, status: int = 200
) -> Response:
    extra = {}
    if interaction is not None:
        # The other language for this login wherever the form was shown (/authorize or /login).
        extra["lang_url"] = url_for("auth.login", interaction=interaction.id, lang=other_locale())
    return Response(
        render_template(
            "login.html",
            interaction=interaction,
            client=req.client if req else None,
            identifier=identifier or "",
            error=error,
            **extra,
        ),
        status=status,
    )


def _refused(interaction, req, identifier: str, refusal) -> Response:
    """429 with Retry-After, and the time to come back in plain words."""
    response = _login_form(
        interaction, req, identifier, wait_message(refusal.retry_after, refusal.locked), 429
    )
    response.headers["Retry-After"] = str(refusal.retry_after)
    return response


@bp.post("/login")
@deferred_writes
def login_submit() -> Response:
    interaction, req = login_in_progress()
    identifier = request.form.get("identifier", "").strip()[:MAX_IDENTIFIER]
    password = request.form.get("password", "")
    if not identifier or not password or len(password) > MAX_PASSWORD:
        return _login_form(interaction, req, identifier, t("login_missing"), 400)
    client_id = req.client.client_id if req else None
    refusal, failures_on_record = lockout.status(identifier)
    if refusal is not None:
        audit.record("login_failed", "failure", client_id=client_id, reason="throttled")
        lean.commit()
        return _refused(interaction, req, identifier, refusal)
    result = citizens.authenticate(identifier, password, services().passwords)
    citizen = result.citizen
    if citizen is None:
        refusal = lockout.record_failure(identifier)
        audit.record(
            "login_failed", "failure", citizen_pk=result.citizen_pk, client_id=client_id, reason=result.reason
        )
        if refusal is not None and refusal.locked:
            audit.record(
                "account_locked",
                "info",
                citizen_pk=result.citizen_pk,
                client_id=client_id,
                seconds=refusal.retry_after,
            )
        lean.commit()
        if refusal is not None and refusal.locked:
            return _refused(interaction, req, identifier, refusal)
        # One message for every reason: no hint whether the account exists.
        return _login_form(interaction, req, identifier, t("login_failed"), 401)
    # A failure recorded while this password was being checked stays counted: the safe side.
    if failures_on_record and lockout.record_success(identifier):
        audit.record("account_unlocked", "info", citizen_pk=citizen.id, client_id=client_id)
    if assurance.has_second_factor(citizen.id, committed=True):
        # A citizen who has set up a second factor always uses it: the password alone never
        # opens a session for them, whatever the portal asks.
        audit.record("login_password_accepted", "info", citizen_pk=citizen.id, client_id=client_id)
        return second_factor.begin(citizen, interaction)
    audit.record("login_succeeded", citizen_pk=citizen.id, client_id=client_id, amr=["pwd"])
    return finish_login(
        citizen, interaction, ["pwd"], sessions.PASSWORD_ACR, req=req, consent_page=consent_form
    )


def _consent_request():
    """(interaction, request, session) of a pending consent, or a redirect to log in first."""
    interaction, req = login_in_progress()
    if req is None:
        raise ProtocolError("invalid_request", "expired", redirect=False)
    current = sessions.read(cookies.session_cookie())
    if current is None:
        return redirect(url_for("auth.login", interaction=interaction.id), code=303)
    return interaction, req, current


@bp.get("/consent")
def consent_page() -> Response:
    pending = _consent_request()
    if isinstance(pending, Response):
        return pending
    interaction, req, current = pending
    return consent_form(interaction, req, current)


def consent_form(interaction: Interaction, req: AuthorizationRequest, current) -> Response:
    """The consent page of a pending request: what GET /consent shows, and what POST /login
    answers at once when the portal asks for what the citizen has not yet agreed to (as Keycloak
    does: one request fewer, one round trip less on a slow phone)."""
    already = consent.granted_scopes(current.citizen_pk, req.client.client_id)
    locale = negotiate(req.ui_locales)
    items = [(s, scope_label(s, locale), s in already) for s in req.scopes]
    return Response(
        render_template(
            "consent.html",
            interaction=interaction,
            client=req.client,
            items=items,
            citizen=current.citizen,
            # The other language goes to GET /consent, wherever the page was shown.
            lang_url=url_for("auth.consent_page", interaction=interaction.id, lang=other_locale()),
        )
    )


@bp.post("/consent")
@deferred_writes
def consent_submit() -> Response:
    pending = _consent_request()
    if isinstance(pending, Response):
        return pending
    interaction, req, current = pending
    if request.form.get("decision") != "allow":
        audit.record(
            "consent_denied",
            "info",
            citizen_pk=current.citizen_pk,
            client_id=req.client.client_id,
            scopes=req.scopes,
        )
        if not authorize.forget(interaction):
            raise already_answered()
        lean.commit()
        error = ProtocolError("access_denied", "The citizen did not allow sharing.")
        return to_portal(req, authorize.error_params(req, error))
    consent.remember(current.citizen_pk, req.client.client_id, set(req.scopes))
    audit.record(
        "consent_given", citizen_pk=current.citizen_pk, client_id=req.client.client_id, scopes=req.scopes
    )
    if not authorize.forget(interaction):
        raise already_answered()
    code = authorize.issue_code(req, current)
    lean.commit()
    return to_portal(req, authorize.response_params(req, code=code))
