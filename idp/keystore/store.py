"""The key-store interface. Back-ends keep keys; the key ring decides which one signs.

Key states follow the rotation lifecycle: ``next`` (published, not yet signing) → ``active``
(signs; one per algorithm) → ``retired`` (published until its tokens expire) → removed, and
``revoked`` (withdrawn at once). Callers only ask the key ring for "the key that signs ES256"
and "the public JWKS", so the lifecycle can grow without changing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

STATES = ("next", "active", "retired", "revoked")


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
    private_pem: bytes  # PKCS#8, unencrypted: only ever in memory


class KeyStore(Protocol):
    def version(self) -> str:
        """A cheap token that changes whenever the key set changes (no key parsing)."""

    def load(self) -> tuple[list[StoredKey], list[str]]:
        """(the readable keys, one message per key that could not be read)."""

    def add(self, key: StoredKey) -> None:
        """Store a new key (encrypted at rest)."""

    def set_state(self, kid: str, state: str, at: int) -> None:
        """Move a key to another state."""

    def lock(self):
        """A context manager serialising changes across processes."""
