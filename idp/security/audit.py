"""Recording security events: a row in the append-only audit table and the same event as a JSON
log line. The caller's unit of work commits the row with what it recorded."""

from __future__ import annotations

import getpass
import json
import logging
import re

from flask import g, has_request_context, request
from sqlalchemy import insert

from .. import lean
from ..clock import now
from ..metrics import count_event
from ..models import AuditEvent

log = logging.getLogger("idp.audit")
_INSERT = insert(AuditEvent.__table__)  # built once; the parameters vary

# Belt and braces: a detail whose name looks like a credential is never stored, whatever a caller
# passes by mistake.
_SECRET_NAMES = re.compile(r"password|secret|passphrase|cookie|^code$|^(access_|refresh_|id_)?token$", re.I)


_SECRET_VERDICTS: dict[str, bool] = {}  # detail names come from the code: a small, fixed set


def _is_secret_name(name: str) -> bool:
    verdict = _SECRET_VERDICTS.get(name)
    if verdict is None:  # a search per name per event cost ≈ 5 % of a token request
        verdict = bool(_SECRET_NAMES.search(name))
        if len(_SECRET_VERDICTS) < 1024:  # bounded all the same
            _SECRET_VERDICTS[name] = verdict
    return verdict


def _clean(details: dict) -> dict:
    return {k: ("[redacted]" if _is_secret_name(k) else v) for k, v in details.items()}


def operator() -> str:
    try:
        return f"operator:{getpass.getuser()}"
    except (KeyError, OSError):
        return "operator"


def record(
    event_type: str,
    outcome: str = "success",
    *,
    citizen_pk: int | None = None,
    client_id: str | None = None,
    actor: str | None = None,
    **details,
) -> dict:
    """Write one event in the current transaction (and log it). ``details`` never holds a secret.

    A Core INSERT rather than an ORM object: events are only ever written here and read by the
    CLI, and the unit of work would double the cost of a token request."""
    event = {
        "at": now(),
        "event_type": event_type,
        "outcome": outcome,
        "citizen_pk": citizen_pk,
        "client_id": client_id,
        "details": _clean(details),
        "ip_address": None,
        "user_agent": None,
        "request_id": None,
    }
    hot = lean.current()
    if hot is not None and not hot.page:  # a request answered before Flask (idp/web/hotpath.py)
        event["ip_address"] = hot.ip_address
        event["user_agent"] = hot.user_agent
        event["request_id"] = hot.request_id
        event["actor"] = actor or hot.actor
    elif has_request_context():
        event["ip_address"] = request.remote_addr
        event["user_agent"] = (request.user_agent.string or "")[:300] or None
        event["request_id"] = g.get("request_id")
        portal = request.path.startswith(("/token", "/revoke", "/introspect"))
        event["actor"] = actor or ("portal" if portal else "citizen")
    else:
        event["actor"] = actor or operator()
    lean.execute(_INSERT, event)
    count_event(event_type, event["details"])
    if log.isEnabledFor(logging.INFO):
        log.info(
            json.dumps(
                {
                    "audit": event_type,
                    "outcome": outcome,
                    "at": event["at"],
                    "citizen": citizen_pk,
                    "client_id": client_id,
                    "actor": event["actor"],
                    "ip": event["ip_address"],
                    "request_id": event["request_id"],
                    "details": event["details"],
                },
                ensure_ascii=False,
                default=str,
            )
        )
    return event
