"""The claims request parameter (OIDC Core §5.5): individual claims asked for in the ID token,
released only within the scopes the citizen agreed to."""

from __future__ import annotations

import json

from tests.http.test_logout import parts
from tests.http.test_tokens import authorize, redeem


def id_token_claims(client, citizen: dict, portal: dict, claims: dict, scope: str) -> dict:
    code, params = authorize(client, citizen, portal, scope=scope, claims=json.dumps(claims))
    response = redeem(client, portal, code, params["_verifier"])
    assert response.status_code == 200, response.get_json()
    return parts(response.get_json()["id_token"])[1]


def test_asked_claims_appear_in_the_id_token(client, make_citizen, make_portal):
    citizen = make_citizen()

    asked = {"id_token": {"email": None, "name": {"essential": True}}}

    claims = id_token_claims(client, citizen, make_portal(), asked, "openid profile email")

    assert claims["email"] == citizen["email"] and claims["name"] == citizen["full_name"]


def test_a_claim_outside_the_agreed_scopes_is_not_released(client, make_citizen, make_portal):
    asked = {"id_token": {"phone_number": {"essential": True}, "email": None}}

    claims = id_token_claims(client, make_citizen(), make_portal(), asked, "openid profile")

    assert "phone_number" not in claims and "email" not in claims


def test_without_the_claims_parameter_the_id_token_carries_no_profile(client, make_citizen, make_portal):
    portal = make_portal()
    code, params = authorize(client, make_citizen(), portal, scope="openid profile email")

    claims = parts(redeem(client, portal, code, params["_verifier"]).get_json()["id_token"])[1]

    assert "email" not in claims and "name" not in claims


def test_a_claims_parameter_that_is_not_json_goes_back_to_the_portal_as_invalid_request(client, make_portal):
    from tests.support import authorize_params, query_of, without_private

    portal = make_portal()
    params = authorize_params(portal, claims="{not json")

    answer = client.get("/authorize", query_string=without_private(params))

    assert query_of(answer.headers["Location"])["error"] == "invalid_request"
