"""The second step of a login: an authenticator-app code, a recovery code, or a passkey.

Two ways in:
- after the password, for a citizen who has a second factor (always: see auth.login_submit).
  The browser then holds only a signed note "password accepted for citizen N at T for
  interaction I" in its CSRF-cookie session; no SSO session exists until the second step passes;
- a step-up: a live session below the level a portal's request needs (decided in
  oauth/authorize.needs_step_up). The citizen is asked for the second factor only, never the
  password again.

Wrong answers are counted per citizen (the login throttle's table, under a key of its own), so
guessing an app code from many browsers or addresses meets the same delay and lock.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from flask import Blueprint, Response, redirect, render_template, request, session, url_for

from .. import lean
from ..clock import now
from ..extensions import db
from ..identity import assurance, lockout, passkeys, recovery_codes, sessions, totp
from ..models import Citizen, Interaction
from ..oauth import authorize
from ..oauth.errors import ProtocolError
from ..security import audit
from . import cookies
from .i18n import t, wait_message
from .login_session import finish_login
from .pending import login_in_progress

bp = Blueprint("second_factor", __name__)

PENDING_TTL = 600  # seconds between the password and the second step
CHALLENGE_TTL = 300
MAX_CODE = 64
METHODS = ("totp", "recovery", "passkey")
# Where a step-up that is not for a portal returns: a fixed name, never a URL (no open redirect).
RETURN_TO = {"security": "security_settings.overview"}


@dataclass
class Step:
    citizen: Citizen
    interaction: Interaction | None
    req: authorize.AuthorizationRequest | None
    base_amr: list[str]
    after_password: bool

    @property
    def client_id(self) -> str | None:
        return self.req.client.client_id if self.req else None


def begin(citizen: Citizen, interaction: Interaction | None) -> Response:
    """After the password: remember it was accepted, and ask for the second factor."""
    lean.commit()
    session.clear()  # a fresh CSRF token; nothing of an earlier visit carries over
    session["mfa"] = {"c": citizen.id, "t": now(), "i": interaction.id if interaction else None}
    args = {"interaction": interaction.id} if interaction else {}
    return redirect(url_for("second_factor.page", **args), code=303)


def step_up_url(interaction: Interaction) -> str:
    return url_for("second_factor.page", interaction=interaction.id)


def _step() -> Step:
    interaction, req = login_in_progress()
    pending = session.get("mfa")
    if (
        isinstance(pending, dict)
        and isinstance(pending.get("t"), int)
        and now() - pending["t"] < PENDING_TTL
        and pending.get("i") == (interaction.id if interaction else None)
    ):
        citizen = db.session.get(Citizen, pending.get("c"))
        if citizen is not None and citizen.is_active:
            return Step(citizen, interaction, req, ["pwd"], after_password=True)
    current = sessions.find(cookies.session_cookie())
    if current is not None:
        return Step(current.citizen, interaction, req, list(current.amr), after_password=False)
    raise ProtocolError("invalid_request", "expired", redirect=False)


def throttle_key(citizen: Citizen) -> str:
    """The login throttle's key for wrong second-factor answers of this citizen."""
    return f"second-factor:{citizen.subject}"


def _page(step: Step, error: str | None = None, status: int = 200) -> Response:
    pk = step.citizen.id
    has_totp = totp.is_enrolled(pk)
    response = Response(
        render_template(
            "second_factor.html",
            interaction=step.interaction,
            client=step.req.client if step.req else None,
            has_totp=has_totp,
            has_passkey=bool(passkeys.list_for(pk)),
            recovery_left=recovery_codes.remaining(pk) if has_totp else 0,
            then=request.values.get("then") if request.values.get("then") in RETURN_TO else None,
            error=error,
        ),
        status=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/login/second-factor")
def page() -> Response:
    step = _step()
    if not assurance.has_second_factor(step.citizen.id):
        raise ProtocolError("invalid_request", "expired", redirect=False)
    return _page(step)


@bp.post("/login/second-factor/passkey-options")
def passkey_options() -> Response:
    """The challenge for navigator.credentials.get, limited to this citizen's passkeys."""
    step = _step()
    options, challenge = passkeys.authentication_options(step.citizen.id)
    session["mfa_challenge"] = {"v": base64.b64encode(challenge).decode(), "t": now()}
    response = Response(options, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _take_challenge() -> bytes | None:
    """The passkey challenge, usable once, for a few minutes."""
    saved = session.pop("mfa_challenge", None)
    if (
        not isinstance(saved, dict)
        or not isinstance(saved.get("t"), int)
        or now() - saved["t"] > CHALLENGE_TTL
    ):
        return None
    try:
        return base64.b64decode(saved["v"])
    except (KeyError, ValueError, TypeError):
        return None


def _check(step: Step, method: str) -> tuple[list[str] | None, dict]:
    """(amr of the factor, audit details), amr None if the answer is wrong."""
    pk = step.citizen.id
    if method == "totp":
        ok = totp.verify(pk, request.form.get("code", "")[:MAX_CODE])
        return (["otp"] if ok else None), {}
    if method == "recovery":
        ok = recovery_codes.use(pk, request.form.get("recovery_code", "")[:MAX_CODE])
        return (["otp"] if ok else None), (
            {"recovery_codes_left": recovery_codes.remaining(pk)} if ok else {}
        )
    challenge = _take_challenge()
    if challenge is None:
        return None, {"reason": "no challenge"}
    try:
        verified = passkeys.authenticate(pk, request.form.get("credential", ""), challenge)
    except passkeys.PasskeyError as exc:
        return None, {"reason": str(exc)}
    return verified.amr, {"passkey_id": verified.credential.id}


@bp.post("/login/second-factor")
def submit() -> Response:
    step = _step()
    method = request.form.get("method", "")
    if method not in METHODS:
        return _page(step, t("mfa_failed"), 400)
    key = throttle_key(step.citizen)
    refusal = lockout.check(key)
    if refusal is not None:
        audit.record(
            "second_factor_failed",
            "failure",
            citizen_pk=step.citizen.id,
            client_id=step.client_id,
            method=method,
            reason="throttled",
        )
        db.session.commit()
        return _refused(step, refusal)
    factor_amr, details = _check(step, method)
    if factor_amr is None:
        refusal = lockout.record_failure(key)
        audit.record(
            "second_factor_failed",
            "failure",
            citizen_pk=step.citizen.id,
            client_id=step.client_id,
            method=method,
            **details,
        )
        db.session.commit()
        if refusal is not None and refusal.locked:
            return _refused(step, refusal)
        return _page(step, t("mfa_failed"), 401)
    lockout.record_success(key)
    amr = list(dict.fromkeys([*step.base_amr, *factor_amr, "mfa"]))
    acr = assurance.achieved(amr, step.citizen)
    audit.record(
        "second_factor_succeeded",
        citizen_pk=step.citizen.id,
        client_id=step.client_id,
        method=method,
        step_up=not step.after_password,
        **details,
    )
    audit.record("login_succeeded", citizen_pk=step.citizen.id, client_id=step.client_id, amr=amr, acr=acr)
    then = RETURN_TO.get(request.form.get("then", ""))
    return finish_login(
        step.citizen, step.interaction, amr, acr, url_for(then) if then else None, req=step.req
    )


def _refused(step: Step, refusal) -> Response:
    response = _page(step, wait_message(refusal.retry_after, refusal.locked), 429)
    response.headers["Retry-After"] = str(refusal.retry_after)
    return response
