"""The key ring: keys parsed once, cached, and refreshed by a cheap version check.

The oauth layer asks it for the signing key of an algorithm and for the public JWKS (bytes and
an ETag). No request reads a file or parses a key unless the store's version changed, and each
worker looks at the version at most once per ``check_interval`` seconds: a rotation reaches every
worker of every instance within that bound, without a restart.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time

from joserfc.jwk import KeySet

from . import lifecycle
from .store import PUBLISHED_STATES, KeyStore, KeyStoreError

log = logging.getLogger(__name__)


class KeyRing:
    def __init__(
        self,
        store: KeyStore,
        algorithms: tuple[str, ...],
        check_interval: int,
        policy: lifecycle.Policy | None = None,
    ) -> None:
        self.store = store
        self.algorithms = algorithms
        self.check_interval = check_interval
        self.policy = policy or lifecycle.Policy(algorithms, 2048, retire_grace=3600, min_publication=0)
        self._lock = threading.Lock()
        self._version: str | None = None
        self._checked_at = float("-inf")
        self._signing: dict[str, object] = {}
        self._published: dict[str, object] = {}
        self._verification = KeySet([])
        self.jwks_bytes = b""
        self.jwks_etag = ""
        self.problems: list[str] = []
        self._needs_start = False

    def ensure_keys(self) -> list[lifecycle.Change]:
        """First start (or a newly configured algorithm): an active and a next key per algorithm."""
        changes = lifecycle.ensure(self.store, self.policy)
        for change in changes:
            log.info("signing key %s", change)
        self._checked_at = float("-inf")
        return changes

    def start(self) -> list[lifecycle.Change]:
        """At start-up: create missing keys and load them. A database store whose table does not
        exist yet (before `idp db upgrade`) is left for the first request to try again."""
        try:
            changes = self.ensure_keys()
            self.refresh(force=True)
            return changes
        except KeyStoreError:
            raise
        except Exception as exc:
            log.warning("signing keys not loaded yet (%s); run `idp db upgrade`", exc.__class__.__name__)
            self._needs_start = True
            return []

    def refresh(self, force: bool = False) -> None:
        """Reload when the store changed; at most one version check per interval."""
        if self._needs_start:
            self._needs_start = False
            self.start()
            return
        if not force and time.monotonic() - self._checked_at < self.check_interval:
            return
        with self._lock:
            if not force and time.monotonic() - self._checked_at < self.check_interval:
                return  # another thread just did it
            self._checked_at = time.monotonic()
            try:
                version = self.store.version()
                if version == self._version and not force:
                    return
                keys, problems = self.store.load()
            except Exception as exc:
                if not self._signing:
                    raise
                log.error("key store unreadable, still using the cached keys: %s", exc)
                return
            for problem in problems:
                log.error("signing key unusable, skipped: %s", problem)
            self.problems = problems
            self._install(keys)
            self._version = version

    def _install(self, keys) -> None:
        signing, published = {}, {}
        for stored in keys:
            if stored.state not in PUBLISHED_STATES:
                continue
            key = lifecycle.import_jwk(stored.private_pem, stored.alg, stored.kid)
            published[stored.kid] = key
            if stored.state == "active":
                signing[stored.alg] = key
        for alg, key in self._signing.items():
            if alg not in signing and key.kid not in {k.kid for k in keys if k.state == "revoked"}:
                # Its active key became unreadable: keep signing with the copy in memory, and keep
                # publishing it, rather than stop or serve a JWKS that cannot verify our tokens.
                log.error(
                    "no readable active %s key in the store; still signing with cached kid=%s", alg, key.kid
                )
                signing[alg] = key
                published.setdefault(key.kid, key)
        if not signing:
            raise KeyStoreError("no usable active signing key in the key store")
        body = json.dumps(
            {"keys": [k.as_dict(private=False) for k in published.values()]}, separators=(",", ":")
        ).encode()
        self._signing = signing
        self._published = published
        self._verification = KeySet(list(published.values()))
        self.jwks_bytes = body
        self.jwks_etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'

    def signing_key(self, alg: str):
        self.refresh()
        try:
            return self._signing[alg]
        except KeyError:
            raise KeyStoreError(f"no active {alg} signing key") from None

    def active_algorithms(self) -> tuple[str, ...]:
        self.refresh()
        return tuple(a for a in self.algorithms if a in self._signing)

    def verification_keys(self) -> KeySet:
        """The published keys: a token signed by a revoked or removed key no longer verifies."""
        self.refresh()
        return self._verification

    def jwks(self) -> tuple[bytes, str]:
        self.refresh()
        return self.jwks_bytes, self.jwks_etag
