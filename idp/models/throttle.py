"""Failed-login counters per account identifier (hashed), known account or not."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class LoginThrottle(db.Model):
    __tablename__ = "login_throttles"

    # HMAC of the normalised identifier: the table names no one, and an unknown identifier is
    # throttled exactly like a known one, so a lock reveals nothing about who has an account.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[int] = mapped_column(BigInteger)
    not_before: Mapped[int] = mapped_column(BigInteger, default=0)
    locked: Mapped[bool] = mapped_column(default=False)
