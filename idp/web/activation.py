"""/activate: a citizen whose account a community team created types the paper code and chooses a
password. The rules are in idp/identity/activation.py."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for

from ..extensions import db
from ..identity import activation
from ..security import audit
from ..services import services
from .i18n import t

bp = Blueprint("activation", __name__)

MAX_FIELD = 64
MAX_PASSWORD = 1024  # as at login: a longer "password" is refused before any hashing


def _form(citizen_id: str = "", error: str | None = None, status: int = 200) -> Response:
    return Response(render_template("activate.html", citizen_id=citizen_id, error=error), status=status)


@bp.get("/activate")
def activate_page() -> Response:
    return _form(request.args.get("cccd", "")[:MAX_FIELD])


@bp.post("/activate")
def activate_submit() -> Response:
    citizen_id = request.form.get("citizen_id", "").strip()[:MAX_FIELD]
    code = request.form.get("code", "")[:MAX_FIELD]
    password = request.form.get("password", "")
    if not citizen_id or not code or not password or len(password) > MAX_PASSWORD:
        return _form(citizen_id, t("activate_missing"), 400)
    settings = services().settings
    outcome = activation.activate(
        citizen_id, code, password, services().passwords, settings.activation_max_attempts
    )
    if outcome.reason == "ok":
        audit.record("account_activated", citizen_pk=outcome.citizen_pk)
        db.session.commit()
        return redirect(url_for("auth.login", activated=1), code=303)
    if outcome.reason == "weak_password":
        db.session.rollback()
        return _form(citizen_id, t(f"activate_weak_{outcome.weakness}"), 400)
    # A wrong code is counted on the code's row: commit that, and the failure's audit event.
    audit.record("activation_failed", "failure", citizen_pk=outcome.citizen_pk, reason=outcome.reason)
    db.session.commit()
    dead = outcome.reason in ("too_many_attempts", "expired")
    return _form(citizen_id, t("activate_dead" if dead else "activate_failed"), 400)
