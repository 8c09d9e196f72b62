"""DPoP (RFC 9449): tokens bound to the portal's key; a stolen token is useless without it.
Proofs are built here with joserfc, as a portal's library would build them."""

from __future__ import annotations

import secrets
import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from idp.oauth.clients import InvalidClientMetadata
from tests.http.test_client_assertions import ASSERTION_TYPE, assertion, new_key, public_jwks
from tests.http.test_tokens import basic, error_of, service_portal
from tests.support import FlaskBrowser, authorize_params, login, query_of, without_private

ISSUER = "http://127.0.0.1:5000"
NONCE = "DPoP-Nonce"


def dpop_key() -> ECKey:
    return ECKey.generate_key("P-256", private=True)


def proof(key, method: str, path: str, *, nonce: str | None = None, access_token: str | None = None,
          typ: str = "dpop+jwt", jwk: dict | None = None, **claims) -> str:
    from idp.oauth.dpop import ath_of

    body = {"jti": secrets.token_urlsafe(12), "htm": method, "htu": ISSUER + path, "iat": int(time.time()),
            **claims}
    if nonce:
        body["nonce"] = nonce
    if access_token:
        body["ath"] = ath_of(access_token)
    header = {"typ": typ, "alg": "ES256", "jwk": jwk or key.as_dict(private=False)}
    return jwt.encode(header, body, key, algorithms=["ES256"])


def with_nonce(client, post, key, path: str = "/token"):
    """Send once to learn the server's nonce (use_dpop_nonce), then again with it."""
    first = post(proof(key, "POST", path))
    assert first.status_code == 400 and error_of(first) == "use_dpop_nonce", first.get_json()
    return post(proof(key, "POST", path, nonce=first.headers[NONCE]))


def server_nonce(client, portal: dict, key) -> str:
    response = client.post("/token", headers={**basic(portal), "DPoP": proof(key, "POST", "/token")})
    return response.headers[NONCE]


def cc_token(client, portal: dict, key):
    def post(signed):
        return client.post("/token", data={"grant_type": "client_credentials", "scope": "api:read"},
                           headers={**basic(portal), "DPoP": signed})
    return with_nonce(client, post, key)


def test_a_token_request_with_a_proof_gets_a_dpop_bound_token(client, make_portal):
    portal, key = service_portal(make_portal), dpop_key()

    response = cc_token(client, portal, key)

    assert response.status_code == 200 and response.get_json()["token_type"] == "DPoP"
    assert response.headers[NONCE]
    issued = response.get_json()["access_token"]
    seen = client.post("/introspect", headers=basic(portal), data={"token": issued})
    assert seen.get_json()["cnf"] == {"jkt": key.thumbprint()} and seen.get_json()["token_type"] == "DPoP"


def test_without_a_nonce_the_portal_is_told_the_nonce_to_use(client, make_portal):
    portal, key = service_portal(make_portal), dpop_key()

    response = client.post("/token", data={"grant_type": "client_credentials", "scope": "api:read"},
                           headers={**basic(portal), "DPoP": proof(key, "POST", "/token")})

    assert response.status_code == 400 and error_of(response) == "use_dpop_nonce"
    assert response.headers[NONCE]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"typ": "JWT"}, "typ"),
        ({"htu": ISSUER + "/elsewhere"}, "htu"),
        ({"htm": "GET"}, "htm"),
        ({"iat": int(time.time()) - 3600}, "iat"),
        ({"jti": None}, "jti"),
    ],
)
def test_a_bad_proof_at_the_token_endpoint_is_invalid_dpop_proof(client, make_portal, change, words):
    portal, key = service_portal(make_portal), dpop_key()
    nonce = server_nonce(client, portal, key)
    typ = change.pop("typ", "dpop+jwt")
    signed = proof(key, change.pop("htm", "POST"), "/token", nonce=nonce, typ=typ,
                   **{k: v for k, v in change.items()})
    if "jti" in change:
        signed = proof(key, "POST", "/token", nonce=nonce, jti=None)

    response = client.post("/token", data={"grant_type": "client_credentials", "scope": "api:read"},
                           headers={**basic(portal), "DPoP": signed})

    assert response.status_code == 400 and error_of(response) == "invalid_dpop_proof"
    assert words in response.get_json()["error_description"]


