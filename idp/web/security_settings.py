"""/account/security: the citizen's second factors — authenticator app, recovery codes, passkeys.

Rules (in plain words on the page):
- any logged-in citizen may set up a first second factor;
- once a citizen has one, changing factors needs a session that used one (a session from a
  password alone is sent through the second step first);
- removing the authenticator app also asks for a current code or the password, so a session
  left open on a shared computer cannot quietly take the app off.
Recovery codes are shown once, on the page that makes them, and never again.
"""

from __future__ import annotations

import base64
import datetime as dt

from flask import Blueprint, Response, redirect, render_template, request, session, url_for

from ..clock import now
from ..extensions import db
from ..identity import assurance, factor_notices, lockout, passkeys, recovery_codes, sessions, totp
from ..models import BrowserSession, Citizen
from ..notify import notifiers, send_later
from ..security import audit
from ..services import services
from . import cookies, second_factor
from .i18n import VIETNAM, t, wait_message

bp = Blueprint("security_settings", __name__, url_prefix="/account/security")

CHALLENGE_TTL = 300
MAX_FIELD = 1024


@bp.app_template_filter("passkey_date")
def _passkey_date(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, VIETNAM).strftime("%d/%m/%Y")


@bp.after_request
def _no_store(response: Response) -> Response:
    # QR codes, secrets and recovery codes must not stay in a shared computer's cache.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _current() -> BrowserSession | Response:
    current = sessions.find(cookies.session_cookie())
    if current is None:
        return redirect(url_for("auth.login"), code=303)
    return current


def _strong_enough(current: BrowserSession) -> bool:
    """A citizen with a second factor changes factors only from a session that used one."""
    return assurance.rank(current.acr) >= 2 or not assurance.has_second_factor(current.citizen_pk)


def _step_up() -> Response:
    return redirect(url_for("second_factor.page", then="security"), code=303)


def _tell_owner(citizen: Citizen, change: str) -> None:
    """After the commit, in the background (the answer does not wait for a gateway): the owner
    hears of the change on every verified contact, in case it was not them."""
    contacts = (
        ("sms", citizen.phone, citizen.phone_verified),
        ("email", citizen.email, citizen.email_verified),
    )
    for channel, destination, verified in contacts:
        if destination and verified:
            message = factor_notices.factor_changed(channel, destination, change)
            send_later(notifiers().for_channel(channel), message)


def _overview(current: BrowserSession, message: str | None = None, error: str | None = None, status=200):
    pk = current.citizen_pk
    row = totp.find(pk)
    return Response(
        render_template(
            "security.html",
            citizen=current.citizen,
            section="security",  # the "Tài khoản của tôi" menu marks this page
            totp_enrolled=row is not None and row.confirmed_at is not None,
            recovery_left=recovery_codes.remaining(pk),
            passkeys=passkeys.list_for(pk),
            level=assurance.reachable(current.citizen),
            message=message,
            error=error,
        ),
        status=status,
    )


@bp.get("")
def overview() -> Response:
    current = _current()
    if isinstance(current, Response):
        return current
    message = {"passkey_added": t("passkey_added"), "removed": t("factor_removed")}.get(
        request.args.get("done", "")
    )
    return _overview(current, message=message)


# --- authenticator app ------------------------------------------------------------------------
@bp.post("/totp/start")
def totp_start() -> Response:
    current = _current()
    if isinstance(current, Response):
        return current
    if not _strong_enough(current):
        return _step_up()
    if totp.is_enrolled(current.citizen_pk):
        return redirect(url_for(".overview"), code=303)
    totp.begin(current.citizen)
    db.session.commit()
    return redirect(url_for(".totp_setup"), code=303)


def _setup_page(current: BrowserSession, error: str | None = None, status: int = 200) -> Response:
    row = totp.find(current.citizen_pk)
    account = current.citizen.phone or current.citizen.email or current.citizen.full_name
    return Response(
        render_template(
            "totp_setup.html",
            qr=totp.qr_svg(totp.provisioning_uri(row, account)),
            secret=totp.grouped_secret(row),
            error=error,
        ),
        status=status,
    )


@bp.get("/totp")
def totp_setup() -> Response:
    current = _current()
    if isinstance(current, Response):
        return current
    row = totp.find(current.citizen_pk)
    if row is None or row.confirmed_at is not None:
        return redirect(url_for(".overview"), code=303)
    return _setup_page(current)


@bp.post("/totp")
def totp_confirm() -> Response:
    current = _current()
    if isinstance(current, Response):
        return current
    row = totp.find(current.citizen_pk)
    if row is None or row.confirmed_at is not None:
        return redirect(url_for(".overview"), code=303)
    if not totp.confirm(current.citizen_pk, request.form.get("code", "")[:MAX_FIELD]):
        audit.record("totp_confirm_failed", "failure", citizen_pk=current.citizen_pk)
        db.session.commit()
        return _setup_page(current, t("mfa_failed"), 400)
    codes = recovery_codes.generate(current.citizen_pk)
    audit.record("totp_enrolled", citizen_pk=current.citizen_pk, recovery_codes=len(codes))
    db.session.commit()
    _tell_owner(current.citizen, "totp_enrolled")
    return Response(render_template("recovery_codes.html", codes=codes, first=True))


