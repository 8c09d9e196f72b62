"""Keys derived from the server's secret key, one per purpose (HKDF, RFC 5869).

One secret to keep; a key for one purpose tells nothing about the key for another. Changing
IDP_SECRET_KEY makes stored TOTP secrets unreadable and recovery codes unusable: the citizens
concerned enrol again (an operator runs `idp users reset-mfa`).
"""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


def derive(purpose: str, secret: str | bytes | None = None) -> bytes:
    """32 bytes for ``purpose`` (e.g. "totp-secret-encryption-v1"), from the app's SECRET_KEY or
    from ``secret`` (an older key still accepted: SECRET_KEY_FALLBACKS)."""
    if secret is None:
        secret = current_app.config["SECRET_KEY"]
    return _derive(secret.encode() if isinstance(secret, str) else secret, purpose)


@functools.lru_cache(maxsize=64)  # a few purposes of one or two keys; asked on every page and token
def _derive(secret: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"thainguyen-id", info=purpose.encode()).derive(
        secret
    )
