"""Registering portals: every piece of client metadata validated before it is stored."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import select

from ..config import SUPPORTED_SIGNING_ALGS
from ..credentials import CLIENT_SECRET_PREFIX, new_token, token_hash
from ..extensions import db
from ..identity.assurance import LADDER
from ..models import AuthorizationCode, Client, Consent, Interaction, Token
from ..security import audit
from ..services import services
from . import encryption, subjects
from .assertions import seal_secret
from .claims import STANDARD_SCOPES
from .client_keys import public_keyset
from .server import GRANT_TYPES

CONFIDENTIAL_AUTH_METHODS = (
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
)
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
_CUSTOM_SCOPE = re.compile(r"^[a-z][a-z0-9:._-]{0,63}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9\-._~]{3,64}$")


class InvalidClientMetadata(ValueError):
    """``error`` is the RFC 7591 code (invalid_redirect_uri or invalid_client_metadata)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error


@dataclass
class ClientSpec:
    name: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=lambda: ["openid", "profile"])
    grant_types: list[str] = field(default_factory=lambda: ["authorization_code", "refresh_token"])
    public: bool = False
    token_endpoint_auth_method: str = "client_secret_basic"
    client_id: str | None = None
    id_token_signed_response_alg: str | None = None
    access_token_ttl: int | None = None
    refresh_token_ttl: int | None = None
    minimum_acr: str | None = None  # the lowest level of assurance the portal accepts
    require_pushed_authorization_requests: bool = False
    jwks: dict | None = None
    jwks_uri: str | None = None
    subject_type: str = "public"
    dpop_bound_access_tokens: bool = False
    fapi2: bool = False
    default_acr_values: list[str] = field(default_factory=list)
    userinfo_signed_response_alg: str | None = None
    id_token_encrypted_response_alg: str | None = None
    id_token_encrypted_response_enc: str | None = None
    userinfo_encrypted_response_alg: str | None = None
    userinfo_encrypted_response_enc: str | None = None
    sector_identifier_uri: str | None = None
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    frontchannel_logout_uri: str | None = None
    frontchannel_logout_session_required: bool = False


def check_redirect_uri(uri: str) -> str:
    """https anywhere; http on loopback only; a private-use scheme for native apps (RFC 8252 §7)."""
    parts = urlsplit(uri)
    if parts.fragment or "#" in uri:
        raise InvalidClientMetadata("invalid_redirect_uri", f"{uri}: a redirect URI has no fragment")
    if "*" in uri or any(c.isspace() for c in uri):
        raise InvalidClientMetadata("invalid_redirect_uri", f"{uri}: no wildcards or spaces")
    if parts.username or parts.password:
        raise InvalidClientMetadata("invalid_redirect_uri", f"{uri}: no user information")
    if parts.scheme == "https" and parts.hostname:
        return uri
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return uri
    if parts.scheme not in ("http", "https", "") and "." in parts.scheme and not parts.netloc:
        return uri  # reverse-domain private-use scheme, e.g. vn.gov.thainguyen.citizen:/callback
    raise InvalidClientMetadata(
        "invalid_redirect_uri",
        f"{uri}: expected https, http on loopback, or a reverse-domain scheme (vn.gov.app:/cb)",
    )


def validate(spec: ClientSpec) -> None:
    if not spec.name.strip() or len(spec.name) > 200:
        raise InvalidClientMetadata("invalid_client_metadata", "client name: 1 to 200 characters")
    if spec.client_id is not None and not _CLIENT_ID.match(spec.client_id):
        raise InvalidClientMetadata("invalid_client_metadata", "client_id: 3 to 64 letters, digits or -._~")
    unknown_grants = set(spec.grant_types) - set(GRANT_TYPES)
    if unknown_grants or not spec.grant_types:
        raise InvalidClientMetadata(
            "invalid_client_metadata", f"grant types: expected some of {', '.join(GRANT_TYPES)}"
        )
    if spec.public and "client_credentials" in spec.grant_types:
        raise InvalidClientMetadata(
            "invalid_client_metadata", "a public client cannot use client_credentials"
        )
    if "authorization_code" in spec.grant_types and not spec.redirect_uris:
        raise InvalidClientMetadata("invalid_redirect_uri", "at least one redirect URI is needed")
    for uri in [*spec.redirect_uris, *spec.post_logout_redirect_uris]:
        check_redirect_uri(uri)
    for scope in spec.scopes:
        if scope not in STANDARD_SCOPES and not _CUSTOM_SCOPE.match(scope):
            raise InvalidClientMetadata("invalid_client_metadata", f"scope {scope!r} is not valid")
    if not spec.public and spec.token_endpoint_auth_method not in CONFIDENTIAL_AUTH_METHODS:
        raise InvalidClientMetadata(
            "invalid_client_metadata",
            "token_endpoint_auth_method: one of " + ", ".join(CONFIDENTIAL_AUTH_METHODS),
        )
    if spec.minimum_acr is not None and spec.minimum_acr not in LADDER:
        raise InvalidClientMetadata("invalid_client_metadata", f"minimum acr: one of {', '.join(LADDER)}")
    check_keys(spec)
    check_encryption(spec)
    if spec.fapi2 and (spec.public or spec.token_endpoint_auth_method != "private_key_jwt"):
        raise InvalidClientMetadata(
            "invalid_client_metadata", "the FAPI 2.0 profile needs a confidential portal with private_key_jwt"
        )
    if not isinstance(spec.default_acr_values, list) or not all(v in LADDER for v in spec.default_acr_values):
        raise InvalidClientMetadata(
            "invalid_client_metadata", "default_acr_values: some of " + ", ".join(LADDER)
        )
    if spec.subject_type not in ("public", "pairwise"):
        raise InvalidClientMetadata("invalid_client_metadata", "subject_type: public or pairwise")
    if spec.sector_identifier_uri is not None and spec.subject_type != "pairwise":
        raise InvalidClientMetadata("invalid_client_metadata", "sector_identifier_uri goes with pairwise")
    for name in ("backchannel_logout_uri", "frontchannel_logout_uri"):
        check_logout_uri(name, getattr(spec, name))
    alg = spec.id_token_signed_response_alg
    if alg is not None and alg not in SUPPORTED_SIGNING_ALGS:
        raise InvalidClientMetadata(
            "invalid_client_metadata",
            f"id_token_signed_response_alg: one of {', '.join(SUPPORTED_SIGNING_ALGS)}",
        )


