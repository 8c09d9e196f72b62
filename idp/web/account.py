""""Tài khoản của tôi": the citizen's own pages — profile, devices, connected portals, history.

Every page needs the single sign-on session; every change is a POST with the CSRF token and goes
on the audit trail. The rules live in idp/identity (sessions, consent, history); this module only
turns them into pages. Second factors (/account/security) and the password (/account/password)
have blueprints of their own.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from ..extensions import db
from ..identity import consent, devices, history, sessions
from ..oauth import tokens as token_store
from ..oauth.claims import STANDARD_SCOPES, scope_label
from ..security import audit
from . import cookies
from .i18n import VIETNAM, current_locale, t

bp = Blueprint("account", __name__, url_prefix="/account")

# Claim → the words a citizen reads ("họ và tên", not "given_name"); claims saying the same
# thing to a person share one label.
CLAIM_LABELS = {
    "name": "claim_name",
    "family_name": "claim_name",
    "given_name": "claim_name",
    "birthdate": "claim_birthdate",
    "gender": "claim_gender",
    "locale": "claim_locale",
    "updated_at": "claim_updated_at",
    "email": "claim_email",
    "email_verified": "claim_email",
    "phone_number": "claim_phone",
    "phone_number_verified": "claim_phone",
    "address": "claim_address",
    "citizen_id": "claim_citizen_id",
    "auth_time": "claim_login",
    "acr": "claim_login",
    "amr": "claim_login",
    "sub": "claim_sub",
}
# How a session was opened (RFC 8176 amr values), in words.
AMR_LABELS = {"pwd": "amr_pwd", "otp": "amr_otp", "hwk": "amr_passkey", "swk": "amr_passkey"}


def claim_words(claims) -> list[str]:
    """The claims in words, in the order a person expects (name before phone, identifier last)."""
    order = list(CLAIM_LABELS)
    words = []
    for claim in sorted(claims, key=lambda c: (order.index(c) if c in order else len(order), c)):
        key = CLAIM_LABELS.get(claim)
        word = t(key) if key else claim
        if word not in words:
            words.append(word)
    return words


def scope_words(scopes, locale: str) -> list[str]:
    """What each agreed scope lets a portal know, in the consent page's words and order."""
    known = list(STANDARD_SCOPES)
    ordered = sorted(scopes, key=lambda s: (known.index(s) if s in known else len(known), s))
    return [scope_label(s, locale) for s in ordered]


def _lower_first(words: str) -> str:
    """For a label used inside a sentence ("… nhận: họ tên, ngày sinh")."""
    return words[:1].lower() + words[1:]


def vietnam_time(at: int | None) -> str:
    """'14:05, 25/11/2026': the citizen's clock and the way dates are written in Vietnam."""
    if not at:
        return ""
    return dt.datetime.fromtimestamp(at, VIETNAM).strftime("%H:%M, %d/%m/%Y")


def _page(template: str, current, **context) -> Response:
    return Response(
        render_template(
            template,
            citizen=current.citizen,
            current=current,
            vietnam_time=vietnam_time,
            claim_words=claim_words,
            scope_words=lambda scopes: [_lower_first(w) for w in scope_words(scopes, current_locale())],
            **context,
        )
    )


def _session_or_login():
    """The live SSO session, or a redirect to the login page."""
    current = sessions.find(cookies.session_cookie())
    return current if current is not None else redirect(url_for("auth.login"), code=303)


@bp.get("")
def profile() -> Response:
    current = _session_or_login()
    if isinstance(current, Response):
        return current
    return _page("account/profile.html", current, section="profile")


# --- devices --------------------------------------------------------------------------------
@bp.get("/sessions")
def sessions_page() -> Response:
    current = _session_or_login()
    if isinstance(current, Response):
        return current
    on, unknown = t("device_on"), t("device_unknown")
    rows = [
        {
            "sid": row.sid,
            "device": devices.describe(row.user_agent, on, unknown),
            "mobile": devices.parse(row.user_agent).mobile,
            "ip": row.ip_address,
            "since": vietnam_time(row.created_at),
            "how": [t(AMR_LABELS[m]) for m in row.amr or [] if m in AMR_LABELS],
            "this_device": row.id == current.id,
        }
        for row in sessions.live_for(current.citizen_pk)
    ]
    return _page("account/sessions.html", current, section="sessions", rows=rows)


@bp.post("/sessions/end")
def end_sessions() -> Response:
    """Sign out one device (``sid``), or every other device (``others``)."""
    current = _session_or_login()
    if isinstance(current, Response):
        return current
    if request.form.get("others"):
        sids = [row.sid for row in sessions.live_for(current.citizen_pk) if row.id != current.id]
    else:
        sids = [request.form.get("sid", "")[:64]]
    ended = sessions.end_by_sid(current.citizen_pk, sids)
    for sid in ended:
        # As at logout: that device's access tokens end with it.
        token_store.revoke_session_access_tokens(sid)
    if ended:
        audit.record(
            "sessions_ended",
            citizen_pk=current.citizen_pk,
            count=len(ended),
            this_device=current.sid in ended,
        )
    db.session.commit()
    if current.sid in ended:
        response = redirect(url_for("auth.home"), code=303)
        cookies.clear_session_cookie(response)
        return response
    if ended:
        flash(t("devices_signed_out").format(n=len(ended)))
    return redirect(url_for("account.sessions_page"), code=303)


# --- connected portals and their history ------------------------------------------------------
@bp.get("/portals")
def portals() -> Response:
    current = _session_or_login()
    if isinstance(current, Response):
        return current
    locale = current_locale()
    latest = history.last_release(current.citizen_pk)
    cards = [
        {
            "client_id": portal.client_id,
            "name": portal.name,
            "allowed": scope_words(grant.scopes, locale),
            "since": vietnam_time(grant.granted_at),
            "last": latest.get(portal.client_id),
        }
        for grant, portal in consent.connected_portals(current.citizen_pk)
    ]
    return _page("account/portals.html", current, section="portals", cards=cards)


@bp.post("/portals/withdraw")
def withdraw() -> Response:
    """The citizen stops sharing with a portal: its consent and every token it holds end now."""
    current = _session_or_login()
    if isinstance(current, Response):
        return current
    client_id = request.form.get("client_id", "")[:64]
    name = withdraw_consent(current.citizen_pk, client_id)
    db.session.commit()
    if name:
        flash(t("withdrawn_from").format(portal=name))
    return redirect(url_for("account.portals"), code=303)


def withdraw_consent(citizen_pk: int, client_id: str) -> str | None:
    """Withdraw and audit; the portal's name if something was withdrawn (the caller commits)."""
    names = {portal.client_id: portal.name for _, portal in consent.connected_portals(citizen_pk)}
    if not consent.withdraw(citizen_pk, client_id):
        return None
    revoked = token_store.revoke_for(citizen_pk, client_id)
    audit.record("consent_withdrawn", citizen_pk=citizen_pk, client_id=client_id, tokens_revoked=revoked)
    return names.get(client_id, client_id)


@bp.get("/history")
def history_page() -> Response:
    current = _session_or_login()
    if isinstance(current, Response):
        return current
    portal = request.args.get("portal", "")[:64] or None
    entries = history.entries(current.citizen_pk, limit=200, client_id=portal)
    return _page("account/history.html", current, section="history", entries=entries, portal=portal)
