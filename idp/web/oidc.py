"""The protocol endpoints: discovery, JWKS, authorize, token, userinfo, revoke, introspect, logout."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from authlib.integrations.flask_oauth2 import AuthorizationServer
from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
)

from ..extensions import csrf, db
from ..identity import history, sessions
from ..oauth import authorize, dpop, encryption, frontchannel, logout, subjects
from ..oauth import tokens as token_store
from ..oauth.assertions import SIGNED_ALGS
from ..oauth.claims import userinfo as userinfo_claims
from ..oauth.errors import ProtocolError
from ..security import audit
from ..security.headers import CSP
from ..services import services
from . import cookies
from .auth import login_page
from .i18n import negotiate, use_locale
from .params import malformed_basic_credentials, multi_params, repeated_parameter
from .responses import answer, to_portal
from .unit_of_work import deferred_writes

bp = Blueprint("oidc", __name__)


def _static(body: bytes, etag: str, max_age: int) -> Response:
    # `etag` is the quoted header value; werkzeug's ETags compares unquoted tags.
    if request.if_none_match.contains_weak(etag.strip('"')):  # If-None-Match compares weakly
        response = Response(status=304)
    else:
        response = Response(body, mimetype="application/json")
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/.well-known/openid-configuration")
def discovery() -> Response:
    body, etag = current_app.extensions["idp.discovery"]
    return _static(body, etag, 3600)


@bp.get("/jwks.json")
def jwks() -> Response:
    body, etag = services().keyring.jwks()
    # A next key is published for longer than this before it signs (lifecycle.Policy), so a
    # portal's cached JWKS always knows the key of a fresh signature.
    return _static(body, etag, services().settings.jwks_max_age)


# --- authorization --------------------------------------------------------------------------
@bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt  # a portal's form post starts a login; it changes nothing by itself
@deferred_writes
def authorization() -> Response:
    try:
        req = authorize.validate(multi_params())
    except authorize.RedirectableError as exc:
        return to_portal(exc.request, authorize.error_params(exc.request, exc.error))
    use_locale(negotiate(req.ui_locales))
    # A citizen who must log in gets the form at once (as Keycloak does): one redirect fewer.
    return answer(req, sessions.read(cookies.session_cookie()), login_page=login_page)


@bp.get("/authorize/resume")
def resume() -> Response:
    """Where the login and consent pages send the browser back to."""
    interaction, portal = authorize.find_interaction_and_portal(request.args.get("interaction"))
    if interaction is None:
        raise ProtocolError("invalid_request", "expired", redirect=False)
    try:
        req = authorize.resume(interaction, portal)
    except authorize.RedirectableError as exc:
        return to_portal(exc.request, authorize.error_params(exc.request, exc.error))
    use_locale(negotiate(req.ui_locales))
    session = sessions.read(cookies.session_cookie())
    just_logged_in = (
        session is not None
        and interaction.login_done_at is not None
        and session.auth_time >= interaction.login_done_at
    )
    return answer(req, session, interaction, login_just_done=just_logged_in)


# --- token, revocation, introspection (Authlib) ----------------------------------------------
# The ordinary valid token and introspection requests never reach these views: idp/web/hotpath.py
# answers them before Flask and passes everything else on to them.
def _authlib(call: Callable[[AuthorizationServer], Response]) -> Response:
    """Run an Authlib endpoint. Commit what a successful call wrote; a failed call writes nothing."""
    repeated = repeated_parameter()
    if malformed_basic_credentials():
        response = jsonify(error="invalid_client", error_description="The Basic credentials are malformed.")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Basic realm="thainguyen-id"'
    elif repeated:
        response = jsonify(
            error="invalid_request", error_description=f"The '{repeated}' parameter is repeated."
        )
        response.status_code = 400
    else:
        response = call(current_app.extensions["idp.oauth"])
    if response.status_code == 200:
        db.session.commit()
    else:
        db.session.rollback()
        # Failures are kept too (a portal's secret being guessed shows here); never the secret.
        body = response.get_json(silent=True) or {}
        audit.record(
            "token_request_failed",
            "failure",
            client_id=_claimed_client_id(),
            endpoint=request.path,
            error=body.get("error"),
            grant_type=request.form.get("grant_type"),
        )
        db.session.commit()
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _claimed_client_id() -> str | None:
    """The client_id the caller claims (not yet authenticated), for the audit trail only."""
    try:
        auth = request.authorization
    except ValueError:  # an undecodable header: nothing is claimed
        auth = None
    claimed = auth.username if auth and auth.type == "basic" else request.form.get("client_id")
    return claimed[:64] if isinstance(claimed, str) else None


@bp.post("/token")
@csrf.exempt
def token() -> Response:
    try:
        proof_header = dpop.header_value(request.headers)
        proof = None
        if proof_header is not None:
            proof = dpop.verify(proof_header, "POST", "/token", need_nonce=services().settings.dpop_nonce)
    except dpop.ProofError as exc:
        return _dpop_refused(exc)
    g.dpop_jkt = proof.jkt if proof else None
    response = _authlib(lambda server: server.create_token_response())
    if proof is not None:
        response.headers[dpop.NONCE_HEADER] = dpop.current_nonce()
    return response


def _dpop_refused(exc: dpop.ProofError) -> Response:
    """400 with the DPoP error; the nonce to use when that is what was missing (RFC 9449 §8)."""
    db.session.rollback()
    audit.record(
        "token_request_failed",
        "failure",
        client_id=_claimed_client_id(),
        endpoint=request.path,
        error=exc.error,
        grant_type=request.form.get("grant_type"),
    )
    db.session.commit()
    response = jsonify(error=exc.error, error_description=exc.description)
    response.status_code = 400
    response.headers["Cache-Control"] = "no-store"
    response.headers[dpop.NONCE_HEADER] = dpop.current_nonce()
    return response


@bp.post("/revoke")
@csrf.exempt
def revoke() -> Response:
    return _authlib(lambda server: server.create_endpoint_response("revocation"))


@bp.post("/introspect")
@csrf.exempt
def introspect() -> Response:
    return _authlib(lambda server: server.create_endpoint_response("introspection"))


# --- userinfo (OIDC Core §5.3, RFC 6750) -----------------------------------------------------
# A GET with a live token is answered by the hot path (idp/oauth/hotpath.py userinfo) with the
# same rules and access-history row: a rule added here goes there too.
def _bearer_error(
    status: int, error: str | None, description: str | None, scheme: str = "Bearer"
) -> Response:
    response = jsonify({"error": error, "error_description": description} if error else {})
    response.status_code = status
    challenge = f'{scheme} realm="thainguyen-id"'
    if scheme == "DPoP":
        challenge += f', algs="{" ".join(SIGNED_ALGS)}"'
    if error:
        challenge += f', error="{error}", error_description="{description}"'
    response.headers["WWW-Authenticate"] = challenge
    return response


def _presented_token() -> tuple[str | None, int]:
    """(token, number of places it was presented in). RFC 6750 §2: exactly one method."""
    found = []
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("bearer", "dpop") and value.strip():
            g.token_scheme = "DPoP" if scheme.lower() == "dpop" else "Bearer"
            found.append(value.strip())
        else:
            found.append(None)
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        found += request.form.getlist("access_token")
    return (found[0] if len(found) == 1 else None), len(found)


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo() -> Response:
    value, places = _presented_token()
    if places == 0:
        return _bearer_error(401, None, None)
    if value is None:
        return _bearer_error(400, "invalid_request", "Send exactly one Bearer access token.")
    row = token_store.find(value, kind="access")
    if row is None or not row.is_live() or row.citizen is None or not row.citizen.is_active:
        return _bearer_error(401, "invalid_token", "The access token is not valid.")
    refused = _check_sender(row, value)
    if refused is not None:
        return refused
    scopes = set(row.scope.split())
    if "openid" not in scopes:
        return _bearer_error(403, "insufficient_scope", "The access token lacks the openid scope.")
    claims = userinfo_claims(row.citizen, scopes, row.subject)
    portal = authorize.find_client(row.client_id)
    if portal is None:
        return _bearer_error(401, "invalid_token", "The access token is not valid.")
    history.record_release(row.citizen_pk, row.client_id, claims, "userinfo")  # the access history
    db.session.commit()
    if portal.userinfo_signed_response_alg or portal.userinfo_encrypted_response_alg:
        body, mimetype = encryption.userinfo_body(portal, claims)  # OIDC Core §5.3.2
        response = Response(body, mimetype=mimetype)
    else:
        response = jsonify(claims)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _check_sender(row, value: str) -> Response | None:
    """RFC 9449 §7: a DPoP-bound token needs the DPoP scheme and a proof by its key; a bearer
    token may not pretend to be DPoP-bound."""
    scheme = g.get("token_scheme", "Bearer")
    if row.dpop_jkt is None:
        if scheme == "DPoP":
            return _bearer_error(401, "invalid_token", "This access token is not DPoP-bound.", "DPoP")
        return None
    if scheme != "DPoP":
        return _bearer_error(
            401, "invalid_token", "This access token is DPoP-bound: use the DPoP scheme.", "DPoP"
        )
    try:
        proof = dpop.verify(
            dpop.header_value(request.headers), request.method, "/userinfo", access_token=value
        )
    except dpop.ProofError as exc:
        return _bearer_error(401, exc.error, exc.description, "DPoP")
    if proof.jkt != row.dpop_jkt:
        return _bearer_error(401, "invalid_token", "The DPoP proof is signed by another key.", "DPoP")
    return None


# --- RP-initiated logout ----------------------------------------------------------------------
@bp.route("/logout", methods=["GET", "POST"])
@csrf.exempt  # the portal's own request; ending a session needs a matching id_token_hint or a confirmation
def end_session() -> Response:
    params = {
        name: values[0]
        for name, values in multi_params().items()
        if name
        in ("id_token_hint", "post_logout_redirect_uri", "state", "client_id", "ui_locales", "logout_hint")
    }
    use_locale(negotiate(params.get("ui_locales", "").split()))
    req = logout.validate(params)
    session = sessions.find(cookies.session_cookie())
    hint_matches = (
        session is not None
        and req.hint_subject is not None
        and req.hint_subject == subjects.subject_for(req.client, session.citizen.subject)
    )
    if session is not None and not hint_matches:
        # Without proof that the portal speaks for this session, the citizen confirms (no
        # logout by a forged link), and the form carries the request on.
        return Response(
            render_template("logout_confirm.html", params=params, citizen=session.citizen, client=req.client)
        )
    return finish_logout(req, session)


@bp.post("/logout/confirm")
def confirm_logout() -> Response:
    params = {
        name: request.form[name]
        for name in ("id_token_hint", "post_logout_redirect_uri", "state", "client_id")
        if request.form.get(name)
    }
    req = logout.validate(params)
    return finish_logout(req, sessions.find(cookies.session_cookie()))


def finish_logout(req: logout.LogoutRequest, session) -> Response:
    frames = frontchannel.frames(session.sid) if session is not None else []
    if session is not None:
        sessions.end_row(session)
        token_store.revoke_session_access_tokens(session.sid)
        audit.record(
            "logout", citizen_pk=session.citizen_pk, client_id=req.client.client_id if req.client else None
        )
    db.session.commit()
    target = req.post_logout_redirect_uri
    if target and req.state:
        target += ("&" if "?" in target else "?") + urlencode({"state": req.state})
    if frames:
        # Front-channel logout: the portals' pages load in frames, then the citizen goes on.
        response = Response(render_template("logged_out.html", frames=frames, target=target))
        response.headers["Content-Security-Policy"] = f"{CSP}; frame-src {frontchannel.frame_sources(frames)}"
    elif target:
        response = redirect(target, code=302)
    else:
        response = Response(render_template("logged_out.html", frames=[], target=None))
    cookies.clear_session_cookie(response)
    return response
