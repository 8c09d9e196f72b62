"""A device authorization (RFC 8628): a kiosk at the public administration service centre asks,
the citizen confirms on their own phone with the short user code, the kiosk polls for tokens."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now
from ..extensions import db

# pending → approved | denied; approved → used (tokens issued once)
STATUSES = ("pending", "approved", "denied", "used")


class DeviceAuthorization(db.Model):
    __tablename__ = "device_authorizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Normalised (upper case, no dash) then hashed: the kiosk shows it, the citizen types it.
    user_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    interval: Mapped[int] = mapped_column(Integer, default=5)
    last_polled_at: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    # Who confirmed, and how they had logged in (copied into the tokens, as for a code).
    citizen_pk: Mapped[int | None] = mapped_column(BigInteger)
    grant_id: Mapped[str | None] = mapped_column(String(64))
    auth_time: Mapped[int | None] = mapped_column(BigInteger)
    acr: Mapped[str | None] = mapped_column(String(100))
    amr: Mapped[list | None] = mapped_column(JSON)
    sid: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[int | None] = mapped_column(BigInteger)
