"""OpenID Connect Back-Channel Logout 1.0: when a session ends, every portal that took part in it
(received tokens or a code under its `sid`) and registered a backchannel_logout_uri is sent a
signed logout token.

Notices are written in the session-ending transaction (LogoutDelivery, an outbox), then sent by a
short-lived thread after the response, so a citizen's logout never waits on a portal's server.
A failed delivery is retried with back-off (RETRY_DELAYS) by the next such thread on any instance,
or by `idp logout deliver`; each attempt is audited.
"""

from __future__ import annotations

import logging
import secrets
import threading

import requests
from flask import Flask, current_app
from sqlalchemy import select, union, update

from ..clock import now
from ..extensions import db
from ..models import AuthorizationCode, Client, LogoutDelivery, Token
from ..security import audit
from ..services import services
from . import signer, subjects, tokens

log = logging.getLogger(__name__)

EVENT = "http://schemas.openid.net/event/backchannel-logout"
TIMEOUT = 5
LOGOUT_TOKEN_TTL = 120
# Seconds to wait before each retry; after the last one the notice is abandoned (and audited).
RETRY_DELAYS = (10, 60, 300, 1800, 7200)
# While one sender works on a notice, others leave it alone this long.
LEASE = 60
BATCH = 20


# --- when a session ends --------------------------------------------------------------------
def participants(sid: str, uri_column=Client.backchannel_logout_uri) -> list[Client]:
    """The portals that took part in session ``sid`` (a code or tokens under it) and registered
    the logout URI named by ``uri_column``."""
    client_ids = union(
        select(Token.client_id).where(Token.sid == sid),
        select(AuthorizationCode.client_id).where(AuthorizationCode.sid == sid),
    ).subquery()
    return list(
        db.session.scalars(
            select(Client)
            .where(Client.client_id.in_(select(client_ids.c.client_id)), uri_column.is_not(None))
            .order_by(Client.client_id)
        )
    )


def session_ended(sid: str | None, citizen_pk: int | None) -> int:
    """Owe every participating portal a logout notice (same transaction as the session's end)."""
    if not sid:
        return 0
    portals = participants(sid)
    for portal in portals:
        db.session.add(
            LogoutDelivery(client_id=portal.client_id, citizen_pk=citizen_pk, sid=sid, next_attempt_at=now())
        )
    if portals:
        _kick_after_request()
    return len(portals)


def _kick_after_request() -> None:
    """Send the notices once the request that ended the session has committed."""
    from flask import after_this_request, has_request_context

    if not has_request_context():
        return

    app = current_app._get_current_object()

    @after_this_request
    def _send(response):
        kick(app)
        return response


def kick(app: Flask) -> threading.Thread:
    thread = threading.Thread(target=_deliver_in, args=(app,), name="backchannel-logout", daemon=True)
    thread.start()
    return thread


def _deliver_in(app: Flask) -> None:
    with app.app_context():
        try:
            deliver_due()
        except Exception:  # a sender thread must never take anything down with it
            log.exception("back-channel logout delivery failed")
        finally:
            db.session.remove()


# --- the logout token -----------------------------------------------------------------------
def logout_token(client: Client, subject: str | None, sid: str) -> str:
    """§2.4: iss, aud, iat, exp, jti, events, and sid (plus sub); never a nonce."""
    settings = services().settings
    key = tokens.signing_key_for(client)
    at = now()
    claims = {
        "iss": settings.issuer,
        "aud": client.client_id,
        "iat": at,
        "exp": at + LOGOUT_TOKEN_TTL,
        "jti": secrets.token_urlsafe(16),
        "events": {EVENT: {}},
        "sid": sid,
    }
    if subject is not None:
        claims["sub"] = subject
    return signer.sign(claims, key, typ="logout+jwt")


# --- sending --------------------------------------------------------------------------------
def _claim(delivery_id: int) -> bool:
    """Take a notice for LEASE seconds; False if another sender has it (any instance)."""
    taken = db.session.execute(
        update(LogoutDelivery)
        .where(
            LogoutDelivery.id == delivery_id,
            LogoutDelivery.delivered_at.is_(None),
            LogoutDelivery.abandoned_at.is_(None),
            LogoutDelivery.next_attempt_at <= now(),
        )
        .values(next_attempt_at=now() + LEASE)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return taken.rowcount == 1


def deliver_due(limit: int = BATCH) -> dict[str, int]:
    """Send the notices that are due; {"delivered": n, "failed": n, "abandoned": n}."""
    counts = {"delivered": 0, "failed": 0, "abandoned": 0}
    due = db.session.scalars(
        select(LogoutDelivery.id)
        .where(
            LogoutDelivery.delivered_at.is_(None),
            LogoutDelivery.abandoned_at.is_(None),
            LogoutDelivery.next_attempt_at <= now(),
        )
        .order_by(LogoutDelivery.next_attempt_at)
        .limit(limit)
    ).all()
    for delivery_id in due:
        if not _claim(delivery_id):
            continue
        counts[_send_one(db.session.get(LogoutDelivery, delivery_id))] += 1
        db.session.commit()
    return counts


def _send_one(delivery: LogoutDelivery) -> str:
    client = db.session.scalar(select(Client).where(Client.client_id == delivery.client_id))
    if client is None or not client.backchannel_logout_uri:
        delivery.abandoned_at = now()
        delivery.last_error = "the portal no longer exists or has no back-channel logout URI"
        return "abandoned"
    from ..models import Citizen

    citizen = db.session.get(Citizen, delivery.citizen_pk) if delivery.citizen_pk else None
    subject = subjects.subject_for(client, citizen.subject) if citizen is not None else None
    error = _post(client.backchannel_logout_uri, logout_token(client, subject, delivery.sid))
    delivery.attempts += 1
    if error is None:
        delivery.delivered_at = now()
        audit.record(
            "backchannel_logout_delivered",
            citizen_pk=delivery.citizen_pk,
            client_id=client.client_id,
            sid=delivery.sid,
            attempt=delivery.attempts,
        )
        return "delivered"
    delivery.last_error = error[:200]
    if delivery.attempts > len(RETRY_DELAYS):
        delivery.abandoned_at = now()
        outcome = "abandoned"
    else:
        delivery.next_attempt_at = now() + RETRY_DELAYS[delivery.attempts - 1]
        outcome = "failed"
    audit.record(
        "backchannel_logout_failed",
        "failure",
        citizen_pk=delivery.citizen_pk,
        client_id=client.client_id,
        sid=delivery.sid,
        attempt=delivery.attempts,
        error=error[:200],
        gave_up=outcome == "abandoned",
    )
    return outcome


def _post(uri: str, token: str) -> str | None:
    """None when the portal accepted the notice (§2.8: 200 or 204), else why not."""
    try:
        response = requests.post(uri, data={"logout_token": token}, timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        return f"{type(exc).__name__}"
    if response.status_code in (200, 204):
        return None
    return f"HTTP {response.status_code}"
