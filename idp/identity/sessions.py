"""Single sign-on browser sessions: an opaque random id in a cookie, the state in the database."""

from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import bindparam, insert, select, update

from .. import lean
from ..clock import now
from ..credentials import SESSION_PREFIX, new_ordered_id, new_ordered_token, token_hash
from ..extensions import db
from ..models import BrowserSession, Citizen
from ..models.citizen import WITHOUT_PASSWORD, CitizenRow
from ..oauth import backchannel

PASSWORD_ACR = "urn:thainguyen:id:loa:1"


def start(
    citizen: Citizen,
    ttl: int,
    amr: list[str],
    acr: str,
    user_agent: str | None,
    ip_address: str | None,
    previous_cookie: str | None = None,
) -> tuple[str, lean.Record]:
    """A new session with a fresh id (the old one, if any, ends: no session fixation). The row is
    written with a Core INSERT in the request's transaction (the unit of work's flush was ≈ 7 % of
    a login's time) and returned as a plain, read-only row with its citizen."""
    sid = new_ordered_id()  # unique, and indexed: sorts by time like the cookie's key
    previous = find(previous_cookie)
    if previous is not None and previous.citizen_pk == citizen.id:
        # The same citizen logging in again (a step-up, prompt=login, max_age): a new cookie but
        # the same `sid`, so the portals of this session stay in it, hear nothing now, and are
        # told when it really ends. The old row keeps a retired sid that is never given out.
        sid = previous.sid
        previous.sid = f"{sid}~{secrets.token_hex(4)}"
        previous.ended_at = now()
        db.session.flush()  # the unique sid is free before the new row takes it
    elif previous is not None:
        end_row(previous)  # another citizen on this browser: the old session's portals are told
    cookie_value = new_ordered_token(SESSION_PREFIX)
    at = now()
    values = {
        "session_hash": token_hash(cookie_value),
        "sid": sid,
        "citizen_pk": citizen.id,
        "auth_time": at,
        "acr": acr,
        "amr": amr,
        "user_agent": (user_agent or "")[:300] or None,
        "ip_address": ip_address,
        "created_at": at,
        "expires_at": at + ttl,
        "ended_at": None,
    }
    lean.execute(_START, values)
    return cookie_value, lean.Record({**values, "citizen": citizen})


_START = insert(BrowserSession.__table__)


# Built once (every page of a login looks the session up): building the SELECT costs more than
# running it.
_FIND = select(BrowserSession).where(BrowserSession.session_hash == bindparam("session_hash"))


def find(cookie_value: str | None) -> BrowserSession | None:
    if not cookie_value or not cookie_value.startswith(SESSION_PREFIX) or len(cookie_value) > 100:
        return None
    row = db.session.scalar(_FIND, {"session_hash": token_hash(cookie_value)})
    return row if row is not None and row.is_live() else None


# The pages of a login only read the session (consent, the /authorize decision, the code): one
# joined SELECT on the lean connection into plain rows, no Session, no identity map (the ORM load
# of a session and its citizen was ≈ 4 % of a login's time; bench/CHANGES.md).
_SESSIONS, _CITIZENS = BrowserSession.__table__, Citizen.__table__
_READ = (
    select(*_SESSIONS.columns, *(c.label(f"c__{c.key}") for c in WITHOUT_PASSWORD))
    .select_from(_SESSIONS.join(_CITIZENS, _CITIZENS.c.id == _SESSIONS.c.citizen_pk))
    .where(_SESSIONS.c.session_hash == bindparam("session_hash"))
)


def _with_citizen(values: dict) -> lean.Record:
    citizen = {key[3:]: values.pop(key) for key in [k for k in values if k.startswith("c__")]}
    values["citizen"] = CitizenRow(citizen)
    return lean.Record(values)


def read(cookie_value: str | None) -> lean.Record | None:
    """The live session of this cookie as a plain, read-only row with its citizen (``.citizen``),
    for the pages that only read it. A change to a session goes through ``find``."""
    if not cookie_value or not cookie_value.startswith(SESSION_PREFIX) or len(cookie_value) > 100:
        return None
    database = current_app.extensions["idp.lean"]
    row = database.read(_READ, {"session_hash": token_hash(cookie_value)}, _with_citizen)
    return row if row is not None and BrowserSession.is_live(row) else None


def end_row(row: BrowserSession) -> None:
    """End one session; the portals that took part in it are told (back-channel logout)."""
    row.ended_at = now()
    backchannel.session_ended(row.sid, row.citizen_pk)


def end(cookie_value: str | None) -> BrowserSession | None:
    row = find(cookie_value)
    if row is not None:
        end_row(row)
    return row


def end_all_for(citizen_pk: int) -> None:
    open_sessions = db.session.scalars(
        select(BrowserSession).where(
            BrowserSession.citizen_pk == citizen_pk,
            BrowserSession.ended_at.is_(None),
            BrowserSession.expires_at > now(),
        )
    ).all()
    for row in open_sessions:
        end_row(row)
    # Expired ones too, without notices: their portals' tokens outlived them anyway.
    db.session.execute(
        update(BrowserSession)
        .where(BrowserSession.citizen_pk == citizen_pk, BrowserSession.ended_at.is_(None))
        .values(ended_at=now())
    )


def live_for(citizen_pk: int) -> list[BrowserSession]:
    """The citizen's sessions that are still open, newest first (the account's devices page)."""
    return list(
        db.session.scalars(
            select(BrowserSession)
            .where(
                BrowserSession.citizen_pk == citizen_pk,
                BrowserSession.ended_at.is_(None),
                BrowserSession.expires_at > now(),
            )
            .order_by(BrowserSession.created_at.desc(), BrowserSession.id.desc())
        )
    )


def end_by_sid(citizen_pk: int, sids: list[str]) -> list[str]:
    """End those of the citizen's open sessions whose ``sid`` is listed; the sids really ended.
    Another citizen's sid is simply not found."""
    ended = [row for row in live_for(citizen_pk) if row.sid in sids]
    for row in ended:
        end_row(row)
    return [row.sid for row in ended]
