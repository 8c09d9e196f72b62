"""Introspection (RFC 7662) tells a portal about its own live tokens and nothing else;
revocation (RFC 7009) ends a token, and a refresh token's whole family with it."""

from __future__ import annotations

import pytest

from idp import clock
from idp.extensions import db
from idp.models import Citizen
from tests.http.test_tokens import (
    ISSUER,
    authorize,
    basic,
    error_of,
    post_as,
    redeem,
    service_portal,
    sign_in,
    userinfo_status,
)

OFFLINE = "openid profile email offline_access"


def introspect(client, portal: dict, token: str, auth: str = "basic", **extra):
    return post_as(client, "/introspect", portal, {"token": token, **extra}, auth)


def revoke(client, portal: dict, token: str, auth: str | None = None, **extra):
    auth = auth or ("none" if portal["client_secret"] is None else "basic")
    return post_as(client, "/revoke", portal, {"token": token, **extra}, auth)


def refresh(client, portal: dict, refresh_token: str):
    return post_as(client, "/token", portal, {"grant_type": "refresh_token", "refresh_token": refresh_token})


# --- introspection -----------------------------------------------------------------------------
def test_portal_introspects_its_live_access_token(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)

    response = introspect(client, portal, tokens["access_token"])

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["active"] is True
    assert body["sub"] == citizen["subject"]
    assert body["scope"] == tokens["scope"]
    assert body["client_id"] == portal["client_id"]
    assert body["iss"] == ISSUER
    assert body["token_type"] == "Bearer"
    assert body["exp"] - body["iat"] == 600
    assert "citizen_id" not in body  # the CCCD number never leaves through a token


def test_introspection_with_client_secret_post(client, make_citizen, make_portal):
    citizen = make_citizen()
    portal = make_portal(token_endpoint_auth_method="client_secret_post")
    code, params = authorize(client, citizen, portal)
    tokens = redeem(client, portal, code, params["_verifier"], auth="post").get_json()

    response = introspect(client, portal, tokens["access_token"], auth="post")

    assert response.status_code == 200 and response.get_json()["active"] is True


def test_portal_introspects_its_live_refresh_token(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal, scope=OFFLINE)

    body = introspect(client, portal, tokens["refresh_token"], token_type_hint="refresh_token").get_json()

    assert body["active"] is True and body["sub"] == citizen["subject"]
    assert body["token_type"] != "Bearer"


def test_another_portal_learns_nothing_about_a_token(client, make_citizen, make_portal):
    citizen, portal_a, portal_b = make_citizen(), make_portal(), make_portal()
    tokens = sign_in(client, citizen, portal_a)

    response = introspect(client, portal_b, tokens["access_token"])

    assert response.status_code == 200
    assert response.get_json() == {"active": False}


def test_introspection_without_client_authentication_is_401(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)

    anonymous = client.post("/introspect", data={"token": tokens["access_token"]})
    wrong_secret = client.post("/introspect", data={"token": tokens["access_token"]},
                               headers=basic(portal, secret="tnid_cs_wrong"))
    id_only = introspect(client, portal, tokens["access_token"], auth="none")

    for response in (anonymous, wrong_secret, id_only):
        assert response.status_code == 401 and error_of(response) == "invalid_client"
        assert "active" not in response.get_json()


def test_public_client_cannot_introspect(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal(public=True)
    tokens = sign_in(client, citizen, portal)

    response = introspect(client, portal, tokens["access_token"], auth="none")

    assert response.status_code == 401 and error_of(response) == "invalid_client"


def test_revoked_token_introspects_as_inactive(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)
    assert revoke(client, portal, tokens["access_token"]).status_code == 200

    assert introspect(client, portal, tokens["access_token"]).get_json() == {"active": False}


def test_expired_token_introspects_as_inactive(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)

    clock.advance(601)

    assert introspect(client, portal, tokens["access_token"]).get_json() == {"active": False}


def test_rotated_refresh_token_introspects_as_inactive(client, make_citizen, make_portal):
    # Once used, a refresh token can never be redeemed again (it would revoke the family instead).
    citizen, portal = make_citizen(), make_portal()
    first = sign_in(client, citizen, portal, scope=OFFLINE)
    second = refresh(client, portal, first["refresh_token"]).get_json()

    assert introspect(client, portal, second["refresh_token"]).get_json()["active"] is True
    assert introspect(client, portal, first["refresh_token"]).get_json() == {"active": False}


def test_tokens_of_a_locked_citizen_introspect_as_inactive(app, client, make_citizen, make_portal):
    # A resource server must not serve an account that userinfo itself refuses.
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal, scope=OFFLINE)
    with app.app_context():
        db.session.get(Citizen, citizen["pk"]).status = "locked"
        db.session.commit()
    assert userinfo_status(client, tokens["access_token"]) == 401

    assert introspect(client, portal, tokens["access_token"]).get_json() == {"active": False}
    assert introspect(client, portal, tokens["refresh_token"]).get_json() == {"active": False}


