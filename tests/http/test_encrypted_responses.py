"""Encrypted ID tokens and UserInfo responses (JWE: RSA-OAEP-256 or ECDH-ES with A256GCM) and signed
UserInfo responses, for portals that register for them; the portal decrypts with its own key and
verifies our signature against the JWKS."""

from __future__ import annotations

import pytest
from joserfc import jwe, jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from idp.oauth.clients import InvalidClientMetadata
from tests.http.test_tokens import basic
from tests.support import FlaskBrowser, authorize_params, login, query_of

ALGS = ["RSA-OAEP-256", "ECDH-ES", "A256GCM"]
ISSUER = "http://127.0.0.1:5000"


def enc_key(kind: str = "RSA"):
    if kind == "RSA":
        return RSAKey.generate_key(2048, parameters={"use": "enc", "kid": "enc-1"}, private=True)
    return ECKey.generate_key("P-256", parameters={"use": "enc", "kid": "enc-1"}, private=True)


def tokens_for(client, citizen: dict, portal: dict) -> dict:
    params = authorize_params(portal)
    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"])
    response = client.post("/token", headers=basic(portal), data={
        "grant_type": "authorization_code", "code": query_of(page.location)["code"],
        "redirect_uri": portal["redirect_uri"], "code_verifier": params["_verifier"]})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def jwks(client) -> KeySet:
    return KeySet.import_key_set(client.get("/jwks.json").get_json())


@pytest.mark.parametrize(("kind", "alg"), [("RSA", "RSA-OAEP-256"), ("EC", "ECDH-ES")])
def test_an_encrypted_id_token_opens_with_the_portals_key_and_verifies_with_ours(client, make_citizen,
                                                                                make_portal, kind, alg):
    key = enc_key(kind)
    portal = make_portal(jwks={"keys": [key.as_dict(private=False)]}, id_token_encrypted_response_alg=alg,
                         id_token_encrypted_response_enc="A256GCM")

    id_token = tokens_for(client, make_citizen(), portal)["id_token"]

    assert id_token.count(".") == 4  # JWE compact
    opened = jwe.decrypt_compact(id_token, key, algorithms=ALGS)
    assert opened.protected["cty"] == "JWT" and opened.protected["enc"] == "A256GCM"
    claims = jwt.decode(opened.plaintext, jwks(client)).claims
    assert claims["aud"] == portal["client_id"] and claims["iss"] == ISSUER


def test_signed_userinfo_is_a_jwt_from_us_to_the_portal(client, make_citizen, make_portal):
    portal = make_portal(userinfo_signed_response_alg="ES256")
    access = tokens_for(client, make_citizen(), portal)["access_token"]

    response = client.get("/userinfo", headers={"Authorization": f"Bearer {access}"})

    assert response.status_code == 200 and response.mimetype == "application/jwt"
    claims = jwt.decode(response.get_data(as_text=True), jwks(client), algorithms=["ES256"]).claims
    assert claims["iss"] == ISSUER and claims["aud"] == portal["client_id"] and claims["name"]


def test_encrypted_userinfo_is_a_jwe_of_the_claims(client, make_citizen, make_portal):
    key = enc_key("EC")
    portal = make_portal(jwks={"keys": [key.as_dict(private=False)]},
                         userinfo_encrypted_response_alg="ECDH-ES", userinfo_encrypted_response_enc="A256GCM")
    access = tokens_for(client, make_citizen(), portal)["access_token"]

    response = client.get("/userinfo", headers={"Authorization": f"Bearer {access}"})

    assert response.mimetype == "application/jwt"
    import json

    claims = json.loads(jwe.decrypt_compact(response.get_data(as_text=True), key, algorithms=ALGS).plaintext)
    assert claims["sub"] and claims["name"]


def test_signed_and_encrypted_userinfo_is_signed_then_encrypted(client, make_citizen, make_portal):
    key = enc_key("RSA")
    portal = make_portal(jwks={"keys": [key.as_dict(private=False)]}, userinfo_signed_response_alg="RS256",
                         userinfo_encrypted_response_alg="RSA-OAEP-256",
                         userinfo_encrypted_response_enc="A256GCM")
    access = tokens_for(client, make_citizen(), portal)["access_token"]

    body = client.get("/userinfo", headers={"Authorization": f"Bearer {access}"}).get_data(as_text=True)

    inner = jwe.decrypt_compact(body, key, algorithms=ALGS).plaintext
    assert jwt.decode(inner, jwks(client)).claims["aud"] == portal["client_id"]


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"id_token_encrypted_response_alg": "RSA1_5", "id_token_encrypted_response_enc": "A256GCM"},
         "RSA1_5"),
        ({"id_token_encrypted_response_alg": "RSA-OAEP-256"}, "A256GCM"),
        ({"id_token_encrypted_response_alg": "RSA-OAEP-256", "id_token_encrypted_response_enc": "A128GCM"},
         "A256GCM"),
        ({"userinfo_encrypted_response_alg": "ECDH-ES", "userinfo_encrypted_response_enc": "A256GCM"}, "key"),
        ({"userinfo_signed_response_alg": "HS256"}, "userinfo_signed_response_alg"),
    ],
)
def test_unusable_encryption_settings_are_refused_at_registration(make_portal, spec, words):
    with pytest.raises(InvalidClientMetadata, match=words):
        make_portal(**spec)


def test_an_rsa_only_portal_cannot_ask_for_ecdh(make_portal):
    key = enc_key("RSA")

    with pytest.raises(InvalidClientMetadata, match="EC key"):
        make_portal(jwks={"keys": [key.as_dict(private=False)]}, id_token_encrypted_response_alg="ECDH-ES",
                    id_token_encrypted_response_enc="A256GCM")


def test_discovery_lists_the_encryption_algorithms(client):
    document = client.get("/.well-known/openid-configuration").get_json()

    assert document["id_token_encryption_alg_values_supported"] == ["RSA-OAEP-256", "ECDH-ES"]
    assert document["userinfo_encryption_enc_values_supported"] == ["A256GCM"]
    assert "ES256" in document["userinfo_signing_alg_values_supported"]
