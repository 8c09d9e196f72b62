"""A forgotten password (/password/forgot → /password/reset) and a password change while logged
in (/account/password). The rules are in idp/identity/recovery.py.

The reset request answers the same whatever the identifier names, and the code travels in the
background so the answer's timing does not tell either. The identifier is kept in the signed Flask
session between the two pages; the code page refuses every code alike when it names no account.
"""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, session, url_for

from ..clock import now
from ..extensions import db
from ..identity import citizens, lockout, notices, password_policy, recovery, sessions, verification
from ..identity.recovery import PURPOSE
from ..notify import notifiers, send_later
from ..security import audit
from ..services import services
from . import cookies
from .i18n import t
from .pending import pending_login
from .signup import code_error, deliver

bp = Blueprint("recovery", __name__)

RESET = "reset"  # the Flask-session key of a reset in progress
MAX_IDENTIFIER = 254


def _forgot_form(interaction, client, identifier="", error=None, status=200) -> Response:
    return Response(
        render_template(
            "forgot.html", interaction=interaction, client=client, identifier=identifier, error=error
        ),
        status=status,
    )


@bp.get("/password/forgot")
def forgot() -> Response:
    interaction, client = pending_login()
    return _forgot_form(interaction, client)


@bp.post("/password/forgot")
def forgot_submit() -> Response:
    interaction, client = pending_login()
    identifier = request.form.get("identifier", "").strip()[:MAX_IDENTIFIER]
    if not identifier:
        return _forgot_form(interaction, client, error=t("forgot_missing"), status=400)
    target = recovery.reset_target(identifier)
    if target is None:
        audit.record("password_reset_requested", "failure", reason="no_account_or_verified_contact")
        db.session.commit()
    else:
        citizen = target.citizen
        try:
            code = verification.issue(citizen, PURPOSE, target.channel, target.destination)
        except verification.TooSoon:
            # Said nowhere on the page: a wait would reveal that the account exists.
            audit.record("password_reset_requested", "failure", citizen_pk=citizen.id, reason="too_soon")
            db.session.commit()
        else:
            audit.record("password_reset_requested", citizen_pk=citizen.id, channel=target.channel)
            db.session.commit()
            message = notices.code_message(
                PURPOSE, target.channel, target.destination, code, services().settings.verification_code_ttl
            )
            send_later(notifiers().for_channel(target.channel), message)
    session[RESET] = {"identifier": identifier, "tries": 0, "at": now()}
    return redirect(url_for("recovery.reset", interaction=interaction), code=303)


def _reset_form(interaction, client, error=None, status=200) -> Response:
    return Response(
        render_template("reset.html", interaction=interaction, client=client, error=error), status=status
    )


def _pending_reset() -> dict | None:
    state = session.get(RESET)
    return state if isinstance(state, dict) and state.get("identifier") else None


@bp.get("/password/reset")
def reset() -> Response:
    interaction, client = pending_login()
    if _pending_reset() is None:
        return redirect(url_for("recovery.forgot", interaction=interaction), code=303)
    return _reset_form(interaction, client)


def _decoy_check(state: dict, typed: str | None) -> verification.Check:
    """The answers a real check gives, for an identifier with no code behind it."""
    if verification.normalise(typed) is None:
        return verification.Check("malformed")
    if state["at"] + services().settings.verification_code_ttl <= now():
        return verification.Check("expired")
    limit = services().settings.verification_max_attempts
    if state["tries"] >= limit:
        return verification.Check("locked")
    state["tries"] += 1
    left = limit - state["tries"]
    return verification.Check("wrong" if left > 0 else "locked", left)


