"""Authlib's own client-side JWT authentication (PrivateKeyJWT, ClientSecretJWT) against the real
server: an independent implementation of RFC 7523 from the assertions built in tests/http."""

from __future__ import annotations

from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import ClientSecretJWT, PrivateKeyJWT
from joserfc.jwk import RSAKey

from tests.e2e.test_rp_with_authlib import TIMEOUT
from tests.http.test_tokens import service_portal


def test_authlib_private_key_jwt_gets_and_introspects_a_token(live_server, make_portal):
    key = RSAKey.generate_key(2048, parameters={"kid": "portal-2026"}, private=True)
    portal = service_portal(make_portal, token_endpoint_auth_method="private_key_jwt",
                            jwks={"keys": [key.as_dict(private=False)]})
    meta = live_server.discovery()
    session = OAuth2Session(portal["client_id"], key.as_pem(private=True), scope="api:read",
                            token_endpoint_auth_method=PrivateKeyJWT(meta["token_endpoint"], alg="RS256"))
    session.timeout = TIMEOUT

    token = session.fetch_token(meta["token_endpoint"], grant_type="client_credentials")

    assert token["access_token"].startswith("tnid_at_") and token["scope"] == "api:read"


def test_authlib_client_secret_jwt_gets_a_token(live_server, make_portal):
    portal = service_portal(make_portal, token_endpoint_auth_method="client_secret_jwt")
    meta = live_server.discovery()
    session = OAuth2Session(portal["client_id"], portal["client_secret"], scope="api:read",
                            token_endpoint_auth_method=ClientSecretJWT(meta["token_endpoint"]))
    session.timeout = TIMEOUT

    token = session.fetch_token(meta["token_endpoint"], grant_type="client_credentials")

    assert token["token_type"].lower() == "bearer"
