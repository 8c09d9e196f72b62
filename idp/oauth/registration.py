"""Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).

Registration is open only to a holder of an initial access token that an operator issued
(`idp clients issue-registration-token`); each token may register a set number of portals, for at
most the scopes the operator allowed. Every metadata field is type-checked and validated; fields
of this list that the provider does not honour yet are refused rather than silently ignored, so a
portal never believes it got an encrypted ID token or a pairwise `sub` that it does not get.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update

from ..clock import now
from ..credentials import new_token, token_hash
from ..extensions import db
from ..models import Client, InitialAccessToken
from ..security import audit
from ..services import services
from . import clients
from .clients import ClientSpec, InvalidClientMetadata

INITIAL_TOKEN_PREFIX = "tnid_iat_"
REGISTRATION_TOKEN_PREFIX = "tnid_rat_"
AUTH_METHODS = (*clients.CONFIDENTIAL_AUTH_METHODS, "none")
MAX_URI = 2048
MAX_CONTACTS = 10
MAX_LIST = 20
# Registered metadata this provider does not honour yet, and the value that means "not used".
NOT_YET_SUPPORTED: dict[str, Any] = {
    "request_object_signing_alg": None,
    "software_statement": None,
}


ENCRYPTION_METADATA = (
    "userinfo_signed_response_alg",
    "id_token_encrypted_response_alg",
    "id_token_encrypted_response_enc",
    "userinfo_encrypted_response_alg",
    "userinfo_encrypted_response_enc",
)


def invalid_metadata(description: str) -> InvalidClientMetadata:
    return InvalidClientMetadata("invalid_client_metadata", description)


# --- initial access tokens ------------------------------------------------------------------
def issue_initial_token(label: str, uses: int, lifetime: int, scopes: list[str]) -> str:
    """A new initial access token, returned once and stored as a hash."""
    token = new_token(INITIAL_TOKEN_PREFIX)
    row = InitialAccessToken(
        token_hash=token_hash(token),
        label=label,
        uses_left=uses,
        scopes=scopes,
        created_at=now(),
        expires_at=now() + lifetime,
    )
    db.session.add(row)
    db.session.flush()
    audit.record("registration_token_issued", token_id=row.id, label=label, uses=uses, scopes=scopes)
    return token


def revoke_initial_token(token_id: int) -> bool:
    row = db.session.get(InitialAccessToken, token_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now()
    audit.record("registration_token_revoked", token_id=token_id, label=row.label)
    return True


def spend_initial_token(presented: str | None) -> InitialAccessToken | None:
    """The token's row with one use spent, or None (unknown, expired, revoked or used up).

    The use is taken by a conditional UPDATE, so two registrations racing for the last use
    cannot both win; it is given back if the registration then fails (the transaction rolls back).
    """
    if not presented or not presented.startswith(INITIAL_TOKEN_PREFIX) or len(presented) > 100:
        return None
    result = db.session.execute(
        update(InitialAccessToken)
        .where(
            InitialAccessToken.token_hash == token_hash(presented),
            InitialAccessToken.uses_left > 0,
            InitialAccessToken.revoked_at.is_(None),
            InitialAccessToken.expires_at > now(),
        )
        .values(uses_left=InitialAccessToken.uses_left - 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return db.session.scalar(
        select(InitialAccessToken).where(InitialAccessToken.token_hash == token_hash(presented))
    )


# --- metadata -------------------------------------------------------------------------------
@dataclass
class Metadata:
    """The validated metadata of one registration request."""

    spec: ClientSpec
    name_en: str | None
    logo_uri: str | None
    policy_uri: str | None
    tos_uri: str | None
    contacts: list[str]


def _string(body: dict, name: str, max_length: int = 200) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise invalid_metadata(f"{name} must be a non-empty string of at most {max_length} characters")
    return value.strip()


def _string_list(body: dict, name: str) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) > MAX_LIST
        or not all(isinstance(v, str) and v and len(v) <= MAX_URI for v in value)
    ):
        raise invalid_metadata(f"{name} must be an array of at most {MAX_LIST} non-empty strings")
    return list(dict.fromkeys(value))


def _web_uri(body: dict, name: str) -> str | None:
    value = _string(body, name, MAX_URI)
    if value is None:
        return None
    parts = urlsplit(value)
    if not parts.hostname or not (
        parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in clients.LOOPBACK_HOSTS)
    ):
        raise invalid_metadata(f"{name} must be an https URL")
    return value


def _contacts(body: dict) -> list[str]:
    values = _string_list(body, "contacts") or []
    if len(values) > MAX_CONTACTS:
        raise invalid_metadata(f"contacts: at most {MAX_CONTACTS} addresses")
    try:
        return [validate_email(v, check_deliverability=False).normalized for v in values]
    except EmailNotValidError as exc:
        raise invalid_metadata(f"contacts: {exc}") from None


def _refuse_unsupported(body: dict) -> None:
    for name, unused in NOT_YET_SUPPORTED.items():
        if name in body and body[name] != unused:
            raise invalid_metadata(f"{name} is not supported by this provider yet")
    if body.get("application_type", "web") not in ("web", "native"):
        raise invalid_metadata("application_type must be web or native")


def _grants_and_responses(body: dict) -> tuple[list[str], list[str]]:
    grant_types = _string_list(body, "grant_types")
    response_types = _string_list(body, "response_types")
    if grant_types is None:
        grant_types = ["authorization_code"]
    if response_types is None:
        response_types = ["code"] if "authorization_code" in grant_types else []
    if set(response_types) - {"code"}:
        raise invalid_metadata("response_types: only code is supported")
    # RFC 7591 §2.1: the two lists must agree.
    if ("code" in response_types) != ("authorization_code" in grant_types):
        raise invalid_metadata("response_types code and grant type authorization_code go together")
    return grant_types, response_types


def parse(body: Any, allowed_scopes: list[str]) -> Metadata:
    """Validate a registration (or full update) request body. Raises InvalidClientMetadata."""
    if not isinstance(body, dict):
        raise invalid_metadata("the request body must be a JSON object")
    _refuse_unsupported(body)
    grant_types, _responses = _grants_and_responses(body)
    method = body.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        raise invalid_metadata("token_endpoint_auth_method: one of " + ", ".join(AUTH_METHODS))
    scope = body.get("scope", "openid profile")
    if not isinstance(scope, str):
        raise invalid_metadata("scope must be a space-separated string")
    scopes = list(dict.fromkeys(scope.split())) or ["openid"]
    beyond = [s for s in scopes if s not in allowed_scopes]
    if beyond:
        raise invalid_metadata(f"scope: this registration may not ask for {' '.join(beyond)}")
    name = _string(body, "client_name#vi") or _string(body, "client_name")
    if name is None:
        raise invalid_metadata("client_name is required: citizens see it on the consent page")
    flags = {
        name: body.get(name, False)
        for name in (
            "require_pushed_authorization_requests",
            "backchannel_logout_session_required",
            "frontchannel_logout_session_required",
            "dpop_bound_access_tokens",
        )
    }
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise invalid_metadata(f"{name} must be true or false")
    alg = body.get("id_token_signed_response_alg")
    if alg is not None and not isinstance(alg, str):
        raise invalid_metadata("id_token_signed_response_alg must be a string")
    spec = ClientSpec(
        name=name,
        redirect_uris=_string_list(body, "redirect_uris") or [],
        post_logout_redirect_uris=_string_list(body, "post_logout_redirect_uris") or [],
        scopes=scopes,
        grant_types=grant_types,
        public=method == "none",
        token_endpoint_auth_method=method if method != "none" else "client_secret_basic",
        id_token_signed_response_alg=alg,
        require_pushed_authorization_requests=flags["require_pushed_authorization_requests"],
        subject_type=_string(body, "subject_type", 10) or "public",
        dpop_bound_access_tokens=flags["dpop_bound_access_tokens"],
        default_acr_values=body.get("default_acr_values", []),
        **{name: _string(body, name, 20) for name in ENCRYPTION_METADATA},
        sector_identifier_uri=_string(body, "sector_identifier_uri", MAX_URI),
        backchannel_logout_uri=_string(body, "backchannel_logout_uri", MAX_URI),
        backchannel_logout_session_required=flags["backchannel_logout_session_required"],
        frontchannel_logout_uri=_string(body, "frontchannel_logout_uri", MAX_URI),
        frontchannel_logout_session_required=flags["frontchannel_logout_session_required"],
        jwks=body.get("jwks"),
        jwks_uri=_string(body, "jwks_uri", MAX_URI),
    )
    clients.validate(spec)
    return Metadata(
        spec=spec,
        name_en=_string(body, "client_name#en"),
        logo_uri=_web_uri(body, "logo_uri"),
        policy_uri=_web_uri(body, "policy_uri"),
        tos_uri=_web_uri(body, "tos_uri"),
        contacts=_contacts(body),
    )


def _apply_display(client: Client, meta: Metadata) -> None:
    client.name_en = meta.name_en
    client.logo_uri = meta.logo_uri
    client.policy_uri = meta.policy_uri
    client.tos_uri = meta.tos_uri
    client.contacts = meta.contacts


# --- the three operations -------------------------------------------------------------------
def register(meta: Metadata, initial: InitialAccessToken) -> tuple[Client, str | None, str]:
    """(client, client_secret or None, registration access token)."""
    client, secret = clients.register(meta.spec)
    _apply_display(client, meta)
    registration_token = new_token(REGISTRATION_TOKEN_PREFIX)
    client.registration_token_hash = token_hash(registration_token)
    audit.record(
        "client_registered",
        client_id=client.client_id,
        registration_token_id=initial.id,
        label=initial.label,
    )
    return client, secret, registration_token


def find_managed(client_id: str, presented: str | None) -> Client | None:
    """The dynamically registered client this registration access token manages, or None."""
    if not presented or not presented.startswith(REGISTRATION_TOKEN_PREFIX) or len(presented) > 100:
        return None
    client = clients.find(client_id) if isinstance(client_id, str) and len(client_id) <= 64 else None
    if client is None or client.registration_token_hash is None:
        token_hash(presented)  # the same work whether or not the portal exists
        return None
    return client if hmac.compare_digest(token_hash(presented), client.registration_token_hash) else None


def replace(client: Client, body: Any, allowed_scopes: list[str]) -> None:
    """RFC 7592 §2.2: the request's metadata replaces the registered metadata entirely."""
    if not isinstance(body, dict):
        raise invalid_metadata("the request body must be a JSON object")
    if body.get("client_id") != client.client_id:
        raise invalid_metadata("client_id must be present and equal to the registered client_id")
    if "client_secret" in body and not client.check_client_secret(body["client_secret"]):
        raise invalid_metadata("client_secret does not match")
    meta = parse(body, allowed_scopes)
    if meta.spec.public != client.is_public:
        raise invalid_metadata("a confidential portal cannot become public, or the reverse: register anew")
    if not client.is_public and client.token_endpoint_auth_method != meta.spec.token_endpoint_auth_method:
        raise invalid_metadata("token_endpoint_auth_method cannot change: register anew")
    if (meta.spec.subject_type, meta.spec.sector_identifier_uri) != (
        client.subject_type,
        client.sector_identifier_uri,
    ):
        # The portal's users would all get new `sub` values: that is a new registration.
        raise invalid_metadata("subject_type and sector_identifier_uri cannot change: register anew")
    offered = services().settings.signing_algs
    alg = meta.spec.id_token_signed_response_alg
    if alg and alg not in offered:
        raise invalid_metadata(f"id_token_signed_response_alg: one of {', '.join(offered)}")
    spec = meta.spec
    client.name = spec.name
    client.redirect_uris = list(dict.fromkeys(spec.redirect_uris))
    client.post_logout_redirect_uris = list(dict.fromkeys(spec.post_logout_redirect_uris))
    client.scopes = spec.scopes
    client.grant_types = list(dict.fromkeys(spec.grant_types))
    client.id_token_signed_response_alg = alg
    client.require_pushed_authorization_requests = spec.require_pushed_authorization_requests
    client.jwks, client.jwks_uri = spec.jwks, spec.jwks_uri
    client.dpop_bound_access_tokens = spec.dpop_bound_access_tokens or client.fapi2
    client.default_acr_values = list(spec.default_acr_values)
    for name in ENCRYPTION_METADATA:
        setattr(client, name, getattr(spec, name))
    client.backchannel_logout_uri = spec.backchannel_logout_uri
    client.backchannel_logout_session_required = spec.backchannel_logout_session_required
    client.frontchannel_logout_uri = spec.frontchannel_logout_uri
    client.frontchannel_logout_session_required = spec.frontchannel_logout_session_required
    _apply_display(client, meta)
    audit.record("client_changed", client_id=client.client_id, change="metadata replaced by the portal")