def test_a_proof_carrying_a_private_key_is_refused(client, make_portal):
    portal, key = service_portal(make_portal), dpop_key()

    response = client.post("/token", data={"grant_type": "client_credentials"},
                           headers={**basic(portal), "DPoP": proof(key, "POST", "/token",
                                                                   jwk=key.as_dict(private=True))})

    assert error_of(response) == "invalid_dpop_proof"


def test_a_symmetric_proof_is_refused(client, make_portal):
    portal = service_portal(make_portal)
    secret = OctKey.generate_key(256)
    signed = jwt.encode({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct"}},
                        {"jti": "x", "htm": "POST", "htu": ISSUER + "/token", "iat": int(time.time())},
                        secret, algorithms=["HS256"])

    response = client.post("/token", data={"grant_type": "client_credentials"},
                           headers={**basic(portal), "DPoP": signed})

    assert error_of(response) == "invalid_dpop_proof"


def test_a_replayed_proof_is_refused(client, make_portal):
    portal, key = service_portal(make_portal), dpop_key()
    nonce = server_nonce(client, portal, key)
    signed = proof(key, "POST", "/token", nonce=nonce)
    data = {"grant_type": "client_credentials", "scope": "api:read"}
    assert client.post("/token", data=data, headers={**basic(portal), "DPoP": signed}).status_code == 200

    again = client.post("/token", data=data, headers={**basic(portal), "DPoP": signed})

    assert error_of(again) == "invalid_dpop_proof" and "already used" in again.get_json()["error_description"]


def test_a_portal_registered_for_dpop_cannot_get_a_bearer_token(client, make_portal):
    portal = service_portal(make_portal, dpop_bound_access_tokens=True)

    response = client.post("/token", data={"grant_type": "client_credentials", "scope": "api:read"},
                           headers=basic(portal))

    assert response.status_code == 400 and error_of(response) == "invalid_request"
    assert "DPoP" in response.get_json()["error_description"]


# --- using a DPoP-bound token at userinfo --------------------------------------------------------
def bound_login(client, citizen: dict, portal: dict, key) -> dict:
    params = authorize_params(portal, scope="openid profile offline_access")
    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"])
    data = {"grant_type": "authorization_code", "code": query_of(page.location)["code"],
            "redirect_uri": portal["redirect_uri"], "code_verifier": params["_verifier"]}
    if portal["client_secret"] is None:
        data["client_id"] = portal["client_id"]
        headers = {}
    else:
        headers = basic(portal)

    def post(signed):
        return client.post("/token", data=data, headers={**headers, "DPoP": signed})

    response = with_nonce(client, post, key)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def userinfo(client, token: str, key=None, scheme: str = "DPoP", **proof_claims):
    headers = {"Authorization": f"{scheme} {token}"}
    if key is not None:
        headers["DPoP"] = proof(key, "GET", "/userinfo", access_token=token, **proof_claims)
    return client.get("/userinfo", headers=headers)


def test_a_bound_token_works_at_userinfo_with_a_proof_by_its_key(client, make_citizen, make_portal):
    key = dpop_key()
    tokens = bound_login(client, make_citizen(), make_portal(), key)

    assert tokens["token_type"] == "DPoP"
    assert userinfo(client, tokens["access_token"], key).status_code == 200


def test_a_stolen_bound_token_is_useless_as_a_bearer_token_or_with_another_key(client, make_citizen,
                                                                              make_portal):
    key = dpop_key()
    tokens = bound_login(client, make_citizen(), make_portal(), key)

    as_bearer = userinfo(client, tokens["access_token"], scheme="Bearer")
    other_key = userinfo(client, tokens["access_token"], dpop_key())
    no_proof = userinfo(client, tokens["access_token"])

    assert as_bearer.status_code == 401 and as_bearer.get_json()["error"] == "invalid_token"
    assert as_bearer.headers["WWW-Authenticate"].startswith("DPoP ")
    assert other_key.status_code == 401 and no_proof.status_code == 401


def test_a_proof_for_another_token_is_refused(client, make_citizen, make_portal):
    key = dpop_key()
    tokens = bound_login(client, make_citizen(), make_portal(), key)
    headers = {"Authorization": f"DPoP {tokens['access_token']}",
               "DPoP": proof(key, "GET", "/userinfo", access_token="tnid_at_another")}

    response = client.get("/userinfo", headers=headers)

    assert response.status_code == 401 and response.get_json()["error"] == "invalid_dpop_proof"


def test_a_public_clients_refresh_token_is_bound_to_its_key(client, make_citizen, make_portal):
    portal = make_portal(public=True, grant_types=["authorization_code", "refresh_token"])
    key = dpop_key()
    tokens = bound_login(client, make_citizen(), portal, key)
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "client_id": portal["client_id"]}

    def refresh(with_key):
        def post(signed):
            return client.post("/token", data=data, headers={"DPoP": signed})
        return with_nonce(client, post, with_key)

    stolen = refresh(dpop_key())
    plain = client.post("/token", data=data)
    own = refresh(key)

    assert error_of(stolen) == "invalid_grant" and error_of(plain) == "invalid_grant"
    assert own.status_code == 200 and own.get_json()["token_type"] == "DPoP"


