"""The device flow's two sides: the kiosk's device authorization endpoint (RFC 8628 §3.1) and the
page where the citizen, on their own phone, types the code the kiosk shows and allows it (§3.3)."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from ..extensions import csrf, db
from ..identity import consent, sessions
from ..models import Client
from ..oauth import device
from ..oauth.claims import scope_label
from ..oauth.grants import CLIENT_AUTH_METHODS
from . import cookies
from .i18n import current_locale, t
from .params import malformed_basic_credentials

bp = Blueprint("device", __name__)


def _json_error(status: int, error: str, description: str) -> Response:
    db.session.rollback()
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/device_authorization")
@csrf.exempt
def authorize_device() -> Response:
    if malformed_basic_credentials():
        return _json_error(401, "invalid_client", "The Basic credentials are malformed.")
    server = current_app.extensions["idp.oauth"]
    try:
        client = server.authenticate_client(
            server.create_oauth2_request(request),
            [*CLIENT_AUTH_METHODS, "none"],
            endpoint="device_authorization",
        )
        answer = device.start(client, request.form.get("scope"))
    except OAuth2Error as exc:
        return _json_error(exc.status_code, exc.error, exc.description or "Client authentication failed.")
    except device.DeviceRequestError as exc:
        return _json_error(exc.status, exc.error, exc.description)
    db.session.commit()
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(state: str, status: int = 200, **context) -> Response:
    return Response(render_template("device.html", state=state, **context), status=status)


@bp.get("/device")
def verify() -> Response:
    """Type the code (or arrive with it from the kiosk's QR code), log in, then confirm."""
    typed = request.args.get("user_code")
    if typed is None:
        return _page("enter")
    current = sessions.find(cookies.session_cookie())
    if current is None:
        # Back here after the login (a fixed page: never a URL from the request).
        session["after_login"] = {"page": "device", "user_code": typed[:20]}
        return redirect(url_for("auth.login"), code=303)
    row = device.pending(typed)
    if row is None:
        return _page("enter", 400, error=t("device_code_unknown"), typed=typed[:20])
    portal = db.session.scalar(db.select(Client).where(Client.client_id == row.client_id))
    items = [scope_label(s, current_locale()) for s in row.scope.split()]
    return _page(
        "confirm",
        portal=portal,
        items=items,
        user_code=device.display(device.normalise_user_code(typed)),
        citizen=current.citizen,
    )


@bp.post("/device")
def decide() -> Response:
    current = sessions.find(cookies.session_cookie())
    if current is None:
        return redirect(url_for("auth.login"), code=303)
    row = device.pending(request.form.get("user_code"))
    if row is None:
        return _page("enter", 400, error=t("device_code_unknown"))
    allow = request.form.get("decision") == "allow"
    device.decide(row, current, allow)
    if allow:
        consent.remember(current.citizen_pk, row.client_id, set(row.scope.split()))
    db.session.commit()
    return _page("done" if allow else "denied")