def check_logout_uri(name: str, uri: str | None) -> None:
    """An absolute https URL (http on loopback for development), no fragment (OIDC logout specs)."""
    if uri is None:
        return
    parts = urlsplit(uri)
    web = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)
    if not parts.hostname or not web or parts.fragment or len(uri) > 2048:
        raise InvalidClientMetadata(
            "invalid_client_metadata", f"{name} must be an https URL without fragment"
        )


def check_encryption(spec: ClientSpec) -> None:
    """OIDC Registration §2: each *_encrypted_response_alg with its enc; we offer RSA-OAEP-256 and
    ECDH-ES with A256GCM only (no default to A128CBC-HS256 that we would not honour)."""
    for what in ("id_token", "userinfo"):
        alg = getattr(spec, f"{what}_encrypted_response_alg")
        enc = getattr(spec, f"{what}_encrypted_response_enc")
        if alg is None and enc is None:
            continue
        if alg not in encryption.KEY_ALGS:
            raise InvalidClientMetadata(
                "invalid_client_metadata",
                f"{what}_encrypted_response_alg {alg}: one of {', '.join(encryption.KEY_ALGS)}",
            )
        if enc not in encryption.CONTENT_ENCS:
            raise InvalidClientMetadata(
                "invalid_client_metadata",
                f"{what}_encrypted_response_enc must be A256GCM (set it explicitly)",
            )
        if spec.jwks is None and spec.jwks_uri is None:
            raise InvalidClientMetadata(
                "invalid_client_metadata", f"{what} encryption needs the portal's key (jwks or jwks_uri)"
            )
        if spec.jwks is not None:
            kind = encryption.KEY_ALGS[alg]
            keys = public_keyset(spec.jwks).keys
            if not any(k.key_type == kind and k.get("use") in (None, "enc") for k in keys):
                raise InvalidClientMetadata("invalid_client_metadata", f"{alg} needs an {kind} key in jwks")
    alg = spec.userinfo_signed_response_alg
    if alg is not None and alg not in SUPPORTED_SIGNING_ALGS:
        raise InvalidClientMetadata(
            "invalid_client_metadata",
            f"userinfo_signed_response_alg: one of {', '.join(SUPPORTED_SIGNING_ALGS)}",
        )


def _encrypts(spec: ClientSpec) -> bool:
    return bool(spec.id_token_encrypted_response_alg or spec.userinfo_encrypted_response_alg)


def check_keys(spec: ClientSpec) -> None:
    """private_key_jwt needs exactly one of jwks and jwks_uri (RFC 7591 §2); so does encryption;
    other portals need neither."""
    if _encrypts(spec) and spec.token_endpoint_auth_method != "private_key_jwt":
        if spec.jwks is not None and spec.jwks_uri is not None:
            raise InvalidClientMetadata("invalid_client_metadata", "jwks or jwks_uri, not both")
        if spec.jwks is not None:
            try:
                public_keyset(spec.jwks)
            except ValueError as exc:
                raise InvalidClientMetadata("invalid_client_metadata", f"jwks: {exc}") from None
        return
    if spec.token_endpoint_auth_method != "private_key_jwt" or spec.public:
        if spec.jwks is not None or spec.jwks_uri is not None:
            raise InvalidClientMetadata(
                "invalid_client_metadata", "jwks and jwks_uri are only used with private_key_jwt"
            )
        return
    if (spec.jwks is None) == (spec.jwks_uri is None):
        raise InvalidClientMetadata(
            "invalid_client_metadata", "private_key_jwt needs either jwks or jwks_uri (not both)"
        )
    if spec.jwks is not None:
        try:
            public_keyset(spec.jwks)
        except ValueError as exc:
            raise InvalidClientMetadata("invalid_client_metadata", f"jwks: {exc}") from None
    else:
        parts = urlsplit(spec.jwks_uri)
        if not parts.hostname or not (
            parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)
        ):
            raise InvalidClientMetadata("invalid_client_metadata", "jwks_uri must be an https URL")


