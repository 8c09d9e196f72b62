"""A back-channel logout notice owed to a portal (OIDC Back-Channel Logout 1.0).

Written in the same transaction that ends the session (an outbox): a notice cannot be lost
between "the session ended" and "the portal was told", whatever process dies in between.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now
from ..extensions import db


class LogoutDelivery(db.Model):
    __tablename__ = "logout_deliveries"
    __table_args__ = (Index("ix_logout_deliveries_due", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    citizen_pk: Mapped[int | None] = mapped_column(BigInteger)
    sid: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger, default=now)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[int] = mapped_column(BigInteger, default=now)
    delivered_at: Mapped[int | None] = mapped_column(BigInteger)
    # Set when the retries are used up: the notice is kept, for the audit, and sent no more.
    abandoned_at: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(200))