@bp.post("/totp/remove")
def totp_remove() -> Response:
    current = _current()
    if isinstance(current, Response):
        return current
    if not _strong_enough(current):
        return _step_up()
    pk = current.citizen_pk
    # The same per-citizen count as the second login step: this form must not become a way to
    # guess the password or app codes at leisure from an open session.
    key = second_factor.throttle_key(current.citizen)
    refusal = lockout.check(key)
    if refusal is not None:
        response = _overview(current, error=wait_message(refusal.retry_after, refusal.locked), status=429)
        response.headers["Retry-After"] = str(refusal.retry_after)
        return response
    code = request.form.get("code", "")[:MAX_FIELD]
    password = request.form.get("password", "")[:MAX_FIELD]
    proven = bool(code) and totp.verify(pk, code)
    if not proven and password:
        proven, _rehash = services().passwords.verify(current.citizen.password_hash, password)
    if not proven:
        lockout.record_failure(key)
        audit.record("totp_remove_failed", "failure", citizen_pk=pk)
        db.session.commit()
        return _overview(current, error=t("remove_needs_proof"), status=400)
    lockout.record_success(key)
    totp.remove(pk)
    recovery_codes.discard(pk)  # they stand in for the app, and go with it
    audit.record("totp_removed", citizen_pk=pk)
    db.session.commit()
    _tell_owner(current.citizen, "totp_removed")
    return redirect(url_for(".overview", done="removed"), code=303)


# --- recovery codes -----------------------------------------------------------------------------
@bp.post("/recovery-codes")
def recovery_regenerate() -> Response:
    current = _current()
    if isinstance(current, Response):
        return current
    if not totp.is_enrolled(current.citizen_pk):
        return redirect(url_for(".overview"), code=303)
    if not _strong_enough(current):
        return _step_up()
    codes = recovery_codes.generate(current.citizen_pk)
    audit.record("recovery_codes_regenerated", citizen_pk=current.citizen_pk, recovery_codes=len(codes))
    db.session.commit()
    _tell_owner(current.citizen, "recovery_codes_regenerated")
    return Response(render_template("recovery_codes.html", codes=codes, first=False))


# --- passkeys -----------------------------------------------------------------------------------
@bp.post("/passkeys/options")
def passkey_options() -> Response:
    """The options for navigator.credentials.create (the page's script asks for them)."""
    current = _current()
    if isinstance(current, Response):
        return Response('{"error":"login_required"}', status=401, mimetype="application/json")
    if not _strong_enough(current):
        return Response('{"error":"step_up_required"}', status=403, mimetype="application/json")
    options, challenge = passkeys.registration_options(current.citizen)
    session["passkey_challenge"] = {"v": base64.b64encode(challenge).decode(), "t": now()}
    return Response(options, mimetype="application/json")


def _take_challenge() -> bytes | None:
    saved = session.pop("passkey_challenge", None)
    if not isinstance(saved, dict) or not isinstance(saved.get("t"), int):
        return None
    if now() - saved["t"] > CHALLENGE_TTL:
        return None
    try:
        return base64.b64decode(saved["v"])
    except (KeyError, ValueError, TypeError):
        return None


@bp.post("/passkeys")
def passkey_add() -> Response:
    current = _current()
    if isinstance(current, Response):
        return current
    if not _strong_enough(current):
        return _step_up()
    name = request.form.get("name", "")[:MAX_FIELD]
    if not name.strip():
        return _overview(current, error=t("passkey_name_missing"), status=400)
    challenge = _take_challenge()
    try:
        if challenge is None:
            raise passkeys.PasskeyError("no challenge")
        row = passkeys.register(current.citizen, request.form.get("credential", ""), challenge, name)
    except passkeys.PasskeyError as exc:
        audit.record("passkey_add_failed", "failure", citizen_pk=current.citizen_pk, reason=str(exc))
        db.session.commit()
        return _overview(current, error=t("passkey_failed"), status=400)
    audit.record("passkey_added", citizen_pk=current.citizen_pk, passkey_id=row.id, aaguid=row.aaguid)
    db.session.commit()
    _tell_owner(current.citizen, "passkey_added")
    return redirect(url_for(".overview", done="passkey_added"), code=303)


@bp.post("/passkeys/<int:passkey_id>/remove")
def passkey_remove(passkey_id: int) -> Response:
    current = _current()
    if isinstance(current, Response):
        return current
    if not _strong_enough(current):
        return _step_up()
    row = passkeys.remove(current.citizen_pk, passkey_id)
    if row is not None:
        audit.record("passkey_removed", citizen_pk=current.citizen_pk, passkey_id=passkey_id)
    db.session.commit()
    if row is not None:
        _tell_owner(current.citizen, "passkey_removed")
    return redirect(url_for(".overview", done="removed"), code=303)
