"""A citizen logs in to a portal: the authorization-code flow through the HTTP endpoints."""

from __future__ import annotations

import base64

from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support import FlaskBrowser, authorize_params, login, query_of


def basic(portal: dict) -> dict:
    raw = f"{portal['client_id']}:{portal['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def exchange(client, portal, code, verifier, **extra):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": portal["redirect_uri"],
            "code_verifier": verifier, **extra}
    return client.post("/token", data=data, headers=basic(portal))


def test_login_consent_code_token_userinfo(client, make_citizen, make_portal):
    citizen = make_citizen()
    portal = make_portal()
    params = authorize_params(portal)

    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"])

    assert page.status == 302 and page.location.startswith(portal["redirect_uri"] + "?")
    answer = query_of(page.location)
    assert answer["state"] == params["state"]
    assert answer["iss"] == "http://127.0.0.1:5000"
    response = exchange(client, portal, answer["code"], params["_verifier"])
    assert response.status_code == 200, response.get_json()
    tokens = response.get_json()
    assert tokens["token_type"] == "Bearer" and "refresh_token" not in tokens
    assert response.headers["Cache-Control"] == "no-store"

    jwks = KeySet.import_key_set(client.get("/jwks.json").get_json())
    id_token = jwt.decode(tokens["id_token"], jwks, algorithms=["RS256"])
    claims = id_token.claims
    assert claims["iss"] == "http://127.0.0.1:5000"
    assert claims["aud"] == portal["client_id"]
    assert claims["sub"] == citizen["subject"]
    assert claims["nonce"] == params["nonce"]
    assert claims["acr"] == "urn:thainguyen:id:loa:1" and claims["amr"] == ["pwd"]
    assert {"auth_time", "sid", "at_hash", "exp", "iat"} <= claims.keys()
    assert id_token.header["kid"] in {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}

    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200
    body = info.get_json()
    assert body["sub"] == citizen["subject"] and body["name"] == citizen["full_name"]
    assert body["email"] == citizen["email"]
    assert "phone_number" not in body and "citizen_id" not in body  # scopes not granted