@pytest.mark.parametrize("value", ["tnid_at_" + "A" * 43, "tnid_rt_" + "A" * 43, "garbage", "",
                                   "x" * 5000, "tnid_at_\u00e9\u0000"])
def test_unknown_or_garbage_token_introspects_as_inactive(client, make_portal, value):
    portal = make_portal()

    response = introspect(client, portal, value)

    assert response.status_code == 200 and response.get_json() == {"active": False}


def test_id_token_is_not_an_introspectable_token(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)

    response = introspect(client, portal, tokens["id_token"])

    assert response.status_code == 200 and response.get_json() == {"active": False}


def test_client_credentials_token_introspects_without_a_subject(client, make_portal):
    portal = service_portal(make_portal)
    token = post_as(client, "/token", portal, {"grant_type": "client_credentials", "scope": "api:read"})

    body = introspect(client, portal, token.get_json()["access_token"]).get_json()

    assert body["active"] is True and body["scope"] == "api:read" and "sub" not in body


# --- revocation ----------------------------------------------------------------------------------
def test_revoked_access_token_no_longer_opens_userinfo(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)
    assert userinfo_status(client, tokens["access_token"]) == 200

    response = revoke(client, portal, tokens["access_token"], token_type_hint="access_token")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert userinfo_status(client, tokens["access_token"]) == 401


def test_revoking_a_refresh_token_ends_its_family(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    first = sign_in(client, citizen, portal, scope=OFFLINE)
    second = refresh(client, portal, first["refresh_token"]).get_json()

    response = revoke(client, portal, second["refresh_token"])

    assert response.status_code == 200
    assert userinfo_status(client, first["access_token"]) == 401
    assert userinfo_status(client, second["access_token"]) == 401
    again = refresh(client, portal, second["refresh_token"])
    assert again.status_code == 400 and error_of(again) == "invalid_grant"


def test_revocation_ignores_a_wrong_type_hint(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)

    response = revoke(client, portal, tokens["access_token"], token_type_hint="refresh_token")

    assert response.status_code == 200
    assert userinfo_status(client, tokens["access_token"]) == 401


def test_revoking_an_access_token_leaves_other_logins_alone(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    first = sign_in(client, citizen, portal)
    second = sign_in(client, citizen, portal)

    revoke(client, portal, first["access_token"])

    assert userinfo_status(client, second["access_token"]) == 200


@pytest.mark.parametrize("value", ["tnid_at_" + "A" * 43, "garbage"])
def test_revoking_an_unknown_token_succeeds_quietly(client, make_portal, value):
    portal = make_portal()

    response = revoke(client, portal, value)

    assert response.status_code == 200


def test_revoking_twice_is_harmless(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)

    assert revoke(client, portal, tokens["access_token"]).status_code == 200
    assert revoke(client, portal, tokens["access_token"]).status_code == 200


def test_public_client_revokes_its_own_token_with_its_client_id(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal(public=True)
    tokens = sign_in(client, citizen, portal, scope=OFFLINE)

    response = revoke(client, portal, tokens["refresh_token"], auth="none")

    assert response.status_code == 200
    assert userinfo_status(client, tokens["access_token"]) == 401


def test_confidential_client_cannot_revoke_with_its_client_id_alone(client, make_citizen, make_portal):
    # Authlib up to 1.9.6 accepted the "none" method for any client at revocation.
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal)

    response = revoke(client, portal, tokens["access_token"], auth="none")

    assert response.status_code == 401 and error_of(response) == "invalid_client"
    assert userinfo_status(client, tokens["access_token"]) == 200


def test_a_portal_cannot_revoke_another_portals_token(client, make_citizen, make_portal):
    citizen, portal_a, portal_b = make_citizen(), make_portal(), make_portal()
    tokens = sign_in(client, citizen, portal_a)

    response = revoke(client, portal_b, tokens["access_token"])

    assert response.status_code in (200, 400)
    assert userinfo_status(client, tokens["access_token"]) == 200


def test_revocation_without_a_token_parameter_is_invalid_request(client, make_portal):
    portal = make_portal()

    response = client.post("/revoke", headers=basic(portal), data={})

    assert response.status_code == 400 and error_of(response) == "invalid_request"
