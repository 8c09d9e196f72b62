"""The key ring: keys parsed once, cached, and refreshed by a cheap version check.

The oauth layer asks it for the signing key of an algorithm and for the public JWKS (as bytes
with an ETag). No request reads a file or parses a key unless the store's version changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.jwk import ECKey, KeySet, RSAKey

from ..clock import now
from .store import KeyStore, KeyStoreError, StoredKey

log = logging.getLogger(__name__)

PUBLISHED_STATES = ("next", "active", "retired")


def generate(alg: str) -> StoredKey:
    """A new private key for ``alg``; its kid is the RFC 7638 thumbprint."""
    if alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        raise KeyStoreError(f"unsupported algorithm {alg}")
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    kid = _import(pem, alg, None).thumbprint()
    return StoredKey(
        kid=kid,
        alg=alg,
        state="active",
        created_at=now(),
        activated_at=now(),
        retire_after=None,
        private_pem=pem,
    )


def _import(pem: bytes, alg: str, kid: str | None):
    params = {"alg": alg, "use": "sig"}
    if kid:
        params["kid"] = kid
    cls = RSAKey if alg.startswith(("RS", "PS")) else ECKey
    return cls.import_key(pem, params)


class KeyRing:
    def __init__(self, store: KeyStore, algorithms: tuple[str, ...], check_interval: int) -> None:
        self.store = store
        self.algorithms = algorithms
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._version: str | None = None
        self._checked_at = 0.0
        self._signing: dict[str, object] = {}
        self._private_set: KeySet | None = None
        self.jwks_bytes = b""
        self.jwks_etag = ""
        self.known_kids: frozenset[str] = frozenset()

    def ensure_keys(self) -> list[str]:
        """Create an active key for every algorithm that has none. Returns the kids created."""
        created = []
        with self.store.lock():
            keys, _ = self.store.load()
            active_algs = {k.alg for k in keys if k.state == "active"}
            for alg in self.algorithms:
                if alg not in active_algs:
                    key = generate(alg)
                    self.store.add(key)
                    created.append(key.kid)
                    log.info("created signing key kid=%s alg=%s", key.kid, alg)
        self._checked_at = 0.0
        return created

    def refresh(self, force: bool = False) -> None:
        """Reload when the store changed; at most one version check per interval."""
        if not force and time.monotonic() - self._checked_at < self.check_interval:
            return
        with self._lock:
            self._checked_at = time.monotonic()
            version = self.store.version()
            if version == self._version and not force:
                return
            keys, problems = self.store.load()
            for problem in problems:
                log.error("signing key unusable, skipped: %s", problem)
            self._install(keys)
            self._version = version

    def _install(self, keys: list[StoredKey]) -> None:
        signing, published, private = {}, [], []
        for stored in keys:
            key = _import(stored.private_pem, stored.alg, stored.kid)
            if stored.state in PUBLISHED_STATES:
                published.append(key.as_dict(private=False))
                private.append(key)
            if stored.state == "active":
                signing[stored.alg] = key
        if not signing:
            # Keep serving with what we had rather than publish a JWKS that cannot verify.
            if self._signing:
                log.error("key store has no usable active key; still signing with the cached keys")
                return
            raise KeyStoreError("no usable active signing key in the key store")
        body = json.dumps({"keys": published}, separators=(",", ":")).encode()
        self._signing = signing
        self._private_set = KeySet(private)
        self.known_kids = frozenset(k["kid"] for k in published)
        self.jwks_bytes = body
        self.jwks_etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'

    def signing_key(self, alg: str):
        self.refresh()
        try:
            return self._signing[alg]
        except KeyError:
            raise KeyStoreError(f"no active {alg} signing key") from None

    def verification_keys(self) -> KeySet:
        """The published keys (tokens signed by a revoked key no longer verify)."""
        self.refresh()
        return self._private_set

    def jwks(self) -> tuple[bytes, str]:
        self.refresh()
        return self.jwks_bytes, self.jwks_etag
