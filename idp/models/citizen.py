"""A citizen: identified once by the CCCD number, known to portals by an opaque ``subject``."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Boolean, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now
from ..extensions import db
from ..lean import Record

# "pending": created by an operator (`idp users import`), waiting for its activation code.
STATUSES = ("pending", "active", "locked", "disabled")
GENDERS = ("male", "female")


class CitizenRules:
    """What the model says of a citizen over its attributes alone: shared by the ORM model and by
    CitizenRow, the plain row the login pages read."""

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    def get_user_id(self) -> int:
        return self.id


class CitizenRow(CitizenRules, Record):
    """A citizen as a plain, read-only row (the login pages); a change goes through the model."""


class Citizen(CitizenRules, db.Model):
    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The `sub` claim: random, stable, and not the CCCD number, so a token never leaks it.
    subject: Mapped[str] = mapped_column(String(36), unique=True, default=lambda: str(uuid.uuid4()))
    citizen_id: Mapped[str] = mapped_column(String(12), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    phone_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str | None] = mapped_column(String(300))
    locale: Mapped[str] = mapped_column(String(5), default="vi")
    status: Mapped[str] = mapped_column(String(10), default="active")
    password_hash: Mapped[str] = mapped_column(String(200))
    password_changed_at: Mapped[int | None] = mapped_column(BigInteger)
    # Level of assurance 3: identity checked in person by an operator (`idp users verify-identity`).
    identity_verified_at: Mapped[int | None] = mapped_column(BigInteger)
    identity_verified_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[int] = mapped_column(BigInteger, default=now)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now, onupdate=now)


# What a page or the hot path reads of a citizen alongside another row: every column but the
# password hash.
WITHOUT_PASSWORD = [c for c in Citizen.__table__.columns if c.key != "password_hash"]
