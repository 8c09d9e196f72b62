"""The client registration endpoint (RFC 7591) and client configuration endpoint (RFC 7592)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from ..extensions import csrf, db
from ..oauth import clients, registration
from ..oauth.clients import InvalidClientMetadata
from ..security import audit

bp = Blueprint("registration", __name__)


def _no_store(response: Response, status: int = 200) -> Response:
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _bearer() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _invalid_token() -> Response:
    # RFC 6750 §3.1; the same answer for an unknown portal as for a wrong token (RFC 7592 §2.1).
    response = jsonify({"error": "invalid_token", "error_description": "The access token is not valid."})
    response.headers["WWW-Authenticate"] = 'Bearer realm="thainguyen-id", error="invalid_token"'
    return _no_store(response, 401)


def _metadata_error(exc: InvalidClientMetadata) -> Response:
    db.session.rollback()  # nothing of a refused request is kept (the token's use is given back)
    return _no_store(jsonify({"error": exc.error, "error_description": str(exc)}), 400)


def _json_body() -> object:
    if request.mimetype != "application/json":
        raise registration.invalid_metadata("send the metadata as application/json")
    body = request.get_json(silent=True)
    if body is None:
        raise registration.invalid_metadata("the request body is not valid JSON")
    return body


@bp.post("/connect/register")
@csrf.exempt
def register() -> Response:
    initial = registration.spend_initial_token(_bearer())
    if initial is None:
        db.session.rollback()
        return _invalid_token()
    try:
        meta = registration.parse(_json_body(), initial.scopes)
        client, secret, registration_token = registration.register(meta, initial)
    except InvalidClientMetadata as exc:
        return _metadata_error(exc)
    db.session.commit()
    body = registration.describe(client)
    body["registration_access_token"] = registration_token
    if secret is not None:
        body["client_secret"] = secret
    return _no_store(jsonify(body), 201)


@bp.route("/connect/register/<client_id>", methods=["GET", "PUT", "DELETE"])
@csrf.exempt
def configuration(client_id: str) -> Response:
    client = registration.find_managed(client_id, _bearer())
    if client is None:
        return _invalid_token()
    if request.method == "GET":
        return _no_store(jsonify(registration.describe(client)))
    if request.method == "DELETE":
        clients.delete(client)
        audit.record("client_deregistered", client_id=client_id)
        db.session.commit()
        return _no_store(Response(), 204)
    try:
        registration.replace(client, _json_body(), _allowed_scopes(client))
    except InvalidClientMetadata as exc:
        return _metadata_error(exc)
    db.session.commit()
    return _no_store(jsonify(registration.describe(client)))


def _allowed_scopes(client) -> list[str]:
    """An update may keep what the portal has; it may not widen it (the operator decided)."""
    return list(client.scopes)
