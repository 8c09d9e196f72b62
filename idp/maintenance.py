"""Removing what has expired: codes, tokens, sessions, pending logins, stale login counters.

In batches with a commit after each, so no lock is held for long; on PostgreSQL the rows of a
batch are claimed with SKIP LOCKED, so the job can run from cron on every replica at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, or_, select

from .clock import now
from .extensions import db
from .models import (
    AuthorizationCode,
    BrowserSession,
    DeviceAuthorization,
    Interaction,
    LoginThrottle,
    PushedRequest,
    SeenAssertion,
    Token,
)

# Expired rows are kept this long after expiry, so a late replay is still recognised as one
# (and revokes its grant) instead of looking like an unknown code or token.
REPLAY_MEMORY = 24 * 3600


@dataclass(frozen=True)
class Target:
    name: str
    model: type
    key: object
    expired: object


def targets(at: int, lock_time: int) -> list[Target]:
    cutoff = at - REPLAY_MEMORY
    return [
        Target(
            "authorization codes",
            AuthorizationCode,
            AuthorizationCode.id,
            AuthorizationCode.expires_at < cutoff,
        ),
        Target("tokens", Token, Token.id, Token.expires_at < cutoff),
        Target(
            "browser sessions",
            BrowserSession,
            BrowserSession.id,
            or_(BrowserSession.expires_at < at, BrowserSession.ended_at < cutoff),
        ),
        Target("pending logins", Interaction, Interaction.id, Interaction.expires_at < at),
        Target("pushed requests", PushedRequest, PushedRequest.request_hash, PushedRequest.expires_at < at),
        Target(
            "device authorizations",
            DeviceAuthorization,
            DeviceAuthorization.id,
            DeviceAuthorization.expires_at < cutoff,
        ),
        Target(
            "seen client assertions", SeenAssertion, SeenAssertion.jti_hash, SeenAssertion.expires_at < at
        ),
        Target(
            "login counters",
            LoginThrottle,
            LoginThrottle.key,
            (LoginThrottle.not_before < at) & (LoginThrottle.last_failure_at < at - lock_time),
        ),
    ]


def purge(batch_size: int, lock_time: int) -> dict[str, int]:
    """Delete expired rows batch by batch; {target: rows deleted}."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    counts: dict[str, int] = {}
    for target in targets(now(), lock_time):
        total = 0
        while True:
            batch = select(target.key).where(target.expired).limit(batch_size)
            if postgres:
                batch = batch.with_for_update(skip_locked=True)
            # `expired` again in the DELETE: a key need not be unique (seen assertions' jti hashes).
            deleted = db.session.execute(
                delete(target.model).where(target.key.in_(batch), target.expired)
            ).rowcount
            db.session.commit()
            total += deleted
            if deleted < batch_size:
                break
        counts[target.name] = total
    return counts
