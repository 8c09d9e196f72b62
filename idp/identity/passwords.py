"""Argon2id password hashing (RFC 9106), with transparent rehash and a dummy verification.

The dummy verification runs for unknown accounts so that a login attempt takes the same time
whether or not the account exists (no enumeration by timing).

Hashes are computed ``concurrency`` at a time per process. Four threads each filling 64 MiB on one
core evict each other's memory from the caches and all finish later; in turn they finish sooner
(measured in bench/: login POST rate / raw Argon2 rate went from 0.79 to the figure in RESULTS.md),
and the worker's other threads keep answering token requests meanwhile.
"""

from __future__ import annotations

import threading

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Passwords:
    def __init__(self, time_cost: int, memory_cost: int, parallelism: int, concurrency: int = 1) -> None:
        self._turns = threading.BoundedSemaphore(concurrency)
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._dummy_hash = self._hasher.hash("dummy password that no one has")

    def hash(self, password: str) -> str:
        with self._turns:
            return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> tuple[bool, str | None]:
        """(matches, new_hash). new_hash is set when the stored hash used older parameters."""
        if stored_hash is None:
            self._verify_quietly(self._dummy_hash, password)
            return False, None
        if not self._verify_quietly(stored_hash, password):
            return False, None
        if self._hasher.check_needs_rehash(stored_hash):
            return True, self.hash(password)
        return True, None

    def _verify_quietly(self, stored_hash: str, password: str) -> bool:
        try:
            with self._turns:
                return self._hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
