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
from .claims import STANDARD_SCOPES
from .server import GRANT_TYPES

CONFIDENTIAL_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
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
    alg = spec.id_token_signed_response_alg
    if alg is not None and alg not in SUPPORTED_SIGNING_ALGS:
        raise InvalidClientMetadata(
            "invalid_client_metadata",
            f"id_token_signed_response_alg: one of {', '.join(SUPPORTED_SIGNING_ALGS)}",
        )


def register(spec: ClientSpec) -> tuple[Client, str | None]:
    """(client, secret). The secret is returned once and stored only as a hash."""
    validate(spec)
    offered = services().settings.signing_algs
    if spec.id_token_signed_response_alg and spec.id_token_signed_response_alg not in offered:
        raise InvalidClientMetadata(
            "invalid_client_metadata", f"id_token_signed_response_alg: one of {', '.join(offered)}"
        )
    client_id = spec.client_id or "tn-" + secrets.token_hex(12)
    if db.session.scalar(select(Client.id).where(Client.client_id == client_id)) is not None:
        raise InvalidClientMetadata("invalid_client_metadata", f"client_id {client_id} is taken")
    secret = None if spec.public else new_token(CLIENT_SECRET_PREFIX)
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
    )
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
