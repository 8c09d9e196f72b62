"""The pushed authorization request endpoint (RFC 9126 §2)."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, current_app, jsonify, request

from ..extensions import csrf, db
from ..oauth import authorize, pushed
from ..oauth.errors import ProtocolError
from ..oauth.grants import CLIENT_AUTH_METHODS
from ..security import audit
from .params import malformed_basic_credentials, multi_params

bp = Blueprint("par", __name__)


def _error(status: int, error: str, description: str) -> Response:
    db.session.rollback()
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="thainguyen-id"'
    return response


@bp.post("/par")
@csrf.exempt
def push() -> Response:
    if malformed_basic_credentials():
        return _error(401, "invalid_client", "The Basic credentials are malformed.")
    server = current_app.extensions["idp.oauth"]
    try:
        client = server.authenticate_client(
            server.create_oauth2_request(request), [*CLIENT_AUTH_METHODS, "none"], endpoint="par"
        )
    except OAuth2Error as exc:
        return _error(exc.status_code, exc.error, exc.description or "Client authentication failed.")
    multi = multi_params()
    if "request_uri" in multi:
        return _error(400, "invalid_request", "request_uri cannot be pushed (RFC 9126 §2.1).")
    claimed = multi.get("client_id", [client.client_id])
    if claimed != [client.client_id]:
        return _error(400, "invalid_request", "client_id differs from the authenticated portal.")
    try:
        params = authorize.single_params(multi)
        req = authorize.validate_params({**params, "client_id": client.client_id, pushed.MARKER: "1"})
    except authorize.RedirectableError as exc:
        return _error(400, exc.error.error, exc.error.description)
    except ProtocolError as exc:
        return _error(400, exc.error, exc.description)
    request_uri, expires_in = pushed.push(client.client_id, req.params)
    audit.record("authorization_request_pushed", client_id=client.client_id, scope=req.scope)
    db.session.commit()
    response = jsonify(request_uri=request_uri, expires_in=expires_in)
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response
