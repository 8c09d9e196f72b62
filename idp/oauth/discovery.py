"""The OpenID Provider metadata (OIDC Discovery §3, RFC 8414), built once and served as bytes."""

from __future__ import annotations

import hashlib
import json

from ..config import Settings
from ..identity.assurance import LADDER
from .assertions import HMAC_ALGS, SIGNED_ALGS
from .claims import STANDARD_SCOPES, all_claims
from .encryption import CONTENT_ENCS, KEY_ALGS
from .grants import CLIENT_AUTH_METHODS
from .server import GRANT_TYPES

ACR_VALUES = list(LADDER)


def metadata(settings: Settings) -> dict:
    url = settings.url
    return {
        "issuer": settings.issuer,
        "authorization_endpoint": url("/authorize"),
        "token_endpoint": url("/token"),
        "userinfo_endpoint": url("/userinfo"),
        "jwks_uri": url("/jwks.json"),
        "revocation_endpoint": url("/revoke"),
        "introspection_endpoint": url("/introspect"),
        "end_session_endpoint": url("/logout"),
        "registration_endpoint": url("/connect/register"),
        "pushed_authorization_request_endpoint": url("/par"),
        "device_authorization_endpoint": url("/device_authorization"),
        "require_pushed_authorization_requests": False,
        "scopes_supported": list(STANDARD_SCOPES),
        "claims_supported": all_claims(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": list(settings.signing_algs),
        "token_endpoint_auth_methods_supported": [*CLIENT_AUTH_METHODS, "none"],
        "revocation_endpoint_auth_methods_supported": [*CLIENT_AUTH_METHODS, "none"],
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": [*SIGNED_ALGS, *HMAC_ALGS],
        "dpop_signing_alg_values_supported": SIGNED_ALGS,
        "userinfo_signing_alg_values_supported": list(settings.signing_algs),
        "id_token_encryption_alg_values_supported": list(KEY_ALGS),
        "id_token_encryption_enc_values_supported": list(CONTENT_ENCS),
        "userinfo_encryption_alg_values_supported": list(KEY_ALGS),
        "userinfo_encryption_enc_values_supported": list(CONTENT_ENCS),
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "acr_values_supported": ACR_VALUES,
        "claim_types_supported": ["normal"],
        # Only its id_token.acr member is acted on (voluntary or essential; see oauth/authorize).
        "claims_parameter_supported": True,
        "request_parameter_supported": True,
        "request_object_signing_alg_values_supported": [*SIGNED_ALGS, *HMAC_ALGS],
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "ui_locales_supported": ["vi", "en"],
        "claims_locales_supported": ["vi"],
        "frontchannel_logout_supported": True,
        "frontchannel_logout_session_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }


def document(settings: Settings) -> tuple[bytes, str]:
    """(body, ETag) of the discovery document."""
    body = json.dumps(metadata(settings), separators=(",", ":")).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
