"""The browser's small signed state (the CSRF token, a second factor or a sign-up under way) in
one cookie: Flask's own cookie session, signed here with HMAC-SHA256 and serialised with orjson.

Flask signs its session with itsdangerous (HMAC-SHA1, a JSON tagger that walks every value, a
zlib pass); every page of a login opens and saves that cookie, and it was ≈ 4 % of a login's
Python time (bench/CHANGES.md). What the cookie holds is plain JSON: strings, numbers, lists and
dicts. It is signed, not encrypted, as before: nothing secret is kept in it.

A value is ``<payload>.<issued at>.<signature>``: the base64url JSON, the Unix time it was
signed, and base64url(HMAC-SHA256(key, payload "." issued at)), where the key is derived
(server_keys.derive) from the application's SECRET_KEY, or from one of SECRET_KEY_FALLBACKS, so
that a rotation leaves the browsers' cookies valid until they are signed again.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import time
from typing import Any

import orjson
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, SignatureExpired
from joserfc.util import urlsafe_b64decode as _unb64
from joserfc.util import urlsafe_b64encode as _b64

from ..identity.server_keys import derive

PURPOSE = "cookie-session-signing-v1"


class SignedCookie:
    """dumps/loads as Flask's session interface calls its serializer; ``keys``: current first."""

    def __init__(self, keys: list[bytes]) -> None:
        self.keys = keys

    def dumps(self, obj: Any) -> str:
        signed = _b64(orjson.dumps(obj)) + b"." + str(int(time.time())).encode()
        return (signed + b"." + _b64(hmac.digest(self.keys[0], signed, hashlib.sha256))).decode()

    def loads(self, value: str, max_age: int | None = None) -> Any:
        try:
            signed, _, signature = value.encode("ascii").rpartition(b".")
            given = _unb64(signature)
        except (UnicodeEncodeError, binascii.Error, ValueError):
            raise BadSignature("malformed") from None
        if not any(
            hmac.compare_digest(hmac.digest(key, signed, hashlib.sha256), given) for key in self.keys
        ):
            raise BadSignature("signature does not match")
        payload, _, issued = signed.partition(b".")
        # Signed by us, so well-formed: only its age is left to check.
        if max_age is not None and time.time() - int(issued) > max_age:
            raise SignatureExpired("expired")
        return orjson.loads(_unb64(payload))


class CookieSessions(SecureCookieSessionInterface):
    """Flask's cookie session (its cookie flags, its "set only when changed" rules) with the
    signature above; one serializer per secret key, built once."""

    _cache: tuple[Any, Any, SignedCookie | None] = (None, None, None)

    def get_signing_serializer(self, app: Flask) -> SignedCookie | None:  # type: ignore[override]
        if not app.secret_key:
            return None
        secret, fallbacks, serializer = self._cache
        current_fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or ()
        if serializer is None or secret is not app.secret_key or fallbacks is not current_fallbacks:
            keys = [derive(PURPOSE, k) for k in (app.secret_key, *current_fallbacks)]
            serializer = SignedCookie(keys)
            self._cache = (app.secret_key, current_fallbacks, serializer)
        return serializer