@bp.post("/password/reset")
def reset_submit() -> Response:
    interaction, client = pending_login()
    state = _pending_reset()
    if state is None:
        return redirect(url_for("recovery.forgot", interaction=interaction), code=303)
    new_password = request.form.get("password", "")[: password_policy.MAX_LENGTH + 1]
    # The policy without the account's details first: refusing "your own phone number" before the
    # code is checked would tell a stranger the account's phone number.
    try:
        password_policy.check(new_password, [state["identifier"]])
    except password_policy.WeakPassword as exc:
        return _reset_form(interaction, client, t(f"pw_{exc.reason}"), 400)
    if request.form.get("password_confirm") != new_password:
        return _reset_form(interaction, client, t("pw_mismatch"), 400)
    citizen = citizens.find_by_identifier(state["identifier"])
    if recovery.reset_target(state["identifier"]) is None:
        citizen = None
    if citizen is None:
        check = _decoy_check(state, request.form.get("code"))
        session[RESET] = state
    else:
        check = verification.check(citizen.id, PURPOSE, request.form.get("code"))
    if not check.ok:
        if check.reason != "malformed":
            audit.record(
                "password_reset_failed",
                "failure",
                citizen_pk=citizen.id if citizen else None,
                reason=check.reason,
            )
        db.session.commit()
        return _reset_form(interaction, client, code_error(check), 400)
    try:
        revoked = recovery.complete_reset(citizen, check.row, new_password, services().passwords)
    except password_policy.WeakPassword as exc:
        db.session.commit()  # the try counted; the code stays usable with a better password
        return _reset_form(interaction, client, t(f"pw_{exc.reason}"), 400)
    except recovery.CodeAlreadyUsed:  # the same code, used a moment ago by another request
        db.session.rollback()
        return _reset_form(interaction, client, t("code_none"), 400)
    audit.record("password_reset", citizen_pk=citizen.id, sessions_ended="all", tokens_revoked=revoked)
    if lockout.record_success(state["identifier"]):  # the owner proved a verified contact
        audit.record("account_unlocked", "info", citizen_pk=citizen.id)
    db.session.commit()
    _tell_owner(citizen)
    session.pop(RESET, None)
    response = redirect(url_for("auth.login", interaction=interaction, done="password_reset"), code=303)
    cookies.clear_session_cookie(response)
    return response


def _tell_owner(citizen) -> None:
    """The password changed: said on every verified contact (best effort, after the commit)."""
    contacts = [
        ("sms", citizen.phone, citizen.phone_verified),
        ("email", citizen.email, citizen.email_verified),
    ]
    for channel, destination, verified in contacts:
        if destination and verified:
            deliver(channel, notices.password_changed(channel, destination), citizen_pk=citizen.id)
    db.session.commit()  # any failure's audit row


# --- change while logged in ---------------------------------------------------------------------
def _change_form(citizen, error=None, notice=None, status=200) -> Response:
    # Inside the "Tài khoản của tôi" layout: its menu stays, and marks this page.
    return Response(
        render_template(
            "change_password.html", citizen=citizen, section="password", error=error, notice=notice
        ),
        status=status,
    )


@bp.get("/account/password")
def change() -> Response:
    current = sessions.find(cookies.session_cookie())
    if current is None:
        return redirect(url_for("auth.login"), code=303)
    return _change_form(current.citizen)


@bp.post("/account/password")
def change_submit() -> Response:
    current = sessions.find(cookies.session_cookie())
    if current is None:
        return redirect(url_for("auth.login"), code=303)
    citizen = current.citizen
    current_password = request.form.get("current_password", "")[:1024]
    new_password = request.form.get("password", "")[: password_policy.MAX_LENGTH + 1]
    if not current_password:
        return _change_form(citizen, t("change_current_missing"), status=400)
    if request.form.get("password_confirm") != new_password:
        return _change_form(citizen, t("pw_mismatch"), status=400)
    try:
        ended = recovery.change_password(
            citizen, current_password, new_password, services().passwords, current.sid
        )
    except recovery.WrongPassword:
        audit.record("password_change_failed", "failure", citizen_pk=citizen.id, reason="wrong_password")
        db.session.commit()
        return _change_form(citizen, t("change_current_wrong"), status=400)
    except password_policy.WeakPassword as exc:
        db.session.rollback()
        return _change_form(citizen, t(f"pw_{exc.reason}"), status=400)
    audit.record("password_changed", citizen_pk=citizen.id, other_sessions_ended=ended)
    db.session.commit()
    _tell_owner(citizen)
    return _change_form(citizen, notice=t("change_done"))
