"""Keys derived from the server's secret key, one per purpose (HKDF, RFC 5869).

One secret to keep; a key for one purpose tells nothing about the key for another. Changing
IDP_SECRET_KEY makes stored TOTP secrets unreadable and recovery codes unusable: the citizens
concerned enrol again (an operator runs `idp users reset-mfa`).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


def derive(purpose: str) -> bytes:
    """32 bytes for ``purpose`` (e.g. "totp-secret-encryption-v1")."""
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"thainguyen-id", info=purpose.encode()).derive(
        secret
    )
