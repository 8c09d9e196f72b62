"""The jti of every client assertion seen (RFC 7523 §3 item 7), until the assertion expires.

A primary key over (client, jti hash) makes a replay fail at the INSERT, on every instance.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class SeenAssertion(db.Model):
    __tablename__ = "seen_assertions"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
