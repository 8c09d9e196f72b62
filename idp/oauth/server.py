"""Authlib's AuthorizationServer, wired to our grants, token generator and endpoints."""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from flask import Flask

from . import assertions
from .authorize import find_client
from .device import DeviceCodeGrant
from .endpoints import IntrospectionEndpoint, RevocationEndpoint
from .grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    IdTokenOnResponse,
    RefreshTokenGrant,
    S256Only,
)
from .tokens import access_token_ttl, generate_access_token, generate_refresh_token

GRANT_TYPES = (
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
)


def _expires_in(client, grant_type: str) -> int:
    return access_token_ttl(client)


def create_authorization_server(app: Flask) -> AuthorizationServer:
    server = AuthorizationServer(app, query_client=find_client, save_token=None)
    server.register_token_generator(
        "default", BearerTokenGenerator(generate_access_token, generate_refresh_token, _expires_in)
    )
    server.register_grant(AuthorizationCodeGrant, [S256Only(required=True), IdTokenOnResponse()])
    server.register_grant(RefreshTokenGrant, [IdTokenOnResponse()])
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(DeviceCodeGrant, [IdTokenOnResponse()])
    for method in assertions.METHODS:
        server.register_client_auth_method(method, assertions.ClientAssertion(method))
    server.register_endpoint(RevocationEndpoint)
    server.register_endpoint(IntrospectionEndpoint)
    return server
