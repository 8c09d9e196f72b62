"""What a citizen agreed to share with a portal, remembered so they are asked only once."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now
from ..extensions import db


class Consent(db.Model):
    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("citizen_pk", "client_id", name="uq_consents_citizen_client"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_pk: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    granted_at: Mapped[int] = mapped_column(BigInteger, default=now)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now, onupdate=now)
