"""Operations endpoints: /healthz (alive), /readyz (able to serve), /metrics (Prometheus)."""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import time

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import text

from ..extensions import db
from ..metrics import exposition
from ..services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is alive and answering. Nothing else is checked: a load balancer restarts on this."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    """Ready for traffic: database reachable, schema at the latest migration, a signing key loaded."""
    checks: dict[str, str] = {}
    started = time.perf_counter()
    try:
        revision = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        checks["database"] = "ok"
        expected = current_app.extensions["idp.migration_head"]
        checks["migrations"] = "ok" if revision == expected else f"at {revision}, expected {expected}"
    except Exception:
        checks["database"] = "unreachable"
        checks["migrations"] = "unknown"
    # On a connection the database has just dropped, the rollback itself raises: the answer must
    # still be this JSON, not the citizen's error page (a load balancer reads it).
    with contextlib.suppress(Exception):
        db.session.rollback()
    try:
        algorithms = services().keyring.active_algorithms()
        checks["signing_keys"] = "ok" if algorithms else "no active key"
    except Exception:
        checks["signing_keys"] = "unreadable"
    ready = all(v == "ok" for v in checks.values())
    response = jsonify(
        status="ready" if ready else "not ready",
        checks=checks,
        seconds=round(time.perf_counter() - started, 4),
    )
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _allowed() -> bool:
    token = services().settings.metrics_token
    if token:
        presented = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(presented.encode(), token.encode())
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.get("/metrics")
def metrics() -> Response:
    if not _allowed():
        response = jsonify(error="unauthorized", error_description="A bearer token is required for /metrics.")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = exposition(current_app)
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
