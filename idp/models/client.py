"""A portal (relying party) and the Authlib client interface over it."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now
from ..credentials import hash_matches
from ..extensions import db
from ..lean import Record


class ClientRules:
    """Authlib's ClientMixin and the portal's rules, over the attributes alone: shared by the ORM
    model and by ClientRow, the plain row a login page reads (nothing here writes)."""

    # --- authlib.oauth2.rfc6749.ClientMixin -------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str) -> str:
        if not scope:
            return ""
        allowed = set(self.scopes)
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Exact string match only (RFC 9700 §4.1.3): no prefix, wildcard or case folding.
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_hash is None or not isinstance(client_secret, str):
            return False
        return hash_matches(client_secret, self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class ClientRow(ClientRules, Record):
    """A portal as a plain row, every column an attribute (read on the lean connection by the
    authorization pages: no Session, no identity map, no attribute instrumentation). Read-only:
    a change to a portal goes through the ORM model."""


class Client(ClientRules, db.Model):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    # SHA-256 of the secret; the secret itself is shown once, at creation.
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    grant_types: Mapped[list] = mapped_column(JSON, default=list)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(40), default="client_secret_basic")
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    id_token_signed_response_alg: Mapped[str | None] = mapped_column(String(10))
    access_token_ttl: Mapped[int | None] = mapped_column(Integer)
    refresh_token_ttl: Mapped[int | None] = mapped_column(Integer)
    id_token_ttl: Mapped[int | None] = mapped_column(Integer)
    # acr values asked for when a request names none (OIDC Registration §2 default_acr_values).
    default_acr_values: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    # The lowest level of assurance (an `acr` value) this portal accepts; None: any.
    minimum_acr: Mapped[str | None] = mapped_column(String(100))
    # Signed / encrypted answers (OIDC Core §5.3.2, §10.2); None: plain JSON, signed ID tokens.
    userinfo_signed_response_alg: Mapped[str | None] = mapped_column(String(10))
    id_token_encrypted_response_alg: Mapped[str | None] = mapped_column(String(20))
    id_token_encrypted_response_enc: Mapped[str | None] = mapped_column(String(20))
    userinfo_encrypted_response_alg: Mapped[str | None] = mapped_column(String(20))
    userinfo_encrypted_response_enc: Mapped[str | None] = mapped_column(String(20))
    # Keys of a portal that authenticates with private_key_jwt (RFC 7523): inline, or fetched.
    jwks: Mapped[dict | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(String(2048))
    # client_secret_jwt needs the secret itself to check an HMAC: AES-GCM under a key derived from
    # IDP_SECRET_KEY, and only for portals registered for that method.
    secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    # `sub` per sector (OIDC Core §8.1): "public" or "pairwise"; the sector is the host of the
    # sector_identifier_uri, or of the redirect URIs.
    subject_type: Mapped[str] = mapped_column(String(10), default="public", server_default="public")
    sector_identifier_uri: Mapped[str | None] = mapped_column(String(2048))
    sector: Mapped[str | None] = mapped_column(String(255))
    # The FAPI 2.0 Security Profile: PAR, PKCE S256, private_key_jwt, DPoP-bound tokens, short codes.
    fapi2: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # RFC 9449 §5.2: every access token of this portal must be DPoP-bound.
    dpop_bound_access_tokens: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Logout across portals (OIDC Back-Channel / Front-Channel Logout 1.0).
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(2048))
    backchannel_logout_session_required: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="0"
    )
    frontchannel_logout_uri: Mapped[str | None] = mapped_column(String(2048))
    frontchannel_logout_session_required: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="0"
    )
    # RFC 9126 §6: this portal's authorization requests must come through /par.
    require_pushed_authorization_requests: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="0"
    )
    # Dynamic registration (RFC 7591/7592): the hash of the registration access token, None for a
    # portal an operator registered with `idp clients create`.
    registration_token_hash: Mapped[str | None] = mapped_column(String(64))
    name_en: Mapped[str | None] = mapped_column(String(200))
    logo_uri: Mapped[str | None] = mapped_column(String(2048))
    policy_uri: Mapped[str | None] = mapped_column(String(2048))
    tos_uri: Mapped[str | None] = mapped_column(String(2048))
    contacts: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[int] = mapped_column(BigInteger, default=now)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now, onupdate=now)
    # Raised by every change the ORM writes (SQLAlchemy's version counter, so two concurrent
    # edits cannot silently overwrite each other): the hot path authenticates a portal from a
    # cached row, and its token rows are written only if this is still the revision it checked
    # (tokens.store, migration 0007).
    revision: Mapped[int] = mapped_column(BigInteger, server_default="1")

    __mapper_args__ = {"version_id_col": revision}
