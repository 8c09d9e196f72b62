"""Revocation (RFC 7009) and introspection (RFC 7662) over our token store.

Ordinary introspections are answered by the hot path (idp/oauth/hotpath.py) with the same rules:
a rule added here goes there too."""

from __future__ import annotations

from authlib.oauth2.rfc7009 import RevocationEndpoint as _Revocation
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _Introspection

from ..clock import now
from ..security import audit
from ..services import services
from . import tokens
from .grants import CLIENT_AUTH_METHODS

_HINTS = {"access_token": "access", "refresh_token": "refresh"}


def _query(token_string: str, token_type_hint: str | None):
    # The hint is only a hint (RFC 7009 §2.1): a wrong one still finds the token.
    return tokens.find(token_string)


class RevocationEndpoint(_Revocation):
    CLIENT_AUTH_METHODS = [*CLIENT_AUTH_METHODS, "none"]

    def query_token(self, token_string, token_type_hint):
        return _query(token_string, token_type_hint)

    def revoke_token(self, token, request):
        if token.revoked_at is not None:
            return
        audit.record(
            "token_revoked",
            citizen_pk=token.citizen_pk,
            client_id=token.client_id,
            grant_id=token.grant_id,
            token_kind=token.kind,
        )
        if token.kind == "refresh":
            # RFC 7009 §2.1: revoking a refresh token also ends the access tokens of its grant.
            tokens.revoke_grant(token.grant_id)
        else:
            token.revoked_at = now()


class IntrospectionEndpoint(_Introspection):
    # Confidential clients only: a public client cannot prove who is asking.
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        return _query(token_string, token_type_hint)

    def check_permission(self, token, client, request):
        # A portal may introspect only its own tokens: nobody learns about another's citizens.
        return token.client_id == client.client_id

    def introspect_token(self, token):
        citizen_gone = token.citizen_pk is not None and (token.citizen is None or not token.citizen.is_active)
        if not token.is_live() or token.used_at is not None or citizen_gone:
            return {"active": False}
        body = {
            "active": True,
            "client_id": token.client_id,
            "scope": token.scope,
            "token_type": ("DPoP" if token.dpop_jkt else "Bearer")
            if token.kind == "access"
            else "refresh_token",
            "exp": token.expires_at,
            "iat": token.issued_at,
            "iss": services().settings.issuer,
            "aud": token.client_id,
        }
        if token.dpop_jkt:
            body["cnf"] = {"jkt": token.dpop_jkt}  # RFC 9449 §6.2
        if token.citizen is not None:
            body["sub"] = token.subject or token.citizen.subject
            if token.auth_time:
                body["auth_time"] = token.auth_time
            if token.acr:
                body["acr"] = token.acr
        return body
