"""Initial access tokens: what an operator hands a portal's vendor so it may register itself
(RFC 7591 §3, "protected" registration). Stored as SHA-256 hashes, like every bearer secret."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now
from ..extensions import db


class InitialAccessToken(db.Model):
    __tablename__ = "initial_access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    # How many portals may still be registered with it; decremented by a conditional UPDATE.
    uses_left: Mapped[int] = mapped_column(Integer, default=1)
    # The scopes a portal registered with this token may ask for.
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
