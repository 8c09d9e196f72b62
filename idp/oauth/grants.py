"""The token-endpoint grants, as small hardening subclasses of Authlib's.

Authlib's code and refresh grants save the new token before they retire the old credential and
revoke nothing on reuse (Authlib #757). Here the old credential is retired with a conditional
UPDATE inside the same transaction as the new tokens: of two concurrent redemptions exactly one
commits. A credential presented again revokes everything its login produced.

The ordinary valid code, refresh and client_credentials requests are answered by the hot path
(idp/oauth/hotpath.py) with these same rules: a rule added here goes there too, or the hot path
must pass the requests it concerns on to this endpoint.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import g
from sqlalchemy import select, update

from ..clock import now
from ..credentials import CODE_PREFIX, new_grant_id, token_hash
from ..extensions import db
from ..models import AuthorizationCode, Token
from ..security import audit
from . import tokens
from .claims import CITIZEN_SCOPES

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"]


def dpop_binding(client) -> str | None:
    """The DPoP key the new tokens are bound to (the token view checked the request's proof)."""
    jkt = g.get("dpop_jkt")
    if jkt is None and client.dpop_bound_access_tokens:
        raise InvalidRequestError(description="This portal's tokens must be DPoP-bound: send a DPoP proof.")
    return jkt


class CredentialReplayed(InvalidGrantError):
    """A code or refresh token came back after use: its whole grant has been revoked."""


def _revoke_after_replay(
    grant_id: str, description: str, event: str, citizen_pk: int | None, client_id: str
) -> None:
    # The failed request's own writes are discarded; the revocation is committed on its own,
    # because it must hold even though the request fails.
    db.session.rollback()
    revoked = tokens.revoke_grant(grant_id)
    audit.record(
        event,
        "failure",
        citizen_pk=citizen_pk,
        client_id=client_id,
        grant_id=grant_id,
        tokens_revoked=revoked,
    )
    db.session.commit()
    raise CredentialReplayed(description=description)


class S256Only(CodeChallenge):
    """PKCE with S256 only (RFC 9700 §2.1.1): `plain` is refused at both ends."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def get_authorization_code_challenge(self, authorization_code):
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code):
        return authorization_code.code_challenge_method


class IdTokenOnResponse:
    """Adds the ID token to a token response whose scope includes `openid`.

    Written here rather than with Authlib's OpenIDCode, so that a refreshed ID token keeps the
    original auth_time, acr, amr and sid (Authlib resets auth_time to now and drops acr/amr).
    """

    def __call__(self, grant) -> None:
        grant.register_hook("after_create_token_response", self.process_token)

    def process_token(self, grant, response) -> None:
        _, token, _ = response
        if "openid" not in token.get("scope", "").split():
            return
        request = grant.request
        code = request.authorization_code
        token["id_token"] = tokens.id_token(
            request.client,
            request.user,
            grant.auth_context,
            nonce=code.nonce if code is not None else None,
            access_token=token["access_token"],
            key=grant.signing_key,
            requested=code.id_token_claims if code is not None else None,
            scopes=set(token.get("scope", "").split()),
        )


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [*CLIENT_AUTH_METHODS, "none"]

    def query_authorization_code(self, code, client):
        if not isinstance(code, str) or not code.startswith(CODE_PREFIX) or len(code) > 100:
            return None
        row = db.session.scalar(
            select(AuthorizationCode).where(AuthorizationCode.code_hash == token_hash(code))
        )
        if row is None or row.client_id != client.client_id:
            # A code issued to another client (mix-up) is simply not this client's code.
            return None
        if row.consumed_at is not None:
            _revoke_after_replay(
                row.grant_id,
                "The authorization code was already used; the tokens issued from it are revoked.",
                "code_replayed",
                row.citizen_pk,
                row.client_id,
            )
        if row.expires_at <= now():
            return None
        return row

    def authenticate_user(self, authorization_code):
        citizen = authorization_code.citizen
        return citizen if citizen.is_active else None

    @property
    def auth_context(self) -> tokens.AuthContext:
        code = self.request.authorization_code
        return tokens.AuthContext(auth_time=code.auth_time, acr=code.acr, amr=code.amr, sid=code.sid)

    def generate_token(
        self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True
    ):
        # A refresh token only when the citizen consented to offline_access (OIDC Core §11).
        include = include_refresh_token and "offline_access" in (scope or "").split()
        return super().generate_token(
            user=user,
            scope=scope,
            grant_type=grant_type,
            expires_in=expires_in,
            include_refresh_token=include,
        )

    def save_token(self, token):
        code = self.request.authorization_code
        audit.record(
            "code_redeemed", citizen_pk=code.citizen_pk, client_id=code.client_id, grant_id=code.grant_id
        )
        self.signing_key = tokens.signing_key_for(self.request.client)
        tokens.store(
            token,
            self.request.client,
            self.request.user,
            code.grant_id,
            self.auth_context,
            signing_kid=self.signing_key.kid if "openid" in token.get("scope", "").split() else None,
            dpop_jkt=dpop_binding(self.request.client),
        )

    def delete_authorization_code(self, authorization_code):
        consumed = db.session.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.id == authorization_code.id, AuthorizationCode.consumed_at.is_(None))
            .values(consumed_at=now())
        )
        if consumed.rowcount != 1:
            _revoke_after_replay(
                authorization_code.grant_id,
                "The authorization code was used twice at once; its tokens are revoked.",
                "code_replayed",
                authorization_code.citizen_pk,
                authorization_code.client_id,
            )


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [*CLIENT_AUTH_METHODS, "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation on every use

    def authenticate_refresh_token(self, refresh_token):
        row = tokens.find(refresh_token, kind="refresh")
        if row is None:
            return None
        if row.used_at is not None or row.revoked_at is not None:
            if row.used_at is not None and row.client_id == self.request.client.client_id:
                _revoke_after_replay(
                    row.grant_id,
                    "The refresh token was already used; every token of this login is revoked.",
                    "refresh_token_reuse_detected",
                    row.citizen_pk,
                    row.client_id,
                )
            return None
        if row.expires_at <= now() or row.citizen is None or not row.citizen.is_active:
            return None
        if row.dpop_jkt is not None and row.dpop_jkt != g.get("dpop_jkt"):
            return None  # RFC 9449 §5: only the key it is bound to can refresh it
        return row

    def authenticate_user(self, refresh_token):
        citizen = refresh_token.citizen
        return citizen if citizen is not None and citizen.is_active else None

    @property
    def auth_context(self) -> tokens.AuthContext:
        rt = self.request.refresh_token
        return tokens.AuthContext(auth_time=rt.auth_time, acr=rt.acr, amr=rt.amr, sid=rt.sid)

    def issue_token(self, user, refresh_token):
        scope = self.request.payload.scope or refresh_token.get_scope()
        # A narrowed scope without offline_access ends the offline grant: no new refresh token.
        return self.generate_token(
            user=user, scope=scope, include_refresh_token="offline_access" in scope.split()
        )

    def save_token(self, token):
        rt = self.request.refresh_token
        self.signing_key = tokens.signing_key_for(self.request.client)
        tokens.store(
            token,
            self.request.client,
            self.request.user,
            rt.grant_id,
            self.auth_context,
            signing_kid=self.signing_key.kid if "openid" in token.get("scope", "").split() else None,
            event="tokens_refreshed",
            dpop_jkt=dpop_binding(self.request.client),
        )

    def revoke_old_credential(self, refresh_token):
        used = db.session.execute(
            update(Token)
            .where(Token.id == refresh_token.id, Token.used_at.is_(None), Token.revoked_at.is_(None))
            .values(used_at=now())
        )
        if used.rowcount != 1:
            _revoke_after_replay(
                refresh_token.grant_id,
                "The refresh token was used twice at once; every token of this login is revoked.",
                "refresh_token_reuse_detected",
                refresh_token.citizen_pk,
                refresh_token.client_id,
            )


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def validate_requested_scope(self):
        requested = set((self.request.payload.scope or "").split())
        client = self.request.client
        refused = requested - set(client.scopes) | (requested & CITIZEN_SCOPES)
        if refused:
            raise InvalidScopeError(
                description=f"Scope not allowed for client_credentials: {' '.join(sorted(refused))}"
            )

    def save_token(self, token):
        tokens.store(
            token,
            self.request.client,
            None,
            new_grant_id(),
            tokens.AuthContext(),
            grant_type="client_credentials",
            dpop_jkt=dpop_binding(self.request.client),
        )