def describe(client: Client) -> dict:
    """The registered metadata, as RFC 7591 §3.2.1 returns it (never a secret)."""
    info: dict = {
        "client_id": client.client_id,
        "client_id_issued_at": client.created_at,
        "client_name": client.name,
        "client_name#vi": client.name,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types,
        "response_types": ["code"] if "authorization_code" in client.grant_types else [],
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "scope": " ".join(client.scopes),
        "subject_type": client.subject_type,
        "require_pushed_authorization_requests": client.require_pushed_authorization_requests,
        "backchannel_logout_session_required": client.backchannel_logout_session_required,
        "dpop_bound_access_tokens": client.dpop_bound_access_tokens,
        "default_acr_values": client.default_acr_values or [],
        "frontchannel_logout_session_required": client.frontchannel_logout_session_required,
        "id_token_signed_response_alg": client.id_token_signed_response_alg
        or services().settings.id_token_alg,
        "contacts": client.contacts or [],
        "registration_client_uri": services().settings.url(f"/connect/register/{client.client_id}"),
    }
    if client.secret_hash is not None:
        info["client_secret_expires_at"] = 0  # RFC 7591 §3.2.1: 0 means it does not expire
    optional = {
        "jwks": client.jwks,
        "jwks_uri": client.jwks_uri,
        **{name: getattr(client, name) for name in ENCRYPTION_METADATA},
        "sector_identifier_uri": client.sector_identifier_uri,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "frontchannel_logout_uri": client.frontchannel_logout_uri,
        "client_name#en": client.name_en,
        "logo_uri": client.logo_uri,
        "policy_uri": client.policy_uri,
        "tos_uri": client.tos_uri,
    }
    info.update({k: v for k, v in optional.items() if v is not None})
    return info
