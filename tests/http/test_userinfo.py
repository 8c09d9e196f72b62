"""UserInfo (OIDC Core §5.3): one Bearer access token (RFC 6750) in, the granted claims out."""

from __future__ import annotations

import pytest

from idp import clock
from idp.extensions import db
from idp.models import Citizen
from tests.http.test_tokens import bearer, post_as, service_portal, sign_in
from tests.support import FlaskBrowser, authorize_params, login, query_of

OFFLINE = "openid profile email offline_access"


def assert_bearer_error(response, status: int, error: str | None) -> None:
    assert response.status_code == status
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer")
    if error:
        assert f'error="{error}"' in challenge
        assert response.get_json()["error"] == error


# --- presenting the token ------------------------------------------------------------------------
def test_get_with_bearer_header(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)

    response = client.get("/userinfo", headers=bearer(tokens["access_token"]))

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json()["sub"] == citizen["subject"]


def test_post_with_bearer_header(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)

    response = client.post("/userinfo", headers=bearer(tokens["access_token"]))

    assert response.status_code == 200 and response.get_json()["sub"] == citizen["subject"]


def test_post_with_access_token_in_the_form_body(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)

    response = client.post("/userinfo", data={"access_token": tokens["access_token"]})

    assert response.status_code == 200 and response.get_json()["sub"] == citizen["subject"]


def test_access_token_in_the_query_string_is_not_accepted(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)

    response = client.get("/userinfo", query_string={"access_token": tokens["access_token"]})

    assert_bearer_error(response, 401, None)


def test_lowercase_bearer_scheme_is_accepted(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)

    response = client.get("/userinfo", headers={"Authorization": f"bearer {tokens['access_token']}"})

    assert response.status_code == 200


# --- scopes decide the claims --------------------------------------------------------------------
def test_openid_alone_releases_only_the_subject(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal, scope="openid")

    body = client.get("/userinfo", headers=bearer(tokens["access_token"])).get_json()

    assert body == {"sub": citizen["subject"]}


def test_profile_email_and_phone_scopes_release_their_claims(client, make_citizen, make_portal):
    citizen, portal = make_citizen(full_name="Nguyễn Văn An"), make_portal()
    tokens = sign_in(client, citizen, portal, scope="openid profile email phone")

    body = client.get("/userinfo", headers=bearer(tokens["access_token"])).get_json()

    assert body["name"] == "Nguyễn Văn An"
    assert body["family_name"] == "Nguyễn" and body["given_name"] == "An"
    assert {"birthdate", "gender", "locale", "updated_at"} <= body.keys()
    assert body["email"] == citizen["email"] and body["email_verified"] is False
    assert body["phone_number"] == citizen["phone"] and body["phone_number_verified"] is False
    assert "citizen_id" not in body


def test_email_scope_alone_releases_no_profile(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal, scope="openid email")

    body = client.get("/userinfo", headers=bearer(tokens["access_token"])).get_json()

    assert set(body) == {"sub", "email", "email_verified"}


def test_citizen_id_is_released_only_for_the_granted_citizen_scope(client, make_citizen, make_portal):
    citizen = make_citizen()
    portal = make_portal(scopes=["openid", "profile", "citizen"])

    without = sign_in(client, citizen, portal, scope="openid profile")
    with_scope = sign_in(client, citizen, portal, scope="openid profile citizen")

    assert "citizen_id" not in client.get("/userinfo", headers=bearer(without["access_token"])).get_json()
    body = client.get("/userinfo", headers=bearer(with_scope["access_token"])).get_json()
    assert body["citizen_id"] == citizen["citizen_id"]


def test_portal_without_the_citizen_scope_cannot_ask_for_it(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    params = authorize_params(portal, scope="openid citizen")

    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"])

    assert page.status == 302 and query_of(page.location).get("error") == "invalid_scope"


# --- refusals ------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_no_token_is_401_with_a_bare_bearer_challenge(client, method):
    response = client.open("/userinfo", method=method)

    assert_bearer_error(response, 401, None)
    assert "error=" not in response.headers["WWW-Authenticate"]  # RFC 6750 §3.1


@pytest.mark.parametrize("value", ["garbage", "tnid_at_" + "A" * 43, "tnid_at_", "x" * 5000])
def test_garbage_or_unknown_token_is_invalid_token(client, value):
    response = client.get("/userinfo", headers=bearer(value))

    assert_bearer_error(response, 401, "invalid_token")


def test_expired_token_is_invalid_token(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)

    clock.advance(601)

    assert_bearer_error(client.get("/userinfo", headers=bearer(tokens["access_token"])), 401, "invalid_token")


def test_revoked_token_is_invalid_token(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)
    assert post_as(client, "/revoke", portal, {"token": tokens["access_token"]}).status_code == 200

    assert_bearer_error(client.get("/userinfo", headers=bearer(tokens["access_token"])), 401, "invalid_token")


def test_token_of_a_locked_citizen_is_invalid_token(app, client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)
    with app.app_context():
        db.session.get(Citizen, citizen["pk"]).status = "locked"
        db.session.commit()

    assert_bearer_error(client.get("/userinfo", headers=bearer(tokens["access_token"])), 401, "invalid_token")


def test_token_in_both_header_and_body_is_invalid_request(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)

    response = client.post("/userinfo", headers=bearer(tokens["access_token"]),
                           data={"access_token": tokens["access_token"]})

    assert_bearer_error(response, 400, "invalid_request")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   "])
def test_other_authorization_schemes_are_invalid_request(client, header):
    response = client.get("/userinfo", headers={"Authorization": header})

    assert_bearer_error(response, 400, "invalid_request")


def test_id_token_used_as_a_bearer_token_is_refused(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)

    assert_bearer_error(client.get("/userinfo", headers=bearer(tokens["id_token"])), 401, "invalid_token")


def test_refresh_token_used_as_a_bearer_token_is_refused(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal, scope=OFFLINE)

    response = client.get("/userinfo", headers=bearer(tokens["refresh_token"]))

    assert_bearer_error(response, 401, "invalid_token")


def test_client_credentials_token_opens_no_userinfo(client, make_portal):
    portal = service_portal(make_portal)
    token = post_as(client, "/token", portal, {"grant_type": "client_credentials", "scope": "api:read"})

    response = client.get("/userinfo", headers=bearer(token.get_json()["access_token"]))

    assert response.status_code in (401, 403)
    assert response.get_json()["error"] in ("invalid_token", "insufficient_scope")
    assert "sub" not in response.get_json()
