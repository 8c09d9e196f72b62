"""The token endpoint: how a portal turns an authorization code (or its own credentials) into tokens.

The helpers at the top (sign_in, redeem, …) are also used by the refresh, introspection/revocation
and userinfo tests.
"""

from __future__ import annotations

import base64
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from idp import clock
from idp.extensions import db
from idp.models import AuthorizationCode, Token
from tests.support import FlaskBrowser, authorize_params, login, query_of

ISSUER = "http://127.0.0.1:5000"


# --- helpers -----------------------------------------------------------------------------------
def basic(portal: dict, secret: str | None = None) -> dict:
    raw = f"{portal['client_id']}:{secret or portal['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def post_as(client, path: str, portal: dict, data: dict, auth: str = "basic"):
    """POST ``data`` to ``path`` authenticated as ``portal``: basic, post (secret in the form) or
    none (client_id only, as a public client does)."""
    data = {k: v for k, v in data.items() if v is not None}
    if auth == "basic":
        return client.post(path, data=data, headers=basic(portal))
    if auth == "post":
        return client.post(path, data={**data, "client_id": portal["client_id"],
                                       "client_secret": portal["client_secret"]})
    if auth == "none":
        return client.post(path, data={**data, "client_id": portal["client_id"]})
    raise ValueError(auth)


def authorize(client, citizen: dict, portal: dict, **extra) -> tuple[str, dict]:
    """The citizen logs in (and consents) in the browser; returns (code, authorization params)."""
    params = authorize_params(portal, **extra)
    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"])
    assert page.status == 302 and page.location.startswith(portal["redirect_uri"] + "?"), page.text[:300]
    answer = query_of(page.location)
    assert "code" in answer, answer
    return answer["code"], params


def redeem(client, portal: dict, code: str | None, verifier: str | None, auth: str | None = None, **extra):
    auth = auth or ("none" if portal["client_secret"] is None else "basic")
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": portal["redirect_uri"],
            "code_verifier": verifier, **extra}
    return post_as(client, "/token", portal, data, auth)


def sign_in(client, citizen: dict, portal: dict, scope: str = "openid profile email", **extra) -> dict:
    """Log in and exchange the code: the token response body."""
    code, params = authorize(client, citizen, portal, scope=scope, **extra)
    response = redeem(client, portal, code, params["_verifier"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def userinfo_status(client, access_token: str) -> int:
    return client.get("/userinfo", headers=bearer(access_token)).status_code


def error_of(response) -> str | None:
    return (response.get_json(silent=True) or {}).get("error")


def token_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Token))


def run_together(*calls):
    """Run the calls in parallel threads, released at the same moment; their results in order."""
    barrier = threading.Barrier(len(calls))

    def start(call):
        barrier.wait(timeout=10)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(start, call) for call in calls]
        return [f.result(timeout=60) for f in futures]


