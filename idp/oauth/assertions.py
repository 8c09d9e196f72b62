"""Client authentication with a signed JWT (RFC 7523 §2.2; OIDC Core §9): private_key_jwt and
client_secret_jwt, for the token, PAR, revocation and introspection endpoints.

Written here rather than with Authlib's JWTBearerClientAssertion because that class verifies with
joserfc's default algorithm list, has one method name for both kinds, and leaves jti replay and
the lifetime of an assertion to us anyway.
"""

from __future__ import annotations

import hashlib
import json
import os

from authlib.oauth2.rfc6749.errors import InvalidClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from sqlalchemy.exc import IntegrityError

from ..clock import now
from ..extensions import db
from ..identity.server_keys import derive
from ..models import SeenAssertion
from ..services import services
from .client_keys import KeysUnavailable, keyset_for

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SIGNED_ALGS = ["RS256", "PS256", "ES256", "EdDSA"]
HMAC_ALGS = ["HS256", "HS384", "HS512"]
METHODS = ("private_key_jwt", "client_secret_jwt")
# An assertion is a one-time credential (its jti is kept until it expires); an hour is what
# common client libraries use by default (Authlib's is 3600 s), and no longer is accepted.
MAX_LIFETIME = 3600
MAX_JTI = 256
_SECRET_PURPOSE = "client-secret-encryption-v1"


class AssertionRefused(InvalidClientError):
    """invalid_client with 401, as for a wrong secret (RFC 6749 §5.2)."""

    status_code = 401


# --- the secret of a client_secret_jwt portal, kept encrypted -----------------------------------
def seal_secret(client_id: str, secret: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(derive(_SECRET_PURPOSE)).encrypt(nonce, secret.encode(), client_id.encode())


def open_secret(client_id: str, sealed: bytes) -> str | None:
    try:
        return AESGCM(derive(_SECRET_PURPOSE)).decrypt(sealed[:12], sealed[12:], client_id.encode()).decode()
    except (InvalidTag, ValueError):
        return None  # IDP_SECRET_KEY changed: the portal needs a new secret


# --- the check ----------------------------------------------------------------------------
def _unverified(assertion: str) -> tuple[dict, dict]:
    """Header and claims before any check: only to find the portal and its key."""
    try:
        compact = jws.extract_compact(assertion.encode("ascii"))
        claims = json.loads(compact.payload)
    except (JoseError, UnicodeEncodeError, ValueError):
        raise AssertionRefused(description="The client assertion is not a JWT.") from None
    if not isinstance(claims, dict):
        raise AssertionRefused(description="The client assertion is not a JWT.")
    return compact.headers(), claims


def audiences() -> set[str]:
    """What `aud` may name: the issuer (FAPI 2.0 prefers it) or the endpoint being called."""
    url = services().settings.url
    return {services().settings.issuer, *(url(p) for p in ("/token", "/par", "/revoke", "/introspect"))}


def _check_claims(claims: dict, client_id: str) -> None:
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise AssertionRefused(description="iss and sub of the client assertion must be the client_id.")
    aud = claims.get("aud")
    named = {aud} if isinstance(aud, str) else set(aud) if isinstance(aud, list) else set()
    if not named & audiences():
        raise AssertionRefused(description="The client assertion's aud must be the issuer.")
    exp, iat, at = claims.get("exp"), claims.get("iat"), now()
    skew = services().settings.clock_skew
    if not isinstance(exp, int) or exp <= at - skew:
        raise AssertionRefused(description="The client assertion has expired (or has no exp).")
    if exp > at + MAX_LIFETIME + skew:
        raise AssertionRefused(description=f"The client assertion lives longer than {MAX_LIFETIME} s.")
    if iat is not None and (not isinstance(iat, int) or iat > at + skew):
        raise AssertionRefused(description="The client assertion's iat is in the future.")
    if "nbf" in claims and (not isinstance(claims["nbf"], int) or claims["nbf"] > at + skew):
        raise AssertionRefused(description="The client assertion is not valid yet.")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI:
        raise AssertionRefused(description="The client assertion needs a jti.")


def remember_jti(issuer: str, jti: str, keep_until: int) -> bool:
    """False if ``issuer`` (a client_id, or "dpop:" and a key thumbprint) used ``jti`` before.
    A savepoint keeps the request's transaction usable on PostgreSQL after the refused INSERT."""
    try:
        with db.session.begin_nested():
            db.session.add(
                SeenAssertion(
                    client_id=issuer[:64],
                    jti_hash=hashlib.sha256(jti.encode()).hexdigest(),
                    expires_at=keep_until,
                )
            )
    except IntegrityError:
        return False
    return True


def _remember_jti(client_id: str, jti: str, exp: int) -> None:
    if not remember_jti(client_id, jti, exp + services().settings.clock_skew):
        raise AssertionRefused(description="The client assertion was already used (jti).")


class ClientAssertion:
    """An Authlib client-authentication method for one of METHODS."""

    def __init__(self, method: str) -> None:
        assert method in METHODS
        self.method = method

    def __call__(self, query_client, request):
        form = request.form
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return None
        assertion = form.get("client_assertion")
        if not isinstance(assertion, str) or not assertion or len(assertion) > 8192:
            raise AssertionRefused(description="client_assertion is missing.")
        header, claims = _unverified(assertion)
        client_id = claims.get("sub")
        client = query_client(client_id) if isinstance(client_id, str) else None
        if client is None:
            raise AssertionRefused(description="The client does not exist on this server.")
        if client.token_endpoint_auth_method != self.method:
            return None  # the other method's check, or none, applies to this portal
        if form.get("client_id") not in (None, client_id):
            raise AssertionRefused(description="client_id and the assertion's sub differ.")
        key, algorithms = self._key(client, header.get("kid"))
        try:
            token = jwt.decode(assertion, key, algorithms=algorithms)
        except (JoseError, ValueError) as exc:
            raise AssertionRefused(
                description=f"The client assertion's signature is not valid ({exc})."
            ) from None
        _check_claims(token.claims, client.client_id)
        _remember_jti(client.client_id, token.claims["jti"], token.claims["exp"])
        return client

    def _key(self, client, kid):
        if self.method == "client_secret_jwt":
            secret = (
                open_secret(client.client_id, client.secret_encrypted) if client.secret_encrypted else None
            )
            if secret is None:
                raise AssertionRefused(description="This portal has no usable secret; ask for a new one.")
            return OctKey.import_key(secret), HMAC_ALGS
        try:
            return keyset_for(client, kid if isinstance(kid, str) else None), SIGNED_ALGS
        except KeysUnavailable as exc:
            raise AssertionRefused(description=f"The portal's keys are not available: {exc}.") from None
