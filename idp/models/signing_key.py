"""Signing keys in the database, for instances that share one key store (IDP_KEYS_STORE=database)."""

from __future__ import annotations

from sqlalchemy import BigInteger, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class SigningKey(db.Model):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[int] = mapped_column(BigInteger)
    activated_at: Mapped[int | None] = mapped_column(BigInteger)
    retire_after: Mapped[int | None] = mapped_column(BigInteger)
    # Password-protected PKCS#8 PEM (IDP_KEYS_PASSPHRASE): a database dump holds no usable key.
    private_key: Mapped[bytes] = mapped_column(LargeBinary)
    # Bumped on every change: workers compare max(revision) to notice a rotation cheaply.
    revision: Mapped[int] = mapped_column(BigInteger, index=True)