# --- success -----------------------------------------------------------------------------------
def test_code_is_exchanged_with_client_secret_basic(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    code, params = authorize(client, citizen, portal)

    response = redeem(client, portal, code, params["_verifier"], auth="basic")

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    assert body["scope"].split() == ["openid", "profile", "email"]
    assert body["access_token"].startswith("tnid_at_") and "id_token" in body
    assert userinfo_status(client, body["access_token"]) == 200


def test_code_is_exchanged_with_client_secret_post(client, make_citizen, make_portal):
    citizen = make_citizen()
    portal = make_portal(token_endpoint_auth_method="client_secret_post")
    code, params = authorize(client, citizen, portal)

    response = redeem(client, portal, code, params["_verifier"], auth="post")

    assert response.status_code == 200, response.get_json()
    assert userinfo_status(client, response.get_json()["access_token"]) == 200


def test_a_portal_registered_for_secret_post_cannot_switch_to_basic(client, make_citizen, make_portal):
    citizen = make_citizen()
    portal = make_portal(token_endpoint_auth_method="client_secret_post")
    code, params = authorize(client, citizen, portal)

    response = redeem(client, portal, code, params["_verifier"], auth="basic")

    assert response.status_code == 401 and error_of(response) == "invalid_client"


def test_public_client_redeems_its_code_with_pkce_and_no_secret(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal(public=True)
    code, params = authorize(client, citizen, portal)

    response = redeem(client, portal, code, params["_verifier"], auth="none")

    assert response.status_code == 200, response.get_json()
    assert userinfo_status(client, response.get_json()["access_token"]) == 200


# --- client authentication ---------------------------------------------------------------------
def test_wrong_client_secret_is_refused_with_401_invalid_client(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    code, params = authorize(client, citizen, portal)

    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": portal["redirect_uri"],
            "code_verifier": params["_verifier"]}

    response = client.post("/token", data=data,
                           headers=basic(portal, secret="tnid_cs_" + secrets.token_urlsafe(32)))

    assert response.status_code == 401 and error_of(response) == "invalid_client"
    assert response.headers.get("WWW-Authenticate", "").startswith("Basic")


def test_secret_of_one_portal_does_not_authenticate_another(client, make_citizen, make_portal):
    citizen, portal_a, portal_b = make_citizen(), make_portal(), make_portal()
    code, params = authorize(client, citizen, portal_b)

    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": portal_b["redirect_uri"],
            "code_verifier": params["_verifier"]}

    response = client.post("/token", data=data, headers=basic(portal_b, secret=portal_a["client_secret"]))

    assert response.status_code == 401 and error_of(response) == "invalid_client"


def test_confidential_client_cannot_redeem_with_client_id_alone(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    code, params = authorize(client, citizen, portal)

    response = redeem(client, portal, code, params["_verifier"], auth="none")

    assert response.status_code == 401 and error_of(response) == "invalid_client"


# --- PKCE --------------------------------------------------------------------------------------
def test_public_client_without_code_verifier_gets_invalid_request(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal(public=True)
    code, _ = authorize(client, citizen, portal)

    response = redeem(client, portal, code, None, auth="none")

    assert response.status_code == 400 and error_of(response) == "invalid_request"


def test_public_client_with_wrong_code_verifier_gets_invalid_grant(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal(public=True)
    code, _ = authorize(client, citizen, portal)

    response = redeem(client, portal, code, secrets.token_urlsafe(48), auth="none")

    assert response.status_code == 400 and error_of(response) == "invalid_grant"


def test_code_issued_with_a_challenge_needs_the_verifier_even_from_a_confidential_client(
    client, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal()
    code, _ = authorize(client, citizen, portal)

    response = redeem(client, portal, code, None, auth="basic")

    assert response.status_code == 400 and error_of(response) == "invalid_request"
    assert "access_token" not in response.get_json()


# --- the code itself ---------------------------------------------------------------------------
def test_second_use_of_a_code_is_refused_and_revokes_its_tokens(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    code, params = authorize(client, citizen, portal)
    first = redeem(client, portal, code, params["_verifier"])
    assert first.status_code == 200
    access_token = first.get_json()["access_token"]
    assert userinfo_status(client, access_token) == 200

    second = redeem(client, portal, code, params["_verifier"])

    assert second.status_code == 400 and error_of(second) == "invalid_grant"
    assert userinfo_status(client, access_token) == 401


def test_code_issued_to_one_portal_is_invalid_for_another_and_stays_usable(client, make_citizen, make_portal):
    citizen, portal_a, portal_b = make_citizen(), make_portal(), make_portal()
    code, params = authorize(client, citizen, portal_a)

    stolen = redeem(client, portal_b, code, params["_verifier"])

    assert stolen.status_code == 400 and error_of(stolen) == "invalid_grant"
    legitimate = redeem(client, portal_a, code, params["_verifier"])
    assert legitimate.status_code == 200, legitimate.get_json()


@pytest.mark.parametrize("redirect_uri", ["https://portal.example/other", "https://portal.example/callback/",
                                          None])
def test_redirect_uri_at_the_token_endpoint_must_equal_the_authorized_one(
    client, make_citizen, make_portal, redirect_uri
):
    citizen, portal = make_citizen(), make_portal()
    code, params = authorize(client, citizen, portal)

    response = redeem(client, portal, code, params["_verifier"], redirect_uri=redirect_uri)

    assert response.status_code == 400 and error_of(response) == "invalid_grant"


def test_code_expires_after_sixty_seconds(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    code, params = authorize(client, citizen, portal)

    clock.advance(61)
    response = redeem(client, portal, code, params["_verifier"])

    assert response.status_code == 400 and error_of(response) == "invalid_grant"


@pytest.mark.parametrize("code", ["tnid_ac_" + "A" * 43, "not-a-code", "tnid_ac_" + "x" * 200])
def test_unknown_or_malformed_code_is_invalid_grant(client, make_portal, code):
    portal = make_portal()

    response = redeem(client, portal, code, secrets.token_urlsafe(48))

    assert response.status_code == 400 and error_of(response) == "invalid_grant"


def test_missing_code_is_invalid_request(client, make_portal):
    portal = make_portal()

    response = redeem(client, portal, None, secrets.token_urlsafe(48))

    assert response.status_code == 400 and error_of(response) == "invalid_request"


@pytest.mark.parametrize("grant_type",
                         ["password", "implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer"])
def test_unsupported_grant_type_is_refused(client, make_portal, grant_type):
    portal = make_portal()

    response = client.post("/token", headers=basic(portal),
                           data={"grant_type": grant_type, "username": "x", "password": "y"})

    assert response.status_code == 400 and error_of(response) == "unsupported_grant_type"


@pytest.mark.parametrize("repeated", ["code", "grant_type", "code_verifier", "redirect_uri"])
def test_repeated_parameter_at_the_token_endpoint_is_invalid_request(
    client, make_citizen, make_portal, repeated
):
    # RFC 6749 §3.2: request parameters MUST NOT be included more than once.
    citizen, portal = make_citizen(), make_portal()
    code, params = authorize(client, citizen, portal)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": portal["redirect_uri"],
            "code_verifier": params["_verifier"]}
    data[repeated] = [data[repeated], data[repeated]]

    response = client.post("/token", headers=basic(portal), data=data)

    assert response.status_code == 400 and error_of(response) == "invalid_request"
    assert "access_token" not in response.get_json()


# --- what a failed request leaves behind -------------------------------------------------------
MISTAKES = {
    "wrong secret": dict(headers_secret="tnid_cs_wrong"),
    "wrong redirect_uri": dict(redirect_uri="https://portal.example/other"),
    "wrong verifier": dict(code_verifier=secrets.token_urlsafe(48)),
    "no verifier": dict(code_verifier=None),
    "missing code": dict(code=None),
    "unknown code": dict(code="tnid_ac_" + "B" * 43),
}


@pytest.mark.parametrize("mistake", MISTAKES.keys())
def test_failed_token_request_writes_nothing(app, client, make_citizen, make_portal, mistake):
    citizen, portal = make_citizen(), make_portal()
    code, params = authorize(client, citizen, portal)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": portal["redirect_uri"],
            "code_verifier": params["_verifier"]}
    change = dict(MISTAKES[mistake])
    secret = change.pop("headers_secret", None)
    data.update(change)
    before = token_rows(app)

    response = client.post("/token", headers=basic(portal, secret=secret),
                           data={k: v for k, v in data.items() if v is not None})

    assert response.status_code in (400, 401)
    assert token_rows(app) == before
    with app.app_context():
        assert db.session.scalar(select(AuthorizationCode.consumed_at)) is None


# --- response headers and lifetimes ------------------------------------------------------------
def test_every_token_response_is_marked_no_store(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    code, params = authorize(client, citizen, portal)
    responses = [
        redeem(client, portal, code, params["_verifier"]),  # success
        redeem(client, portal, code, params["_verifier"]),  # replay
        client.post("/token", data={"grant_type": "authorization_code"}),  # no client
        client.post("/token", headers=basic(portal), data={"grant_type": "password"}),
    ]

    assert [r.status_code for r in responses] == [200, 400, 401, 400]
    for response in responses:
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers.get("Pragma") == "no-cache"


def test_access_token_stops_working_after_its_ttl(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)
    assert tokens["expires_in"] == 600

    clock.advance(590)
    assert userinfo_status(client, tokens["access_token"]) == 200
    clock.advance(11)
    assert userinfo_status(client, tokens["access_token"]) == 401


def test_portal_specific_access_token_ttl_overrides_the_default(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal(access_token_ttl=120)
    tokens = sign_in(client, citizen, portal)
    assert tokens["expires_in"] == 120

    clock.advance(110)
    assert userinfo_status(client, tokens["access_token"]) == 200
    clock.advance(11)
    assert userinfo_status(client, tokens["access_token"]) == 401


# --- concurrency ---------------------------------------------------------------------------------
@pytest.mark.parametrize("attempt", range(5))
def test_two_simultaneous_redemptions_of_one_code_give_exactly_one_token_response(
    app, client, make_citizen, make_portal, attempt
):
    citizen, portal = make_citizen(), make_portal()
    code, params = authorize(client, citizen, portal)

    def attempt_redeem():
        return redeem(app.test_client(), portal, code, params["_verifier"])

    responses = run_together(attempt_redeem, attempt_redeem)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 400], [r.get_json() for r in responses]
    loser = next(r for r in responses if r.status_code == 400)
    assert error_of(loser) == "invalid_grant"


# --- client_credentials -------------------------------------------------------------------------
def service_portal(make_portal, **spec) -> dict:
    spec = {"grant_types": ["client_credentials"], "scopes": ["api:read"], "redirect_uris": [],
            "post_logout_redirect_uris": [], **spec}
    return make_portal(**spec)


def client_credentials(client, portal: dict, scope: str | None = "api:read", auth: str = "basic"):
    return post_as(client, "/token", portal, {"grant_type": "client_credentials", "scope": scope}, auth)


def test_client_credentials_grant_issues_a_token_for_a_registered_custom_scope(client, make_portal):
    portal = service_portal(make_portal)

    response = client_credentials(client, portal)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["scope"] == "api:read"
    assert "refresh_token" not in body and "id_token" not in body
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("scope", ["openid", "profile", "api:read openid", "api:write", "api:read email"])
def test_client_credentials_refuses_citizen_scopes_and_unregistered_ones(client, app, make_portal, scope):
    portal = service_portal(make_portal, scopes=["api:read", "openid", "profile", "email"])
    before = token_rows(app)

    response = client_credentials(client, portal, scope=scope)

    assert response.status_code == 400 and error_of(response) == "invalid_scope"
    assert token_rows(app) == before


def test_portal_without_the_client_credentials_grant_is_unauthorized_client(client, make_portal):
    portal = make_portal(scopes=["openid", "api:read"])

    response = client_credentials(client, portal)

    assert response.status_code == 400 and error_of(response) == "unauthorized_client"


def test_public_client_cannot_use_client_credentials(client, make_portal):
    portal = make_portal(public=True, scopes=["openid", "api:read"])

    response = client_credentials(client, portal, auth="none")

    assert response.status_code == 401 and error_of(response) == "invalid_client"
    assert "access_token" not in response.get_json()


def test_client_credentials_with_wrong_secret_is_invalid_client(client, make_portal):
    portal = service_portal(make_portal)

    response = client.post("/token", headers=basic(portal, secret="tnid_cs_wrong"),
                           data={"grant_type": "client_credentials", "scope": "api:read"})

    assert response.status_code == 401 and error_of(response) == "invalid_client"
