"""A short code sent to a phone or email (or printed on paper) to prove the citizen holds it.

Codes are short and numeric, so only a keyed hash is stored (an HMAC with the server's key): a
stolen table cannot be brute-forced offline. Attempts are counted on the row, so guessing stops
after a few tries whatever instance answers.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now
from ..extensions import db

# What a code proves: ownership of a phone or email, the right to set a new password, or the
# first login of an account created by an operator ("pending activation").
PURPOSES = ("verify_phone", "verify_email", "reset_password", "activate")
CHANNELS = ("sms", "email", "paper")


class VerificationCode(db.Model):
    __tablename__ = "verification_codes"
    __table_args__ = (Index("ix_verification_codes_citizen_purpose", "citizen_pk", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_pk: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    # Where the code was sent (a phone in E.164 or an email address); empty for paper.
    destination: Mapped[str] = mapped_column(String(254), default="")
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sends: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now)
    last_sent_at: Mapped[int] = mapped_column(BigInteger, default=now)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    consumed_at: Mapped[int | None] = mapped_column(BigInteger)
