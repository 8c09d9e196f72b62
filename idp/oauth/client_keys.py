"""A portal's public keys (for private_key_jwt): its registered `jwks`, or its `jwks_uri` fetched
with a timeout, cached, and fetched again when an assertion names a kid the cache does not know
(the portal rotated its keys) — at most once per REFETCH_AFTER seconds, so a stream of unknown
kids cannot make us hammer the portal's server."""

from __future__ import annotations

import json
import logging
import threading
import time

import requests
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 5
MAX_BYTES = 64 * 1024
CACHE_SECONDS = 600
REFETCH_AFTER = 30
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


class KeysUnavailable(Exception):
    """The portal's keys could not be had (fetch failed, bad document)."""


def public_keyset(document: object) -> KeySet:
    """A KeySet from a JWKS document holding public keys only; ValueError otherwise."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list) or not document["keys"]:
        raise ValueError("a JWKS is an object with a non-empty keys array")
    for key in document["keys"]:
        if not isinstance(key, dict) or any(member in key for member in PRIVATE_MEMBERS):
            raise ValueError("a JWKS given to us must hold public keys only")
    try:
        return KeySet.import_key_set(document)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"the JWKS cannot be read: {exc}") from None


class RemoteKeys:
    """Per-process cache of fetched JWKS documents, by URI."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, KeySet]] = {}

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def get(self, uri: str, kid: str | None) -> KeySet:
        with self._lock:
            cached = self._cache.get(uri)
        fresh = cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS
        knows_kid = cached is not None and (kid is None or any(k.kid == kid for k in cached[1].keys))
        may_refetch = cached is None or time.monotonic() - cached[0] >= REFETCH_AFTER
        if cached is not None and ((fresh and knows_kid) or not may_refetch):
            return cached[1]
        keyset = self._fetch(uri)
        with self._lock:
            self._cache[uri] = (time.monotonic(), keyset)
        return keyset

    @staticmethod
    def _fetch(uri: str) -> KeySet:
        try:
            with requests.get(uri, timeout=FETCH_TIMEOUT, allow_redirects=False, stream=True) as response:
                if response.status_code != 200:
                    raise KeysUnavailable(f"jwks_uri answered {response.status_code}")
                body = response.raw.read(MAX_BYTES + 1, decode_content=True)
        except requests.RequestException as exc:
            log.warning("jwks_uri %s could not be fetched: %s", uri, type(exc).__name__)
            raise KeysUnavailable("jwks_uri could not be fetched") from None
        if len(body) > MAX_BYTES:
            raise KeysUnavailable("jwks_uri document is too large")
        try:
            return public_keyset(json.loads(body))
        except ValueError as exc:
            raise KeysUnavailable(str(exc)) from None


remote_keys = RemoteKeys()


def keyset_for(client, kid: str | None) -> KeySet:
    """The keys to check this portal's assertion with. Raises KeysUnavailable."""
    if client.jwks:
        try:
            return public_keyset(client.jwks)
        except ValueError as exc:
            raise KeysUnavailable(str(exc)) from None
    if client.jwks_uri:
        return remote_keys.get(client.jwks_uri, kid)
    raise KeysUnavailable("the portal has registered no keys")
