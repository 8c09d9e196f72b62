"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0)."""

from __future__ import annotations

from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError

from ..models import Client
from ..services import services
from .authorize import find_client
from .errors import BadRequest, ProtocolError


@dataclass
class LogoutRequest:
    client: Client | None
    hint_subject: str | None
    hint_sid: str | None
    post_logout_redirect_uri: str | None
    state: str | None


def _verify_hint(id_token_hint: str) -> dict:
    """The claims of an ID token we issued. It may have expired (§2: it is only a hint)."""
    keyring = services().keyring
    keyring.refresh()
    try:
        token = jwt.decode(
            id_token_hint, keyring.verification_keys(), algorithms=list(keyring.algorithms)
        )
    except (JoseError, ValueError, TypeError):
        raise BadRequest("id_token_hint is not an ID token issued by Thai Nguyen ID.") from None
    claims = token.claims
    if claims.get("iss") != services().settings.issuer:
        raise BadRequest("id_token_hint was not issued by Thai Nguyen ID.")
    return claims


def validate(params: dict[str, str]) -> LogoutRequest:
    hint = params.get("id_token_hint")
    client_id = params.get("client_id")
    claims = _verify_hint(hint) if hint else {}
    aud = claims.get("aud")
    hint_client_id = aud[0] if isinstance(aud, list) and aud else aud
    if client_id and hint_client_id and client_id != hint_client_id:
        raise BadRequest("client_id does not match the id_token_hint.")
    client_id = client_id or hint_client_id
    client = find_client(client_id) if client_id else None
    if client_id and client is None:
        raise ProtocolError("invalid_client", "No portal is registered with this client_id.", redirect=False)
    uri = params.get("post_logout_redirect_uri")
    if uri is not None:
        if client is None:
            raise BadRequest("post_logout_redirect_uri needs id_token_hint or client_id.")
        if uri not in client.post_logout_redirect_uris:
            raise BadRequest("post_logout_redirect_uri is not registered for this portal.")
    return LogoutRequest(
        client=client,
        hint_subject=claims.get("sub"),
        hint_sid=claims.get("sid"),
        post_logout_redirect_uri=uri,
        state=params.get("state"),
    )
