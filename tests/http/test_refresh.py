"""Refresh tokens: issued only for offline_access, rotated on every use, and a reused one ends the
whole login (RFC 9700 §4.14.2)."""

from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp import clock
from idp.extensions import db
from idp.models import Citizen
from tests.http.test_tokens import (
    error_of,
    post_as,
    run_together,
    sign_in,
    token_rows,
    userinfo_status,
)

OFFLINE = "openid profile email offline_access"


def refresh(client, portal: dict, refresh_token: str, scope: str | None = None, auth: str | None = None):
    auth = auth or ("none" if portal["client_secret"] is None else "basic")
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "scope": scope}
    return post_as(client, "/token", portal, data, auth)


def id_token_claims(client, id_token: str) -> dict:
    keys = KeySet.import_key_set(client.get("/jwks.json").get_json())
    return jwt.decode(id_token, keys, algorithms=["RS256", "ES256"]).claims


# --- issuance ----------------------------------------------------------------------------------
def test_offline_access_consented_yields_a_refresh_token(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()

    tokens = sign_in(client, citizen, portal, scope=OFFLINE)

    assert tokens["refresh_token"].startswith("tnid_rt_")
    assert "offline_access" in tokens["scope"].split()


def test_without_offline_access_no_refresh_token_is_issued(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()

    tokens = sign_in(client, citizen, portal, scope="openid profile email")

    assert "refresh_token" not in tokens


# --- rotation and reuse ------------------------------------------------------------------------
def test_refresh_rotates_the_refresh_token_and_refuses_the_old_one(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    first = sign_in(client, citizen, portal, scope=OFFLINE)

    response = refresh(client, portal, first["refresh_token"])

    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    second = response.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"].split() == OFFLINE.split()
    assert userinfo_status(client, second["access_token"]) == 200
    again = refresh(client, portal, first["refresh_token"])
    assert again.status_code == 400 and error_of(again) == "invalid_grant"


def test_reuse_of_a_rotated_refresh_token_revokes_the_whole_family(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    first = sign_in(client, citizen, portal, scope=OFFLINE)
    second = refresh(client, portal, first["refresh_token"]).get_json()
    third = refresh(client, portal, second["refresh_token"]).get_json()
    assert userinfo_status(client, third["access_token"]) == 200

    replay = refresh(client, portal, first["refresh_token"])

    assert replay.status_code == 400 and error_of(replay) == "invalid_grant"
    newest = refresh(client, portal, third["refresh_token"])
    assert newest.status_code == 400 and error_of(newest) == "invalid_grant"
    for tokens in (first, second, third):
        assert userinfo_status(client, tokens["access_token"]) == 401


def test_public_client_refreshes_with_its_client_id_alone(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal(public=True)
    first = sign_in(client, citizen, portal, scope=OFFLINE)

    response = refresh(client, portal, first["refresh_token"], auth="none")

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["refresh_token"] != first["refresh_token"]


def test_confidential_client_cannot_refresh_without_its_secret(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    first = sign_in(client, citizen, portal, scope=OFFLINE)

    response = refresh(client, portal, first["refresh_token"], auth="none")

    assert response.status_code == 401 and error_of(response) == "invalid_client"
    assert refresh(client, portal, first["refresh_token"]).status_code == 200


# --- scope --------------------------------------------------------------------------------------
def test_refresh_with_a_narrower_scope_gives_a_narrower_token(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    first = sign_in(client, citizen, portal, scope=OFFLINE)

    response = refresh(client, portal, first["refresh_token"], scope="openid profile offline_access")

    assert response.status_code == 200, response.get_json()
    narrower = response.get_json()
    assert narrower["scope"].split() == ["openid", "profile", "offline_access"]
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {narrower['access_token']}"}).get_json()
    assert "name" in info and "email" not in info


def test_refresh_with_a_wider_scope_is_invalid_scope_and_spends_nothing(
    app, client, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal()
    first = sign_in(client, citizen, portal, scope=OFFLINE)
    before = token_rows(app)

    response = refresh(client, portal, first["refresh_token"], scope=OFFLINE + " phone")

    assert response.status_code == 400 and error_of(response) == "invalid_scope"
    assert token_rows(app) == before
    assert refresh(client, portal, first["refresh_token"]).status_code == 200


# --- the refreshed ID token ---------------------------------------------------------------------
def test_refreshed_id_token_keeps_the_original_login_and_has_no_nonce(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    first = sign_in(client, citizen, portal, scope=OFFLINE)
    original = id_token_claims(client, first["id_token"])
    assert "nonce" in original

    clock.advance(300)
    response = refresh(client, portal, first["refresh_token"])

    assert response.status_code == 200, response.get_json()
    refreshed = id_token_claims(client, response.get_json()["id_token"])
    for claim in ("auth_time", "acr", "amr", "sid", "sub", "aud", "iss"):
        assert refreshed[claim] == original[claim], claim
    assert "nonce" not in refreshed
    assert refreshed["iat"] >= original["iat"] + 300


# --- refusals -----------------------------------------------------------------------------------
def test_refresh_token_of_one_portal_is_invalid_grant_for_another(client, make_citizen, make_portal):
    citizen, portal_a, portal_b = make_citizen(), make_portal(), make_portal()
    tokens = sign_in(client, citizen, portal_a, scope=OFFLINE)

    stolen = refresh(client, portal_b, tokens["refresh_token"])

    assert stolen.status_code == 400 and error_of(stolen) == "invalid_grant"
    assert refresh(client, portal_a, tokens["refresh_token"]).status_code == 200


def test_expired_refresh_token_is_refused(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal, scope=OFFLINE)

    clock.advance(30 * 86400 + 1)
    response = refresh(client, portal, tokens["refresh_token"])

    assert response.status_code == 400 and error_of(response) == "invalid_grant"


@pytest.mark.parametrize("value", ["tnid_rt_" + "A" * 43, "garbage"])
def test_unknown_refresh_token_is_invalid_grant(client, make_portal, value):
    portal = make_portal()

    response = refresh(client, portal, value)

    assert response.status_code == 400 and error_of(response) == "invalid_grant"


def test_access_token_is_not_accepted_as_a_refresh_token(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal, scope=OFFLINE)

    response = refresh(client, portal, tokens["access_token"])

    assert response.status_code == 400 and error_of(response) == "invalid_grant"


def test_locked_citizen_cannot_refresh(app, client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal, scope=OFFLINE)
    with app.app_context():
        db.session.get(Citizen, citizen["pk"]).status = "locked"
        db.session.commit()

    response = refresh(client, portal, tokens["refresh_token"])

    assert response.status_code == 400
    assert "access_token" not in response.get_json()
    # RFC 6749 §5.2: a refresh token that no longer stands for an active account is invalid_grant
    # (as the code grant answers for the same situation), not a malformed request.
    assert error_of(response) == "invalid_grant"


# --- concurrency ---------------------------------------------------------------------------------
@pytest.mark.parametrize("attempt", range(5))
def test_two_simultaneous_refreshes_of_one_token_give_exactly_one_success(
    app, client, make_citizen, make_portal, attempt
):
    citizen, portal = make_citizen(), make_portal()
    tokens = sign_in(client, citizen, portal, scope=OFFLINE)

    def attempt_refresh():
        return refresh(app.test_client(), portal, tokens["refresh_token"])

    responses = run_together(attempt_refresh, attempt_refresh)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 400], [r.get_json() for r in responses]
    loser = next(r for r in responses if r.status_code == 400)
    assert error_of(loser) == "invalid_grant"
