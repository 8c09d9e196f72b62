"""Access history: which portal received which of the citizen's claims, and when.

Recorded on the token and userinfo hot paths, so recording is one audit INSERT and nothing else
(no SELECT: the portal's name is looked up only when the citizen reads the history). Read back from
the audit trail with the consents given and withdrawn, newest first, for the account pages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from ..clock import now
from ..extensions import db
from ..models import AuditEvent, Client
from ..security import audit

RELEASED = "claims_released"
EVENTS = (RELEASED, "consent_given", "consent_withdrawn")
# Protocol plumbing of an ID token, not facts about the citizen: never shown as "shared".
_PLUMBING = frozenset({"iss", "aud", "exp", "iat", "nbf", "nonce", "azp", "at_hash", "c_hash", "sid", "jti"})


# A portal reading the same claims again and again (userinfo on every page view) is one entry per
# REPEAT_WINDOW, per worker process: the citizen's history stays readable, and a repeated userinfo
# costs no write. Remembered in memory only, so it never costs a SELECT.
REPEAT_WINDOW = 300
_MAX_REMEMBERED = 50_000
_recent: dict[tuple, int] = {}


def record_release(citizen_pk: int | None, client_id: str, claims: Iterable[str], via: str) -> None:
    """Note that ``client_id`` received these claims of the citizen (``via``: id_token | userinfo).

    Goes into the caller's transaction."""
    names = sorted(c for c in claims if c not in _PLUMBING)
    if citizen_pk is None or not names:
        return
    key, at = (citizen_pk, client_id, via, tuple(names)), now()
    last = _recent.get(key)
    if last is not None and 0 <= at - last < REPEAT_WINDOW:
        return
    if len(_recent) >= _MAX_REMEMBERED:
        _recent.clear()  # forgetting only costs a repeated entry
    _recent[key] = at
    audit.record(RELEASED, citizen_pk=citizen_pk, client_id=client_id, claims=names, via=via)


@dataclass(frozen=True)
class Entry:
    at: int
    kind: str  # one of EVENTS
    client_id: str | None
    portal_name: str | None  # None when the portal has since been removed
    claims: tuple[str, ...]  # claims released (claims_released) or scopes agreed (consent_given)
    via: str | None


def entries(citizen_pk: int, limit: int = 100, client_id: str | None = None) -> list[Entry]:
    """The latest events of the citizen's access history, newest first."""
    query = (
        select(AuditEvent.at, AuditEvent.event_type, AuditEvent.client_id, AuditEvent.details, Client.name)
        .outerjoin(Client, Client.client_id == AuditEvent.client_id)
        .where(AuditEvent.citizen_pk == citizen_pk, AuditEvent.event_type.in_(EVENTS))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    if client_id is not None:
        query = query.where(AuditEvent.client_id == client_id)
    result = []
    for at, kind, event_client, details, name in db.session.execute(query):
        details = details or {}
        items = details.get("claims") if kind == RELEASED else details.get("scopes")
        result.append(Entry(at, kind, event_client, name, tuple(items or ()), details.get("via")))
    return result


def last_release(citizen_pk: int) -> dict[str, Entry]:
    """The latest release to each portal (for the connected-portals page)."""
    latest: dict[str, Entry] = {}
    for entry in entries(citizen_pk, limit=500):
        if entry.kind == RELEASED and entry.client_id and entry.client_id not in latest:
            latest[entry.client_id] = entry
    return latest