def register(spec: ClientSpec) -> tuple[Client, str | None]:
    """(client, secret). The secret is returned once and stored only as a hash."""
    validate(spec)
    offered = services().settings.signing_algs
    if spec.id_token_signed_response_alg and spec.id_token_signed_response_alg not in offered:
        raise InvalidClientMetadata(
            "invalid_client_metadata", f"id_token_signed_response_alg: one of {', '.join(offered)}"
        )
    sector = None
    if spec.subject_type == "pairwise":
        try:
            sector = subjects.sector_of(spec.redirect_uris, spec.sector_identifier_uri)
        except subjects.SectorError as exc:
            raise InvalidClientMetadata("invalid_client_metadata", str(exc)) from None
    client_id = spec.client_id or "tn-" + secrets.token_hex(12)
    if db.session.scalar(select(Client.id).where(Client.client_id == client_id)) is not None:
        raise InvalidClientMetadata("invalid_client_metadata", f"client_id {client_id} is taken")
    # A private_key_jwt portal proves itself with its key: a secret would only be one more thing to leak.
    needs_secret = not spec.public and spec.token_endpoint_auth_method != "private_key_jwt"
    secret = new_token(CLIENT_SECRET_PREFIX) if needs_secret else None
    client = Client(
        client_id=client_id,
        secret_hash=token_hash(secret) if secret else None,
        name=spec.name.strip(),
        redirect_uris=list(dict.fromkeys(spec.redirect_uris)),
        post_logout_redirect_uris=list(dict.fromkeys(spec.post_logout_redirect_uris)),
        scopes=list(dict.fromkeys(spec.scopes)),
        grant_types=list(dict.fromkeys(spec.grant_types)),
        token_endpoint_auth_method="none" if spec.public else spec.token_endpoint_auth_method,
        is_public=spec.public,
        id_token_signed_response_alg=spec.id_token_signed_response_alg,
        access_token_ttl=spec.access_token_ttl,
        refresh_token_ttl=spec.refresh_token_ttl,
        minimum_acr=spec.minimum_acr,
        require_pushed_authorization_requests=spec.require_pushed_authorization_requests or spec.fapi2,
        jwks=spec.jwks,
        jwks_uri=spec.jwks_uri,
        subject_type=spec.subject_type,
        sector_identifier_uri=spec.sector_identifier_uri,
        sector=sector,
        fapi2=spec.fapi2,
        default_acr_values=list(spec.default_acr_values),
        userinfo_signed_response_alg=spec.userinfo_signed_response_alg,
        id_token_encrypted_response_alg=spec.id_token_encrypted_response_alg,
        id_token_encrypted_response_enc=spec.id_token_encrypted_response_enc,
        userinfo_encrypted_response_alg=spec.userinfo_encrypted_response_alg,
        userinfo_encrypted_response_enc=spec.userinfo_encrypted_response_enc,
        # FAPI 2.0 §5.3.1.2 and §5.3.2.2: pushed requests only, sender-constrained (DPoP) tokens.
        dpop_bound_access_tokens=spec.dpop_bound_access_tokens or spec.fapi2,
        backchannel_logout_uri=spec.backchannel_logout_uri,
        backchannel_logout_session_required=spec.backchannel_logout_session_required,
        frontchannel_logout_uri=spec.frontchannel_logout_uri,
        frontchannel_logout_session_required=spec.frontchannel_logout_session_required,
    )
    if client.token_endpoint_auth_method == "client_secret_jwt":
        client.secret_encrypted = seal_secret(client_id, secret)
    db.session.add(client)
    db.session.flush()
    audit.record(
        "client_created",
        client_id=client_id,
        name=client.name,
        public=client.is_public,
        redirect_uris=client.redirect_uris,
        scopes=client.scopes,
        grant_types=client.grant_types,
    )
    return client, secret


def new_secret(client: Client) -> str:
    secret = new_token(CLIENT_SECRET_PREFIX)
    client.secret_hash = token_hash(secret)
    if client.token_endpoint_auth_method == "client_secret_jwt":
        client.secret_encrypted = seal_secret(client.client_id, secret)
    audit.record("client_changed", client_id=client.client_id, change="new secret")
    return secret


def find(client_id: str) -> Client | None:
    return db.session.scalar(select(Client).where(Client.client_id == client_id))


def delete(client: Client) -> None:
    """Remove a portal with its tokens, codes, consents and pending logins."""
    for model in (Token, AuthorizationCode, Consent, Interaction):
        db.session.execute(db.delete(model).where(model.client_id == client.client_id))
    db.session.delete(client)
    audit.record("client_deleted", client_id=client.client_id)
