"""Key generation, and encryption at rest as password-protected PKCS#8 (PBES2: PBKDF2-SHA256 and
AES-256-CBC), shared by both store back-ends."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from .store import KeyStoreError

_PLAIN = (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def generate_pem(alg: str, rsa_bits: int = 2048) -> bytes:
    if alg in ("RS256", "PS256"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        raise KeyStoreError(f"unsupported algorithm {alg}")
    return private.private_bytes(*_PLAIN)


def encrypt_pem(pem: bytes, passphrase: bytes) -> bytes:
    private = serialization.load_pem_private_key(pem, None)
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def decrypt_pem(data: bytes, passphrase: bytes) -> bytes:
    try:
        private = serialization.load_pem_private_key(data, passphrase)
    except (ValueError, TypeError) as exc:
        raise KeyStoreError(
            "cannot be decrypted or parsed (corrupt, truncated, or a wrong "
            f"IDP_KEYS_PASSPHRASE): {exc.__class__.__name__}"
        ) from None
    return private.private_bytes(*_PLAIN)
