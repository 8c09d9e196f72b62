"""Signed request objects (RFC 9101): the authorization request as a JWT signed by the portal;
only what the object says counts."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from tests.http.test_client_assertions import ASSERTION_TYPE, assertion, new_key, public_jwks
from tests.support import FlaskBrowser, authorize_params, login, query_of, without_private

ISSUER = "http://127.0.0.1:5000"


@pytest.fixture
def key_portal(make_portal):
    key = new_key("ro-1")
    portal = make_portal(token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(key))
    return portal, key


def request_object(portal: dict, key, alg: str = "ES256", **overrides) -> tuple[str, dict]:
    params = authorize_params(portal)
    at = int(time.time())
    claims = {**without_private(params), "iss": portal["client_id"], "aud": ISSUER, "iat": at,
              "exp": at + 300, **overrides}
    claims = {k: v for k, v in claims.items() if v is not None}
    header = {"alg": alg, **({"kid": key.kid} if getattr(key, "kid", None) else {})}
    return jwt.encode(header, claims, key, algorithms=[alg]), params


def redeem_with_assertion(client, portal: dict, key, code: str, verifier: str):
    return client.post("/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": portal["redirect_uri"],
        "code_verifier": verifier, "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(portal["client_id"], key)})


def authorize_with(client, portal: dict, signed: str, **outer):
    query = {"client_id": portal["client_id"], "request": signed, **outer}
    return client.get("/authorize", query_string=query)


def test_a_signed_request_object_logs_the_citizen_in(client, key_portal, make_citizen):
    (portal, key), citizen = key_portal, make_citizen()
    signed, params = request_object(portal, key)

    page = login(FlaskBrowser(client), {"client_id": portal["client_id"], "request": signed},
                 citizen["citizen_id"], citizen["password"])
    answer = query_of(page.location)
    tokens = redeem_with_assertion(client, portal, key, answer["code"], params["_verifier"])

    assert answer["state"] == params["state"]
    assert tokens.status_code == 200 and "id_token" in tokens.get_json()


def test_parameters_outside_the_object_do_not_count(client, key_portal, make_citizen):
    (portal, key), citizen = key_portal, make_citizen()
    signed, params = request_object(portal, key, scope="openid")

    page = login(FlaskBrowser(client), {"client_id": portal["client_id"], "request": signed,
                                        "scope": "openid profile email phone", "state": "outside"},
                 citizen["citizen_id"], citizen["password"])
    tokens = redeem_with_assertion(client, portal, key, query_of(page.location)["code"], params["_verifier"])

    assert query_of(page.location)["state"] == params["state"]
    assert tokens.get_json()["scope"] == "openid"


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"iss": "another-portal"}, "iss"),
        ({"aud": "https://other-idp.example"}, "aud"),
        ({"exp": int(time.time()) - 600}, "exp"),
        ({"exp": int(time.time()) + 86400}, "exp"),
        ({"client_id": "another-portal"}, "client_id"),
        ({"request_uri": "urn:ietf:params:oauth:request_uri:x"}, "another one"),
    ],
)
def test_an_object_with_wrong_claims_is_refused_on_a_page(client, key_portal, overrides, words):
    portal, key = key_portal
    signed, _ = request_object(portal, key, **overrides)

    answer = authorize_with(client, portal, signed)

    assert answer.status_code == 400 and answer.headers.get("Location") is None
    page = answer.get_data(as_text=True)
    assert "invalid_request_object" in page and words in page


def test_an_object_signed_by_another_key_is_refused(client, key_portal):
    portal, _key = key_portal
    signed, _ = request_object(portal, new_key("ro-1"))

    answer = authorize_with(client, portal, signed)

    assert answer.status_code == 400 and "invalid_request_object" in answer.get_data(as_text=True)


def test_an_unsigned_object_is_refused(client, key_portal):
    portal, _key = key_portal
    signed, _ = request_object(portal, new_key())
    _header, payload, _signature = signed.split(".")
    import base64

    none_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()

    answer = authorize_with(client, portal, f"{none_header}.{payload}.")

    assert answer.status_code == 400 and "invalid_request_object" in answer.get_data(as_text=True)


def test_a_portal_without_keys_cannot_send_request_objects(client, make_portal):
    portal = make_portal()
    signed, _ = request_object(portal, OctKey.import_key("not-the-secret-of-anyone"), alg="HS256")

    answer = authorize_with(client, portal, signed)

    assert answer.status_code == 400 and "no key" in answer.get_data(as_text=True)


def test_a_client_secret_jwt_portal_signs_its_object_with_its_secret(client, make_portal, make_citizen):
    portal, citizen = make_portal(token_endpoint_auth_method="client_secret_jwt"), make_citizen()
    signed, _ = request_object(portal, OctKey.import_key(portal["client_secret"]), alg="HS256")

    page = login(FlaskBrowser(client), {"client_id": portal["client_id"], "request": signed},
                 citizen["citizen_id"], citizen["password"])

    assert "code" in query_of(page.location)


def test_a_request_object_can_be_pushed(client, key_portal, make_citizen):
    (portal, key), citizen = key_portal, make_citizen()
    signed, params = request_object(portal, key)
    pushed = client.post("/par", data={"client_id": portal["client_id"], "request": signed,
                                       "client_assertion_type": ASSERTION_TYPE,
                                       "client_assertion": assertion(portal["client_id"], key)})
    assert pushed.status_code == 201, pushed.get_json()

    page = login(FlaskBrowser(client), {"client_id": portal["client_id"],
                                        "request_uri": pushed.get_json()["request_uri"]},
                 citizen["citizen_id"], citizen["password"])

    assert query_of(page.location)["state"] == params["state"]


def test_discovery_says_request_objects_are_supported(client):
    document = client.get("/.well-known/openid-configuration").get_json()

    assert document["request_parameter_supported"] is True
    assert "ES256" in document["request_object_signing_alg_values_supported"]