def test_discovery_lists_the_dpop_algorithms(client):
    document = client.get("/.well-known/openid-configuration").get_json()

    assert "ES256" in document["dpop_signing_alg_values_supported"]


# --- the FAPI 2.0 profile ------------------------------------------------------------------------
@pytest.fixture
def fapi_portal(make_portal):
    key = new_key("fapi-1")
    portal = make_portal(fapi2=True, token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(key))
    return portal, key


def test_a_fapi_portal_logs_in_with_par_private_key_jwt_pkce_and_dpop(client, make_citizen, fapi_portal):
    (portal, client_key), key, citizen = fapi_portal, dpop_key(), make_citizen()
    params = authorize_params(portal, scope="openid profile")
    pushed = client.post("/par", data={**without_private(params), "client_assertion_type": ASSERTION_TYPE,
                                       "client_assertion": assertion(portal["client_id"], client_key)})
    assert pushed.status_code == 201, pushed.get_json()
    page = login(FlaskBrowser(client), {"client_id": portal["client_id"],
                                        "request_uri": pushed.get_json()["request_uri"]},
                 citizen["citizen_id"], citizen["password"])
    answer = query_of(page.location)
    assert answer["iss"] == ISSUER

    def post(signed):
        return client.post("/token", headers={"DPoP": signed}, data={
            "grant_type": "authorization_code", "code": answer["code"],
            "redirect_uri": portal["redirect_uri"],
            "code_verifier": params["_verifier"], "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(portal["client_id"], client_key)})

    tokens = with_nonce(client, post, key)

    assert tokens.status_code == 200 and tokens.get_json()["token_type"] == "DPoP"
    assert userinfo(client, tokens.get_json()["access_token"], key).status_code == 200


def test_a_fapi_portal_cannot_skip_par_or_pkce(client, fapi_portal):
    portal, _key = fapi_portal

    direct = client.get("/authorize", query_string=without_private(authorize_params(portal)))

    assert query_of(direct.headers["Location"])["error"] == "invalid_request"


def test_a_fapi_portal_needs_private_key_jwt(make_portal):
    with pytest.raises(InvalidClientMetadata, match="FAPI"):
        make_portal(fapi2=True)


def test_a_fapi_portals_code_lives_at_most_sixty_seconds(app, fapi_portal):
    from idp.models import Client
    from idp.oauth.authorize import code_ttl

    with app.app_context():
        from idp.extensions import db

        row = db.session.query(Client).filter_by(client_id=fapi_portal[0]["client_id"]).one()
        assert code_ttl(row) <= 60
        assert row.require_pushed_authorization_requests and row.dpop_bound_access_tokens


def test_a_dpop_portal_redeeming_a_code_without_a_proof_is_refused(client, make_citizen, make_portal):
    portal, citizen = make_portal(dpop_bound_access_tokens=True), make_citizen()
    params = authorize_params(portal)
    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"])

    response = client.post("/token", headers=basic(portal), data={
        "grant_type": "authorization_code", "code": query_of(page.location)["code"],
        "redirect_uri": portal["redirect_uri"], "code_verifier": params["_verifier"]})

    assert response.status_code == 400 and error_of(response) == "invalid_request"
