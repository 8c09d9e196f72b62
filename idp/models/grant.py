"""Authorization codes and tokens. Only SHA-256 hashes of the values are stored.

A ``grant_id`` ties together everything one login produced (its code, its access tokens, its
refresh-token family), so that a replayed code or a reused refresh token revokes all of it.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now
from ..extensions import db
from .citizen import Citizen


def not_null_index(name: str, *columns: str) -> Index:
    """An index of the rows whose first column is not NULL (SQLite and PostgreSQL)."""
    where = text(f"{columns[0]} IS NOT NULL")
    return Index(name, *columns, sqlite_where=where, postgresql_where=where)


class AuthorizationCode(db.Model):
    __tablename__ = "authorization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    grant_id: Mapped[str] = mapped_column(String(32), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    citizen_pk: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    scope: Mapped[str] = mapped_column(String(1000))
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    auth_time: Mapped[int] = mapped_column(BigInteger)
    acr: Mapped[str | None] = mapped_column(String(100))
    amr: Mapped[list] = mapped_column(JSON, default=list)
    sid: Mapped[str | None] = mapped_column(String(64))
    # Individual claims asked for in the ID token with the claims parameter (OIDC Core §5.5).
    id_token_claims: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    # Marked, never deleted on use: a second presentation is then seen and punished.
    consumed_at: Mapped[int | None] = mapped_column(BigInteger)

    citizen: Mapped[Citizen] = relationship(lazy="joined")

    # --- authlib AuthorizationCodeMixin ------------------------------------------------------
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return self.acr

    def get_amr(self) -> list | None:
        return self.amr or None


class Token(db.Model):
    """An access token or a refresh token (``kind``), stored as a hash."""

    __tablename__ = "tokens"
    # Partial (migration 0006): a client_credentials token has no citizen, session or ID token,
    # and nothing looks tokens up by a NULL.
    __table_args__ = (
        not_null_index("ix_tokens_citizen_client", "citizen_pk", "client_id"),
        not_null_index("ix_tokens_sid", "sid"),
        not_null_index("ix_tokens_signing_kid", "signing_kid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # "access" | "refresh"
    grant_id: Mapped[str] = mapped_column(String(32), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    citizen_pk: Mapped[int | None] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(1000), default="")
    auth_time: Mapped[int | None] = mapped_column(BigInteger)
    acr: Mapped[str | None] = mapped_column(String(100))
    amr: Mapped[list] = mapped_column(JSON, default=list)
    sid: Mapped[str | None] = mapped_column(String(64))
    # The `sub` this portal knows the citizen by (public or pairwise), kept so that userinfo and
    # introspection need not look the portal up.
    subject: Mapped[str | None] = mapped_column(String(64))
    # DPoP (RFC 9449): the thumbprint of the key this token is bound to; None for a bearer token.
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))
    # The key that signed the ID token issued with this token: revoking that key revokes these.
    signing_kid: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[int] = mapped_column(BigInteger, default=now)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    # A refresh token is used once: rotation sets used_at; a second use revokes the family.
    used_at: Mapped[int | None] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)

    citizen: Mapped[Citizen | None] = relationship(lazy="joined")

    def is_live(self, at: int | None = None) -> bool:
        at = now() if at is None else at
        return self.revoked_at is None and self.expires_at > at

    # --- authlib TokenMixin ------------------------------------------------------------------
    def check_client(self, client) -> bool:
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, self.expires_at - now())

    def is_expired(self) -> bool:
        return self.expires_at <= now()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def get_user(self) -> Citizen | None:
        return self.citizen

    def get_client_id(self) -> str:
        return self.client_id
