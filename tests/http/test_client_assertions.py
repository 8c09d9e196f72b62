"""Portals that authenticate with a signed JWT instead of sending a secret (RFC 7523):
private_key_jwt (the portal's own key, registered inline or at a jwks_uri) and client_secret_jwt.
The assertions here are built with joserfc directly; tests/e2e uses Authlib's client-side classes."""

from __future__ import annotations

import json
import secrets
import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from idp.extensions import db
from idp.oauth import client_keys, clients
from tests.http.test_tokens import error_of, service_portal
from tests.support import JsonDocumentServer

ISSUER = "http://127.0.0.1:5000"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def new_key(kid: str = "k1") -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid}, private=True)


def public_jwks(*keys) -> dict:
    return {"keys": [k.as_dict(private=False) for k in keys]}


def assertion(client_id: str, key, alg: str = "ES256", **claims) -> str:
    at = int(time.time())
    payload = {"iss": client_id, "sub": client_id, "aud": ISSUER, "iat": at, "exp": at + 60,
               "jti": secrets.token_urlsafe(16), **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    header = {"alg": alg, **({"kid": key.kid} if getattr(key, "kid", None) else {})}
    return jwt.encode(header, payload, key, algorithms=[alg])


def token_with(client, signed: str, **extra):
    data = {"grant_type": "client_credentials", "scope": "api:read", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed, **extra}
    return client.post("/token", data=data)


@pytest.fixture
def key_portal(make_portal):
    key = new_key()
    portal = service_portal(make_portal, token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(key))
    return portal, key


def test_a_portal_gets_a_token_with_an_assertion_signed_by_its_registered_key(client, key_portal):
    portal, key = key_portal

    response = token_with(client, assertion(portal["client_id"], key))

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["access_token"].startswith("tnid_at_")
    assert portal["client_secret"] is None  # no secret is issued to a private_key_jwt portal


def test_a_replayed_assertion_is_refused(client, key_portal):
    portal, key = key_portal
    signed = assertion(portal["client_id"], key)
    assert token_with(client, signed).status_code == 200

    again = token_with(client, signed)

    assert again.status_code == 401 and error_of(again) == "invalid_client"
    assert "already used" in again.get_json()["error_description"]


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"aud": "https://elsewhere.example"}, "aud"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"exp": int(time.time()) + 7200}, "longer than"),
        ({"iss": "someone-else"}, "iss and sub"),
        ({"jti": None}, "jti"),
        ({"iat": int(time.time()) + 3600}, "future"),
    ],
)
def test_an_assertion_with_wrong_claims_is_refused(client, key_portal, claims, words):
    portal, key = key_portal

    response = token_with(client, assertion(portal["client_id"], key, **claims))

    assert response.status_code == 401 and error_of(response) == "invalid_client"
    assert words in response.get_json()["error_description"]


def test_an_assertion_signed_by_another_key_is_refused(client, key_portal):
    portal, _key = key_portal

    response = token_with(client, assertion(portal["client_id"], new_key("k1")))

    assert response.status_code == 401 and error_of(response) == "invalid_client"


def test_an_hmac_assertion_keyed_with_the_portals_public_key_is_refused(client, key_portal):
    portal, key = key_portal
    confused = OctKey.import_key(json.dumps(key.as_dict(private=False)).encode())

    response = token_with(client, assertion(portal["client_id"], confused, alg="HS256"))

    assert response.status_code == 401


def test_an_unsigned_assertion_is_refused(client, key_portal):
    portal, _key = key_portal
    import base64

    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    at = int(time.time())
    unsigned = b64({"alg": "none"}) + "." + b64({"iss": portal["client_id"], "sub": portal["client_id"],
                                                 "aud": ISSUER, "exp": at + 60, "jti": "x"}) + "."

    assert token_with(client, unsigned).status_code == 401


def test_a_key_portal_cannot_fall_back_to_a_secret(client, key_portal):
    portal, _key = key_portal

    response = client.post("/token", data={"grant_type": "client_credentials"},
                           auth=(portal["client_id"], "tnid_cs_guess"))

    assert response.status_code == 401


