"""DPoP (RFC 9449): access and refresh tokens bound to a key the portal holds, so a stolen token
is useless without that key.

A proof is a JWT the portal signs for each request with its DPoP key: `typ` dpop+jwt, the public
key in the header, the method and URL of the request, a fresh `jti` (replays refused on every
instance, through the same table as client assertions), `iat` within the allowed window, and
`ath` (the access token's hash) when it accompanies an access token. At the token endpoint the
proof must also carry a server nonce (§8) unless IDP_DPOP_NONCE is off; the nonce is stateless
(an HMAC of a five-minute window) so any instance can check it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry

from ..identity.server_keys import derive
from ..services import services
from .assertions import SIGNED_ALGS, remember_jti
from .client_keys import PRIVATE_MEMBERS

HEADER = "DPoP"
NONCE_HEADER = "DPoP-Nonce"
MAX_AGE = 300  # how old (or how far in the future, with the clock skew) a proof's iat may be
NONCE_WINDOW = 300
_NONCE_PURPOSE = "dpop-nonce-v1"


class ProofError(Exception):
    """A refused proof: ``error`` is invalid_dpop_proof or use_dpop_nonce (RFC 9449 §12.2)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Proof:
    jkt: str  # RFC 7638 SHA-256 thumbprint of the proof's public key


# --- nonces ---------------------------------------------------------------------------------
def _nonce_for(window: int) -> str:
    mac = hmac.new(derive(_NONCE_PURPOSE), str(window).encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(window.to_bytes(8, "big") + mac).rstrip(b"=").decode()


def current_nonce() -> str:
    return _nonce_for(int(time.time()) // NONCE_WINDOW)


def nonce_is_fresh(nonce: object) -> bool:
    """This window's nonce or the previous one's (a portal may have just received it)."""
    if not isinstance(nonce, str) or len(nonce) > 64:
        return False
    now_window = int(time.time()) // NONCE_WINDOW
    return any(hmac.compare_digest(nonce, _nonce_for(w)) for w in (now_window, now_window - 1))


# --- proofs ---------------------------------------------------------------------------------
def _same_url(htu: object, expected: str) -> bool:
    """§4.3: compare without query and fragment."""
    if not isinstance(htu, str):
        return False
    parts = urlsplit(htu)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", "")) == expected


def ath_of(access_token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(b"=").decode()


def verify(
    proof: str | None, method: str, path: str, *, access_token: str | None = None, need_nonce: bool = False
) -> Proof:
    """Check a proof for ``method`` on our URL ``path``; its key's thumbprint. Raises ProofError."""
    if not proof or len(proof) > 8192 or proof.count(".") != 2:
        raise ProofError("invalid_dpop_proof", "Send one DPoP proof (a signed JWT) in the DPoP header.")
    try:
        header = jws.extract_compact(proof.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeEncodeError):
        raise ProofError("invalid_dpop_proof", "The DPoP proof is not a JWT.") from None
    if header.get("typ") != "dpop+jwt" or header.get("alg") not in SIGNED_ALGS:
        raise ProofError("invalid_dpop_proof", "A DPoP proof has typ dpop+jwt and an asymmetric alg.")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or any(member in jwk for member in PRIVATE_MEMBERS):
        raise ProofError("invalid_dpop_proof", "The DPoP proof must carry its public key (jwk).")
    try:
        key = JWKRegistry.import_key(jwk)
        claims = jwt.decode(proof, key, algorithms=[header["alg"]]).claims
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ProofError("invalid_dpop_proof", f"The DPoP proof's signature is not valid ({exc}).") from None
    settings = services().settings
    if claims.get("htm") != method or not _same_url(claims.get("htu"), settings.url(path)):
        raise ProofError("invalid_dpop_proof", "The DPoP proof is for another method or URL (htm, htu).")
    iat, at = claims.get("iat"), int(time.time())
    if not isinstance(iat, int) or iat > at + settings.clock_skew or iat < at - MAX_AGE:
        raise ProofError("invalid_dpop_proof", "The DPoP proof's iat is too old or in the future.")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise ProofError("invalid_dpop_proof", "The DPoP proof needs a jti.")
    if access_token is not None and claims.get("ath") != ath_of(access_token):
        raise ProofError("invalid_dpop_proof", "The DPoP proof's ath does not match the access token.")
    if need_nonce and not nonce_is_fresh(claims.get("nonce")):
        raise ProofError(
            "use_dpop_nonce", "Send the DPoP proof again with the nonce in the DPoP-Nonce header."
        )
    jkt = key.thumbprint()
    if not remember_jti(f"dpop:{jkt}", jti, iat + MAX_AGE + settings.clock_skew):
        raise ProofError("invalid_dpop_proof", "The DPoP proof was already used (jti).")
    return Proof(jkt=jkt)


def header_value(headers) -> str | None:
    """The single DPoP header (§4.3: exactly one), or None when there is none."""
    values = headers.getlist(HEADER) if hasattr(headers, "getlist") else [headers.get(HEADER)]
    values = [v for v in values if v is not None]
    if len(values) > 1:
        raise ProofError("invalid_dpop_proof", "Send exactly one DPoP header.")
    return values[0] if values else None


def error_body(exc: ProofError) -> str:
    return json.dumps({"error": exc.error, "error_description": exc.description})
