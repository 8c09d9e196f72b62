"""The JWTs we sign (ID tokens, logout tokens, signed UserInfo): compact JWS (RFC 7515 §7.1), with
each key's protected header encoded once.

joserfc's ``jwt.encode`` checks and copies the header, looks the algorithm up, guesses the key and
encodes both parts again on every call: 36 µs per ID token on the benchmark machine, beside the
323 µs of the RSA signature itself, on every login and every refresh. Here the header of a
(key, typ) is checked against joserfc's registry and encoded the first time it is used, the
claims are encoded with orjson, and the signature is still joserfc's own algorithm with the key
ring's joserfc key (``JWSRegistry.algorithms[alg].sign``: for ECDSA the raw r‖s form RFC 7518
§3.4 asks for). Decoding and verifying stay joserfc's (``jwt.decode``), and the tests verify what
is signed here with it and with the published JWKS.
"""

from __future__ import annotations

import orjson
from joserfc.jws import JWSRegistry
from joserfc.util import urlsafe_b64encode as _b64

# Headers of the keys in use: a handful (one per algorithm, plus a key being rotated in or out).
_MAX_HEADERS = 64
_headers: dict[tuple[str, str, str], bytes] = {}


def _header(key, typ: str) -> bytes:
    """BASE64URL(UTF8(protected header)) for this key, checked as jws.serialize_compact checks it."""
    cache_key = (key.kid, key.alg, typ)
    found = _headers.get(cache_key)
    if found is not None:
        return found
    header = {"typ": typ, "alg": key.alg, "kid": key.kid}
    registry = JWSRegistry(algorithms=[key.alg])
    registry.check_header(header)
    registry.get_alg(key.alg).check_key(key)
    encoded = _b64(orjson.dumps(header))
    # No lock: two threads racing here only encode the same header twice.
    if len(_headers) >= _MAX_HEADERS:
        _headers.clear()  # keys rotated many times over: start again
    _headers[cache_key] = encoded
    return encoded


def sign(claims: dict, key, typ: str = "JWT") -> str:
    """The compact JWS of ``claims`` signed with ``key`` (a joserfc key with ``alg`` and ``kid``)."""
    signing_input = _header(key, typ) + b"." + _b64(orjson.dumps(claims))
    signature = JWSRegistry.algorithms[key.alg].sign(signing_input, key)
    return (signing_input + b"." + _b64(signature)).decode("ascii")
