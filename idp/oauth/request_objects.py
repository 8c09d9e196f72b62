"""Signed request objects (RFC 9101, OIDC Core §6.1): the authorization request as a JWT the
portal signed, so that nobody between the portal and us can alter it.

RFC 9101 §5: when a request object is used, only its parameters count (the outer client_id must
match it); an object that cannot be verified is never "partly" used. Objects are verified with the
portal's registered keys (private_key_jwt portals) or its secret (client_secret_jwt portals);
unsigned (`alg: none`) and encrypted objects are refused.
"""

from __future__ import annotations

import json

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from ..clock import now
from ..models import Client
from ..services import services
from .assertions import HMAC_ALGS, SIGNED_ALGS, open_secret
from .client_keys import KeysUnavailable, keyset_for
from .errors import ProtocolError

MAX_LIFETIME = 3600
# Claims of the JWT itself, not authorization request parameters.
JWT_CLAIMS = frozenset({"iss", "aud", "exp", "iat", "nbf", "jti"})


def _refused(description: str) -> ProtocolError:
    # Not redirected: the redirect_uri is inside the object we could not trust.
    return ProtocolError("invalid_request_object", description, redirect=False)


def _key_for(client: Client, kid: object):
    if client.token_endpoint_auth_method == "client_secret_jwt" and client.secret_encrypted:
        secret = open_secret(client.client_id, client.secret_encrypted)
        if secret is not None:
            return OctKey.import_key(secret), HMAC_ALGS
    if client.jwks or client.jwks_uri:
        try:
            return keyset_for(client, kid if isinstance(kid, str) else None), SIGNED_ALGS
        except KeysUnavailable as exc:
            raise _refused(f"The portal's keys are not available: {exc}.") from None
    raise _refused("This portal has registered no key to sign request objects with.")


def _as_parameter(name: str, value: object) -> str:
    """A request object carries JSON values; the authorization checks read strings."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        raise _refused(f"{name} must be a string.")
    if isinstance(value, int):
        return str(value)
    if name == "claims" and isinstance(value, dict):
        return json.dumps(value)
    raise _refused(f"{name} must be a string.")


def unpack(params: dict[str, str], client: Client) -> dict[str, str]:
    """The request's parameters: those of its verified request object, if it has one."""
    raw = params.get("request")
    if raw is None:
        return params
    if raw.count(".") != 2:
        raise _refused("Encrypted or malformed request objects are not accepted; sign it (JWS).")
    try:
        kid = jws.extract_compact(raw.encode("ascii")).headers().get("kid")
    except (JoseError, ValueError, UnicodeEncodeError):
        raise _refused("The request object is not a JWT.") from None
    key, algorithms = _key_for(client, kid)
    try:
        token = jwt.decode(raw, key, algorithms=algorithms)
    except (JoseError, ValueError) as exc:
        raise _refused(f"The request object's signature is not valid ({exc}).") from None
    claims = token.claims
    at, skew = now(), services().settings.clock_skew
    if claims.get("iss") != client.client_id:
        raise _refused("The request object's iss must be the client_id.")
    aud = claims.get("aud")
    named = {aud} if isinstance(aud, str) else set(aud) if isinstance(aud, list) else set()
    if services().settings.issuer not in named:
        raise _refused("The request object's aud must be the issuer.")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= at - skew or exp > at + MAX_LIFETIME + skew:
        raise _refused(f"The request object needs an exp within the next {MAX_LIFETIME} s.")
    if "nbf" in claims and (not isinstance(claims["nbf"], int) or claims["nbf"] > at + skew):
        raise _refused("The request object is not valid yet.")
    if claims.get("client_id", client.client_id) != client.client_id:
        raise _refused("client_id inside the request object differs from the one outside.")
    if "request" in claims or "request_uri" in claims:
        raise _refused("A request object cannot contain another one.")
    inner = {k: _as_parameter(k, v) for k, v in claims.items() if k not in JWT_CLAIMS}
    inner["client_id"] = client.client_id
    return inner
