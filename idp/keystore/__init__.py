"""Signing keys: the store interface, its back-ends, and the cached key ring the oauth layer uses."""

from .keyring import KeyRing
from .store import KeyStore, KeyStoreError, StoredKey

__all__ = ["KeyRing", "KeyStore", "KeyStoreError", "StoredKey"]
