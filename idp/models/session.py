"""The server-side single sign-on session. The browser holds only a random id; we keep its hash."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now
from ..extensions import db
from .citizen import Citizen


class BrowserSession(db.Model):
    __tablename__ = "browser_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The `sid` claim: identifies the session to portals without being the cookie value.
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    citizen_pk: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"), index=True)
    auth_time: Mapped[int] = mapped_column(BigInteger)
    acr: Mapped[str] = mapped_column(String(100))
    amr: Mapped[list] = mapped_column(JSON, default=list)
    user_agent: Mapped[str | None] = mapped_column(String(300))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[int] = mapped_column(BigInteger, default=now)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    ended_at: Mapped[int | None] = mapped_column(BigInteger)

    citizen: Mapped[Citizen] = relationship(lazy="joined")

    def is_live(self, at: int | None = None) -> bool:
        at = now() if at is None else at
        return self.ended_at is None and self.expires_at > at and self.citizen.is_active
