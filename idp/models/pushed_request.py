"""An authorization request a portal pushed to us over its back channel (RFC 9126).

The browser then carries only the one-time `request_uri`; what the portal asked for never passes
through the citizen's browser, where it could be read or altered.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now
from ..extensions import db


class PushedRequest(db.Model):
    __tablename__ = "pushed_requests"

    # SHA-256 of the random part of the request_uri: the URN itself is a bearer reference.
    request_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
