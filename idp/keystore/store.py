"""The key-store interface. Back-ends keep keys; the lifecycle decides states; the key ring signs.

States: ``next`` (published, not yet signing) → ``active`` (signs; one per algorithm) →
``retired`` (published until every token it signed has expired) → removed; and ``revoked``
(withdrawn from the JWKS at once, kept on record). Callers ask the key ring only for "the key
that signs ES256" and "the public JWKS", so the lifecycle changes nothing for them.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Protocol

STATES = ("next", "active", "retired", "revoked")
PUBLISHED_STATES = ("next", "active", "retired")


class KeyStoreError(RuntimeError):
    """The store cannot be read or written; the message names the file or row."""


@dataclass(frozen=True)
class StoredKey:
    kid: str
    alg: str
    state: str
    created_at: int
    activated_at: int | None
    retire_after: int | None
    private_pem: bytes = b""  # PKCS#8, unencrypted: only ever in memory

    def but(self, **changes) -> StoredKey:
        return replace(self, **changes)


class KeyStore(Protocol):
    def version(self) -> str:
        """A cheap token that changes whenever the key set changes (no key is parsed)."""

    def load(self) -> tuple[list[StoredKey], list[str]]:
        """(the readable keys, one message per key that could not be read, naming it)."""

    def add(self, key: StoredKey) -> None:
        """Store a new key, its private part encrypted at rest."""

    def update(self, key: StoredKey) -> None:
        """Record a key's new state and timestamps (the private part is unchanged)."""

    def remove(self, kid: str) -> None:
        """Delete a key for good."""

    def lock(self) -> AbstractContextManager[None]:
        """Serialise changes across processes and instances."""