def test_the_same_assertion_rules_hold_at_introspection_and_par(client, key_portal, make_portal):
    portal, key = key_portal
    issued = token_with(client, assertion(portal["client_id"], key)).get_json()["access_token"]

    answer = client.post("/introspect", data={"token": issued, "client_assertion_type": ASSERTION_TYPE,
                                              "client_assertion": assertion(portal["client_id"], key)})

    assert answer.status_code == 200 and answer.get_json()["active"] is True


# --- client_secret_jwt ------------------------------------------------------------------------------
def test_a_portal_signs_its_assertion_with_its_secret(client, make_portal):
    portal = service_portal(make_portal, token_endpoint_auth_method="client_secret_jwt")
    key = OctKey.import_key(portal["client_secret"])

    response = token_with(client, assertion(portal["client_id"], key, alg="HS256"))

    assert response.status_code == 200, response.get_json()


def test_after_a_new_secret_only_the_new_one_signs(app, client, make_portal):
    portal = service_portal(make_portal, token_endpoint_auth_method="client_secret_jwt")
    with app.app_context():
        new = clients.new_secret(clients.find(portal["client_id"]))
        db.session.commit()

    old_answer = token_with(client, assertion(portal["client_id"], OctKey.import_key(portal["client_secret"]),
                                              alg="HS256"))
    new_answer = token_with(client, assertion(portal["client_id"], OctKey.import_key(new), alg="HS256"))

    assert old_answer.status_code == 401 and new_answer.status_code == 200


def test_the_secret_of_a_client_secret_jwt_portal_is_stored_encrypted(app, make_portal):
    portal = service_portal(make_portal, token_endpoint_auth_method="client_secret_jwt")

    with app.app_context():
        row = clients.find(portal["client_id"])
        assert portal["client_secret"].encode() not in row.secret_encrypted


# --- keys at a jwks_uri ----------------------------------------------------------------------------
@pytest.fixture
def jwks_server():
    client_keys.remote_keys.clear()
    servers = []

    def start(*keys) -> JsonDocumentServer:
        """A portal's own server publishing its JWKS on loopback."""
        servers.append(JsonDocumentServer(public_jwks(*keys), "/jwks.json"))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
    client_keys.remote_keys.clear()


def test_keys_are_fetched_from_the_jwks_uri_and_cached(client, make_portal, jwks_server):
    key = new_key()
    server = jwks_server(key)
    portal = service_portal(make_portal, token_endpoint_auth_method="private_key_jwt", jwks_uri=server.uri)

    answers = [token_with(client, assertion(portal["client_id"], key)).status_code for _ in range(3)]

    assert answers == [200, 200, 200]
    assert server.fetches == 1


def test_a_rotated_key_is_fetched_again_when_an_unknown_kid_arrives(client, make_portal, jwks_server,
                                                                     monkeypatch):
    monkeypatch.setattr(client_keys, "REFETCH_AFTER", 0)  # no wait between fetches in a test
    old, new = new_key("2026-a"), new_key("2026-b")
    server = jwks_server(old)
    portal = service_portal(make_portal, token_endpoint_auth_method="private_key_jwt", jwks_uri=server.uri)
    assert token_with(client, assertion(portal["client_id"], old)).status_code == 200
    server.document = public_jwks(new)

    response = token_with(client, assertion(portal["client_id"], new))

    assert response.status_code == 200 and server.fetches == 2


def test_an_unreachable_jwks_uri_is_invalid_client_not_an_error_page(client, make_portal, jwks_server):
    server = jwks_server(new_key())
    portal = service_portal(make_portal, token_endpoint_auth_method="private_key_jwt", jwks_uri=server.uri)
    server.close()

    response = token_with(client, assertion(portal["client_id"], new_key()))

    assert response.status_code == 401 and error_of(response) == "invalid_client"


def test_discovery_lists_the_assertion_methods(client):
    document = client.get("/.well-known/openid-configuration").get_json()

    assert {"private_key_jwt", "client_secret_jwt"} <= set(document["token_endpoint_auth_methods_supported"])
    assert "ES256" in document["token_endpoint_auth_signing_alg_values_supported"]


def test_an_rsa_key_works_too(client, make_portal):
    key = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"}, private=True)
    portal = service_portal(make_portal, token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(key))

    assert token_with(client, assertion(portal["client_id"], key, alg="PS256")).status_code == 200
