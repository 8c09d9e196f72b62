"""Pushed Authorization Requests (RFC 9126): store a portal's request, resolve its request_uri once.

The pushed parameters are validated when they arrive, exactly as /authorize would validate them,
so a portal learns about a bad request on its back channel; the browser then carries only an
opaque one-time reference.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import delete

from ..clock import now
from ..credentials import token_hash
from ..extensions import db
from ..models import PushedRequest
from ..services import services
from .errors import BadRequest, ProtocolError

URN_PREFIX = "urn:ietf:params:oauth:request_uri:"
# Kept in the resolved parameters (server-side only: /authorize drops unknown parameters), so that
# a request parked for login still counts as pushed when it is resumed.
MARKER = "_pushed"
_REFERENCE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def push(client_id: str, params: dict[str, str]) -> tuple[str, int]:
    """Store validated parameters; (request_uri, expires_in)."""
    reference = secrets.token_urlsafe(32)
    ttl = services().settings.par_ttl
    db.session.add(
        PushedRequest(
            request_hash=token_hash(reference),
            client_id=client_id,
            params={**params, MARKER: "1"},
            created_at=now(),
            expires_at=now() + ttl,
        )
    )
    return URN_PREFIX + reference, ttl


def resolve(params: dict[str, str]) -> dict[str, str]:
    """The parameters of the request: the browser's, or the pushed ones its request_uri names.

    RFC 9126 §4: only the pushed parameters count, the client_id must match, and a request_uri
    works once.
    """
    request_uri = params.get("request_uri")
    if request_uri is None:
        return params
    if not request_uri.startswith(URN_PREFIX):
        return params  # a request object by reference: refused by the authorization checks
    reference = request_uri[len(URN_PREFIX) :]
    row = None
    if _REFERENCE.match(reference):
        row = db.session.get(PushedRequest, token_hash(reference))
    if row is None or row.expires_at <= now() or row.client_id != params.get("client_id"):
        raise ProtocolError(
            "invalid_request_uri",
            "The request_uri is unknown, used or expired: start again from the portal.",
            redirect=False,
        )
    spent = db.session.execute(delete(PushedRequest).where(PushedRequest.request_hash == row.request_hash))
    if spent.rowcount != 1:  # used at the same moment by another request
        raise BadRequest("The request_uri was already used.")
    return dict(row.params)
