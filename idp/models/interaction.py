"""A validated authorization request waiting for the citizen to log in or consent.

The browser carries only its random id between /authorize, /login and /consent; the parameters
stay here, so they cannot be altered on the way and any instance can resume the request.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now
from ..extensions import db


class Interaction(db.Model):
    __tablename__ = "interactions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict] = mapped_column(JSON)
    # auth_time of the login done for this interaction (prompt=login / max_age are then satisfied)
    login_done_at: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
