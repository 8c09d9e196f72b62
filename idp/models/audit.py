"""The audit trail: an append-only record of every security event. Never a secret or a token."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now
from ..extensions import db
from .grant import not_null_index


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        # Partial (migration 0006): most events of portals have no citizen.
        not_null_index("ix_audit_events_citizen_at", "citizen_pk", "at"),
        Index("ix_audit_events_client_at", "client_id", "at"),
        Index("ix_audit_events_type_at", "event_type", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    at: Mapped[int] = mapped_column(BigInteger, default=now, index=True)
    event_type: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(20))  # success | failure | info
    # A plain number, not a foreign key: the record outlives the account it is about.
    citizen_pk: Mapped[int | None] = mapped_column(BigInteger)
    client_id: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(100))  # "citizen", "portal", "operator:<user>"
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
