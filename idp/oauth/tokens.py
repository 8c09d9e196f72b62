"""Access, refresh and ID tokens: how they are made, stored, found and revoked.

Access tokens are opaque (a prefixed random string, stored as SHA-256), not RFC 9068 JWTs:
- revocation is immediate and total: userinfo and introspection consult the database anyway;
- a portal cannot read the citizen's data out of a token it forwards to someone else;
- issuing one costs a hash and an INSERT, not a signature.
ID tokens are JWTs signed by the key ring's active key for the client's algorithm.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

from sqlalchemy import bindparam, insert, select, update

from .. import lean
from ..clock import now
from ..credentials import ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, new_ordered_token, token_hash
from ..extensions import db
from ..identity import history
from ..models import Citizen, Client, Token
from ..security import audit
from ..services import services
from . import encryption, signer, subjects
from .claims import userinfo as userinfo_claims


@dataclass
class AuthContext:
    """How the citizen authenticated, carried from the session to the code to every refresh."""

    auth_time: int | None = None
    acr: str | None = None
    amr: list[str] = field(default_factory=list)
    sid: str | None = None


# Built once; the parameters vary (building a statement costs more than running it).
_INSERT = insert(Token.__table__)
# For a portal authenticated from the hot path's cached row (hotpath.ClientCache): the rows name
# their portal through a subquery that finds it only if it still has the revision that was
# checked, else NULL, which the NOT NULL column refuses, and with it the whole transaction.
_CLIENTS = Client.__table__
_INSERT_CHECKED = insert(Token.__table__).values(
    client_id=select(_CLIENTS.c.client_id)
    .where(_CLIENTS.c.client_id == bindparam("checked_client_id"))
    .where(_CLIENTS.c.revision == bindparam("checked_revision"))
    .scalar_subquery()
)
_FIND = select(Token).where(Token.token_hash == bindparam("token_hash"))


def access_token_ttl(client: Client) -> int:
    return client.access_token_ttl or services().settings.access_token_ttl


def refresh_token_ttl(client: Client) -> int:
    return client.refresh_token_ttl or services().settings.refresh_token_ttl


def generate_access_token(*_args, **_kwargs) -> str:
    return new_ordered_token(ACCESS_TOKEN_PREFIX)


def generate_refresh_token(*_args, **_kwargs) -> str:
    return new_ordered_token(REFRESH_TOKEN_PREFIX)


def store(
    token: dict,
    client: Client,
    citizen: Citizen | None,
    grant_id: str,
    ctx: AuthContext,
    signing_kid: str | None = None,
    event: str = "tokens_issued",
    grant_type: str = "authorization_code",
    dpop_jkt: str | None = None,
    checked_revision: int | None = None,
) -> None:
    """Add the token response's access and refresh tokens to the session (hashes only), and the
    audit event that says so. With ``checked_revision`` (the hot path's cached portal), the rows
    are written only if the portal still has that revision when they are."""
    at = now()
    audit.record(
        event,
        citizen_pk=citizen.id if citizen else None,
        client_id=client.client_id,
        grant_id=grant_id,
        grant_type=grant_type,
        scope=token.get("scope", ""),
        refresh_token_issued="refresh_token" in token,
    )
    common = dict(
        grant_id=grant_id,
        client_id=client.client_id,
        citizen_pk=citizen.id if citizen else None,
        scope=token.get("scope", ""),
        auth_time=ctx.auth_time,
        acr=ctx.acr,
        amr=ctx.amr,
        sid=ctx.sid,
        subject=subjects.subject_for(client, citizen.subject) if citizen else None,
        issued_at=at,
        signing_kid=signing_kid,
    )
    # Core INSERTs: nothing in the request reads these rows back, and the ORM unit of work would
    # cost more than the rest of the token request.
    if dpop_jkt is not None:
        token["token_type"] = "DPoP"  # RFC 9449 §5
    rows = [
        dict(
            token_hash=token_hash(token["access_token"]),
            kind="access",
            expires_at=at + int(token["expires_in"]),
            dpop_jkt=dpop_jkt,
            **common,
        )
    ]
    if token.get("refresh_token"):
        rows.append(
            dict(
                token_hash=token_hash(token["refresh_token"]),
                kind="refresh",
                expires_at=at + refresh_token_ttl(client),
                # §5: a public client's refresh token is bound to its key; a confidential client's
                # is already bound to the client's own authentication.
                dpop_jkt=dpop_jkt if client.is_public else None,
                **common,
            )
        )
    if checked_revision is not None:
        for row in rows:
            del row["client_id"]
            row.update(checked_client_id=client.client_id, checked_revision=checked_revision)
        lean.execute(_INSERT_CHECKED, rows)
        return
    lean.execute(_INSERT, rows)  # the session, or the hot path's own connection


def find(value: str | None, kind: str | None = None) -> Token | None:
    """The stored token this value is, whatever its state (callers check ``is_live``)."""
    if not isinstance(value, str) or len(value) > 200:
        return None
    if value.startswith(ACCESS_TOKEN_PREFIX):
        found_kind = "access"
    elif value.startswith(REFRESH_TOKEN_PREFIX):
        found_kind = "refresh"
    else:
        return None  # not ours (an ID token, say): no database round trip
    if kind is not None and kind != found_kind:
        return None
    return db.session.scalar(_FIND, {"token_hash": token_hash(value)})


def revoke_grant(grant_id: str) -> int:
    """Revoke every token one login produced (code replay, refresh reuse, refresh revocation)."""
    result = db.session.execute(
        update(Token).where(Token.grant_id == grant_id, Token.revoked_at.is_(None)).values(revoked_at=now())
    )
    return result.rowcount


def revoke_for(citizen_pk: int, client_id: str) -> int:
    """Everything a portal holds for a citizen (consent withdrawn)."""
    result = db.session.execute(
        update(Token)
        .where(Token.citizen_pk == citizen_pk, Token.client_id == client_id, Token.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return result.rowcount


def revoke_all_for_citizen(citizen_pk: int) -> int:
    result = db.session.execute(
        update(Token)
        .where(Token.citizen_pk == citizen_pk, Token.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return result.rowcount


def revoke_session_access_tokens(sid: str) -> None:
    """Logout ends the session's access tokens; offline refresh tokens survive, as consented."""
    db.session.execute(
        update(Token)
        .where(Token.sid == sid, Token.kind == "access", Token.revoked_at.is_(None))
        .values(revoked_at=now())
    )


def signing_key_for(client: Client):
    """The active key for the client's registered algorithm (or the provider's default)."""
    alg = client.id_token_signed_response_alg or services().settings.id_token_alg
    return services().keyring.signing_key(alg)


def revoke_signed_by(kid: str) -> int:
    """After a key compromise: the tokens issued together with its signatures stop working."""
    result = db.session.execute(
        update(Token).where(Token.signing_kid == kid, Token.revoked_at.is_(None)).values(revoked_at=now())
    )
    return result.rowcount


def half_hash(value: str, alg: str) -> str:
    """at_hash (OIDC Core §3.1.3.6): the left half of the hash that goes with ``alg``
    (SHA-512 for EdDSA with Ed25519, per the OpenID Connect errata)."""
    digest = hashlib.sha512 if alg == "EdDSA" else hashlib.sha256
    full = digest(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(full[: len(full) // 2]).rstrip(b"=").decode()


def id_token(
    client: Client,
    citizen: Citizen,
    ctx: AuthContext,
    *,
    nonce: str | None,
    access_token: str | None,
    key=None,
    requested: list[str] | None = None,
    scopes: set[str] | None = None,
) -> str:
    """An ID token (OIDC Core §2) signed with the active key for the client's algorithm."""
    settings = services().settings
    key = key or signing_key_for(client)
    alg = key.alg
    at = now()
    claims = {
        "iss": settings.issuer,
        "sub": subjects.subject_for(client, citizen.subject),
        "aud": client.client_id,
        "iat": at,
        "exp": at + (client.id_token_ttl or settings.id_token_ttl),
        "auth_time": ctx.auth_time,
        "acr": ctx.acr,
        "amr": ctx.amr or None,
        "sid": ctx.sid,
        "nonce": nonce,
        "azp": client.client_id,
    }
    if access_token:
        claims["at_hash"] = half_hash(access_token, alg)
    if requested and scopes:
        # The claims parameter's id_token members, within what the granted scopes release.
        released = userinfo_claims(citizen, scopes)
        claims.update({name: released[name] for name in requested if name in released})
    claims = {k: v for k, v in claims.items() if v is not None}
    history.record_release(citizen.id, client.client_id, claims, "id_token")  # the access history
    return encryption.id_token_for(client, signer.sign(claims, key))
