"""Encrypted ID tokens and UserInfo responses (OIDC Core §10.2; JWE, RFC 7516) for portals that
register an encryption algorithm, and signed UserInfo responses (OIDC Core §5.3.2).

Key management RSA-OAEP-256 (to an RSA key) or ECDH-ES (to a P-256 key), content encryption
A256GCM: what FranceConnect+ and Singpass ask of their relying parties. The portal's encryption
key is the one in its registered `jwks` (or at its `jwks_uri`) of the right type, preferring keys
marked `"use": "enc"`. A signed ID token is encrypted as a nested JWT (`cty: JWT`).
"""

from __future__ import annotations

import json

from joserfc import jwe

from ..clock import now
from ..services import services
from . import signer
from .client_keys import KeysUnavailable, keyset_for

KEY_ALGS = {"RSA-OAEP-256": "RSA", "ECDH-ES": "EC"}
CONTENT_ENCS = ("A256GCM",)
_ALGORITHMS = [*KEY_ALGS, *CONTENT_ENCS]


class EncryptionUnavailable(Exception):
    """The portal asked for encryption but has no usable encryption key."""


def encryption_key(client, alg: str):
    """The portal's public key for ``alg``: a key of the right type, `use: enc` first."""
    try:
        keyset = keyset_for(client, None)
    except KeysUnavailable as exc:
        raise EncryptionUnavailable(str(exc)) from None
    fitting = [k for k in keyset.keys if k.key_type == KEY_ALGS[alg] and k.get("use") in (None, "enc")]
    fitting.sort(key=lambda k: k.get("use") != "enc")
    if not fitting:
        raise EncryptionUnavailable(f"no {KEY_ALGS[alg]} key for {alg} among the portal's keys")
    return fitting[0]


def encrypt(client, alg: str, enc: str, plaintext: bytes, content_type: str | None = None) -> str:
    key = encryption_key(client, alg)
    header = {"alg": alg, "enc": enc}
    if key.kid:
        header["kid"] = key.kid
    if content_type:
        header["cty"] = content_type
    return jwe.encrypt_compact(header, plaintext, key, algorithms=_ALGORITHMS)


def id_token_for(client, signed: str) -> str:
    """The ID token as the portal registered for it: as signed, or encrypted (nested JWT)."""
    alg = client.id_token_encrypted_response_alg
    if not alg:
        return signed
    return encrypt(client, alg, client.id_token_encrypted_response_enc, signed.encode(), "JWT")


def userinfo_body(client, claims: dict) -> tuple[bytes, str]:
    """(body, content type): JSON, or a JWT signed and/or encrypted as the portal registered."""
    sign_alg = client.userinfo_signed_response_alg
    enc_alg = client.userinfo_encrypted_response_alg
    if not sign_alg and not enc_alg:
        return json.dumps(claims).encode(), "application/json"
    if sign_alg:
        key = services().keyring.signing_key(sign_alg)
        payload = {**claims, "iss": services().settings.issuer, "aud": client.client_id, "iat": now()}
        body = signer.sign(payload, key)
        if not enc_alg:
            return body.encode(), "application/jwt"
        return encrypt(
            client, enc_alg, client.userinfo_encrypted_response_enc, body.encode(), "JWT"
        ).encode(), ("application/jwt")
    plain = json.dumps(claims).encode()
    return encrypt(client, enc_alg, client.userinfo_encrypted_response_enc, plain).encode(), "application/jwt"
