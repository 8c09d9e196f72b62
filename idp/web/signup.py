"""Creating an account (/register), proving its phone with a code (/register/verify), and
verifying a phone or email later while logged in (/verify/phone, /verify/email).

The rules live in idp/identity/registration.py and verification.py; this module reads forms,
calls them, commits, delivers the message and renders the answer. A pending registration is kept
in the signed Flask session: the phone typed, an opaque ticket, and counters that give a refused
registration the same answers (tries left, waits) a real one gets.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, redirect, render_template, request, session, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..clock import now
from ..extensions import db
from ..identity import notices, registration, sessions, verification
from ..models import Citizen
from ..notify import DeliveryFailed, Message, notifiers, send_later
from ..oauth import authorize
from ..security import audit
from ..services import services
from . import cookies
from .i18n import current_locale, t
from .pending import interaction_row, pending_login, return_target, wait_response, wait_words

bp = Blueprint("signup", __name__)
log = logging.getLogger(__name__)

SIGNUP = "signup"  # the Flask-session key of a registration waiting for its phone code
CHANNELS = {"phone": ("sms", "verify_phone"), "email": ("email", "verify_email")}


# --- delivery ------------------------------------------------------------------------------------
def deliver(channel: str, message: Message, **audit_details) -> bool:
    """Hand the message to the configured back-end. False if it failed: the failure is audited
    (the cause names the back-end and an error class, never the recipient or the text)."""
    try:
        notifiers().for_channel(channel).send(message)
        return True
    except DeliveryFailed as exc:
        log.warning("%s delivery failed: %s", channel, exc)
        audit.record("notification_failed", "failure", channel=channel, cause=str(exc), **audit_details)
        return False


def send_code(citizen: Citizen, purpose: str, channel: str, destination: str) -> bool:
    """Deliver a new code, then store it. Delivered first, so that a failed delivery changes
    nothing (the previous code still works, the back-off is not spent) and no write lock is held
    while a mail server or an SMS gateway answers. False if delivery failed. Raises TooSoon."""
    wait = verification.wait_before_send(citizen.id, purpose)
    if wait > 0:
        raise verification.TooSoon(wait)
    code = verification.new_code()
    message = notices.code_message(
        purpose, channel, destination, code, services().settings.verification_code_ttl
    )
    if not deliver(channel, message, citizen_pk=citizen.id, purpose=purpose):
        db.session.commit()  # the failure's audit row
        return False
    verification.issue(citizen, purpose, channel, destination, code)
    audit.record("verification_code_sent", citizen_pk=citizen.id, channel=channel, purpose=purpose)
    db.session.commit()
    return True


# --- registration ---------------------------------------------------------------------------------
def _register_form(interaction, client, values=None, errors=None, status: int = 200) -> Response:
    return Response(
        render_template(
            "register.html",
            interaction=interaction,
            client=client,
            values=values or {},
            errors=errors or {},
        ),
        status=status,
    )


@bp.get("/register")
def register() -> Response:
    interaction, client = pending_login()
    return _register_form(interaction, client)


@bp.post("/register")
def register_submit() -> Response:
    interaction, client = pending_login()
    try:
        application = registration.parse(request.form, current_locale())
    except registration.InvalidApplication as exc:
        values = {k: request.form.get(k, "")[:254] for k in registration.VALUE_FIELDS}
        return _register_form(interaction, client, values, exc.errors, 400)
    passwords = services().passwords
    try:
        outcome = registration.register(application, passwords)
        if outcome.citizen is not None:
            audit.record("citizen_registered", citizen_pk=outcome.citizen.id, channel="web")
        db.session.commit()
    except IntegrityError:  # a twin registration won the race for one of the unique columns
        db.session.rollback()
        outcome = registration.refused(application, registration.holders(application), passwords)
    at = now()
    if outcome.citizen is not None:
        delivered = send_code(outcome.citizen, "verify_phone", "sms", application.phone)
    else:
        # Who: nobody. The page says "a code was sent"; the phone typed learns the truth.
        audit.record("registration_refused", "failure", reason="details_in_use")
        db.session.commit()
        delivered = deliver("sms", notices.already_registered("sms", application.phone))
        db.session.commit()
        for channel, destination in outcome.owners:
            # In the background: one message in the request, as a real registration sends.
            send_later(notifiers().for_channel(channel), notices.already_registered(channel, destination))
    session[SIGNUP] = {
        "phone": application.phone,
        "ticket": outcome.ticket,
        "first": at,
        "last": at if delivered else 0,
        "sends": 1 if delivered else 0,
        "tries": 0,
        "undelivered": not delivered,
    }
    return redirect(url_for("signup.verify_signup", interaction=interaction), code=303)


def _pending_signup():
    """(state, the account it created or None) of the registration in this browser, or None."""
    state = session.get(SIGNUP)
    if not isinstance(state, dict) or "phone" not in state:
        return None
    citizen = db.session.scalar(select(Citizen).where(Citizen.phone == state["phone"]))
    genuine = registration.ticket_matches(citizen, state.get("ticket"))
    return state, (citizen if genuine else None)


def _verify_signup_page(
    interaction, client, state, error: str | None = None, notice: str | None = None, status: int = 200
) -> Response:
    if error is None and notice is None and state.get("undelivered"):
        error = t("code_not_delivered")
    return Response(
        render_template(
            "verify.html",
            interaction=interaction,
            client=client,
            destination=registration.mask_phone(state["phone"]),
            channel="sms",
            verify_action=url_for("signup.verify_signup_submit"),
            resend_action=url_for("signup.resend_signup"),
            error=error,
            notice=notice,
            title=t("verify_phone_title"),
        ),
        status=status,
    )


@bp.get("/register/verify")
def verify_signup() -> Response:
    interaction, client = pending_login()
    pending = _pending_signup()
    if pending is None:
        return redirect(url_for("signup.register", interaction=interaction), code=303)
    return _verify_signup_page(interaction, client, pending[0])


def _decoy_check(state: dict, typed: str | None) -> verification.Check:
    """What a real check would answer, for a registration that created nothing."""
    if verification.normalise(typed) is None:
        return verification.Check("malformed")
    if not state["sends"] or state["last"] + services().settings.verification_code_ttl <= now():
        return verification.Check("none" if not state["sends"] else "expired")
    limit = services().settings.verification_max_attempts
    if state["tries"] >= limit:
        return verification.Check("locked")
    state["tries"] += 1
    left = limit - state["tries"]
    return verification.Check("wrong" if left > 0 else "locked", left)


def code_error(check: verification.Check) -> str:
    if check.reason == "wrong":
        return t("code_wrong").format(n=check.attempts_left)
    return t(f"code_{check.reason}")


@bp.post("/register/verify")
def verify_signup_submit() -> Response:
    interaction, client = pending_login()
    pending = _pending_signup()
    if pending is None:
        return redirect(url_for("signup.register", interaction=interaction), code=303)
    state, citizen = pending
    typed = request.form.get("code")
    if citizen is None:
        check = _decoy_check(state, typed)
        session[SIGNUP] = state
    else:
        check = verification.check(citizen.id, "verify_phone", typed)
    if check.ok and verification.consume(check.row) and check.row.destination == citizen.phone:
        citizen.phone_verified = True
        audit.record("contact_verified", citizen_pk=citizen.id, channel="sms")
        session.pop(SIGNUP, None)
        return _start_session(citizen, interaction)
    if check.reason != "malformed":
        audit.record(
            "verification_failed",
            "failure",
            citizen_pk=citizen.id if citizen else None,
            purpose="verify_phone",
            reason=check.reason,
        )
    db.session.commit()
    return _verify_signup_page(interaction, client, state, error=code_error(check), status=400)


def _start_session(citizen: Citizen, interaction: str | None) -> Response:
    """The new citizen has a password and a proven phone: logged in (loa:1, password), like
    Keycloak after registration. Then the email, if one was given, or back to the portal."""
    cookie_value, row = sessions.start(
        citizen,
        services().settings.session_ttl,
        amr=["pwd"],
        acr=sessions.PASSWORD_ACR,
        user_agent=request.user_agent.string,
        ip_address=request.remote_addr,
        previous_cookie=cookies.session_cookie(),
    )
    pending = interaction_row(interaction)
    if pending is not None:
        authorize.login_done(pending, row.auth_time)
    audit.record("login_succeeded", citizen_pk=citizen.id, amr=["pwd"], via="registration")
    db.session.commit()
    session.clear()  # a new CSRF token for the logged-in browser
    target = return_target(interaction)
    if citizen.email and not citizen.email_verified:
        with_email = send_code(citizen, "verify_email", "email", citizen.email)
        target = url_for("signup.contact", channel="email", interaction=interaction, sent=int(with_email))
    response = redirect(target, code=303)
    cookies.set_session_cookie(response, cookie_value)
    return response


@bp.post("/register/resend")
def resend_signup() -> Response:
    interaction, client = pending_login()
    pending = _pending_signup()
    if pending is None:
        return redirect(url_for("signup.register", interaction=interaction), code=303)
    state, citizen = pending
    at = now()
    if citizen is not None:
        try:
            delivered = send_code(citizen, "verify_phone", "sms", state["phone"])
        except verification.TooSoon as exc:
            page = _verify_signup_page(interaction, client, state, error=wait_words(exc.retry_after))
            return wait_response(page, exc.retry_after)
    else:
        wait = verification.backoff(state["first"], state["sends"], state["last"], at)
        if wait > 0:
            page = _verify_signup_page(interaction, client, state, error=wait_words(wait))
            return wait_response(page, wait)
        delivered = deliver("sms", notices.already_registered("sms", state["phone"]))
        db.session.commit()
        if state["first"] + verification.WINDOW <= at:
            state.update(first=at, sends=0)
        if delivered:
            state.update(sends=state["sends"] + 1, last=at, tries=0)
    state["undelivered"] = not delivered
    session[SIGNUP] = state
    notice = t("code_sent_again") if delivered else None
    return _verify_signup_page(interaction, client, state, notice=notice, status=200 if delivered else 502)


# --- a contact verified later, while logged in ----------------------------------------------------
def _contact_page(current, channel: str, interaction, client, error=None, notice=None, status=200):
    citizen = current.citizen
    destination = citizen.phone if channel == "phone" else citizen.email
    mask = registration.mask_phone if channel == "phone" else registration.mask_email
    return Response(
        render_template(
            "verify.html",
            interaction=interaction,
            client=client,
            destination=mask(destination),
            channel=CHANNELS[channel][0],
            verify_action=url_for("signup.contact_submit", channel=channel),
            resend_action=url_for("signup.contact_send", channel=channel),
            continue_url=return_target(interaction),
            sent=_has_live_code(citizen.id, CHANNELS[channel][1]),
            error=error,
            notice=notice,
            title=t(f"verify_{channel}_title"),
        ),
        status=status,
    )


def _has_live_code(citizen_pk: int, purpose: str) -> bool:
    row = verification.live(citizen_pk, purpose)
    return row is not None and row.expires_at > now()


def _logged_in_contact(channel: str):
    """(session, interaction, client) when ``channel`` names a contact the citizen has and has not
    verified yet; otherwise a redirect (to log in, or onwards)."""
    interaction, client = pending_login()
    if channel not in CHANNELS:
        return redirect(url_for("auth.home"), code=303)
    current = sessions.find(cookies.session_cookie())
    if current is None:
        return redirect(url_for("auth.login", interaction=interaction), code=303)
    citizen = current.citizen
    has = citizen.phone if channel == "phone" else citizen.email
    verified = citizen.phone_verified if channel == "phone" else citizen.email_verified
    if not has or verified:
        return redirect(return_target(interaction), code=303)
    return current, interaction, client


@bp.get("/verify/<channel>")
def contact(channel: str) -> Response:
    found = _logged_in_contact(channel)
    if isinstance(found, Response):
        return found
    current, interaction, client = found
    sent = request.args.get("sent")
    notice = t("code_sent") if sent == "1" else None
    error = t("code_not_delivered") if sent == "0" else None
    return _contact_page(current, channel, interaction, client, error=error, notice=notice)


@bp.post("/verify/<channel>/send")
def contact_send(channel: str) -> Response:
    found = _logged_in_contact(channel)
    if isinstance(found, Response):
        return found
    current, interaction, client = found
    citizen = current.citizen
    kind, purpose = CHANNELS[channel]
    destination = citizen.phone if channel == "phone" else citizen.email
    try:
        delivered = send_code(citizen, purpose, kind, destination)
    except verification.TooSoon as exc:
        page = _contact_page(current, channel, interaction, client, error=wait_words(exc.retry_after))
        return wait_response(page, exc.retry_after)
    if not delivered:
        return _contact_page(current, channel, interaction, client, error=t("code_not_delivered"), status=502)
    return _contact_page(current, channel, interaction, client, notice=t("code_sent"))


@bp.post("/verify/<channel>")
def contact_submit(channel: str) -> Response:
    found = _logged_in_contact(channel)
    if isinstance(found, Response):
        return found
    current, interaction, client = found
    citizen = current.citizen
    kind, purpose = CHANNELS[channel]
    check = verification.check(citizen.id, purpose, request.form.get("code"))
    destination = citizen.phone if channel == "phone" else citizen.email
    if check.ok and verification.consume(check.row) and check.row.destination == destination:
        if channel == "phone":
            citizen.phone_verified = True
        else:
            citizen.email_verified = True
        audit.record("contact_verified", citizen_pk=citizen.id, channel=kind)
        db.session.commit()
        return redirect(return_target(interaction), code=303)
    if check.reason != "malformed":
        audit.record(
            "verification_failed", "failure", citizen_pk=citizen.id, purpose=purpose, reason=check.reason
        )
    db.session.commit()
    return _contact_page(current, channel, interaction, client, error=code_error(check), status=400)
