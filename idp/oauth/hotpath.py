"""The busiest protocol requests, answered with prebuilt statements on one raw connection: a
client_credentials token, an introspection, a userinfo read.

Only the ordinary, valid case is answered here. Anything else (an unknown client, a wrong secret,
a refused scope, an expired token, an unexpected parameter…) returns ``None`` having written
nothing, and the request goes on to the full Flask/Authlib endpoint, which gives the exact error
and writes the failure to the audit trail. The rules themselves are the models' own methods
(Client.check_client_secret, Token.is_live, claims.userinfo…), applied to plain rows.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from authlib.oauth2.rfc7636.challenge import CODE_VERIFIER_PATTERN, compare_s256_code_challenge
from sqlalchemy import bindparam, select, update

from .. import lean
from ..clock import now
from ..config import Settings
from ..credentials import ACCESS_TOKEN_PREFIX, CODE_PREFIX, REFRESH_TOKEN_PREFIX, new_grant_id, token_hash
from ..identity import history
from ..models import AuthorizationCode, Citizen, Client, Token
from ..models.citizen import WITHOUT_PASSWORD
from ..security import audit
from . import tokens
from .authorize import _CLIENT_ID
from .claims import CITIZEN_SCOPES
from .claims import userinfo as userinfo_claims

_CLIENT = Client.__table__
_TOKEN = Token.__table__
_CITIZEN = Citizen.__table__
# What the token endpoints' rules read of a client (not its redirect URIs, name, dates…).
FIND_CLIENT = select(
    *(
        _CLIENT.c[name]
        for name in (
            "id", "client_id", "secret_hash", "scopes", "grant_types", "token_endpoint_auth_method",
            "is_public", "id_token_signed_response_alg", "access_token_ttl", "refresh_token_ttl",
            "id_token_ttl", "subject_type", "sector", "dpop_bound_access_tokens",
            "id_token_encrypted_response_alg", "revision",
        )
    )
).where(_CLIENT.c.client_id == bindparam("client_id"))
# The token and its citizen in one round trip; the password hash is never read here.
_TOKEN_KEYS = [c.key for c in _TOKEN.columns]
_CITIZEN_KEYS = [c.key for c in WITHOUT_PASSWORD]
FIND_TOKEN = (
    select(*_TOKEN.columns, *(c.label(f"citizen_{c.key}") for c in WITHOUT_PASSWORD))
    .select_from(_TOKEN.outerjoin(_CITIZEN, _CITIZEN.c.id == _TOKEN.c.citizen_pk))
    .where(_TOKEN.c.token_hash == bindparam("token_hash"))
)


# For userinfo, also whether the portal wants its answer as a JWT (signed or encrypted).
FIND_TOKEN_FOR_USERINFO = (
    select(
        *_TOKEN.columns,
        *(c.label(f"citizen_{c.key}") for c in WITHOUT_PASSWORD),
        _CLIENT.c.userinfo_signed_response_alg.is_not(None)
        | _CLIENT.c.userinfo_encrypted_response_alg.is_not(None),
    )
    .select_from(
        _TOKEN.outerjoin(_CITIZEN, _CITIZEN.c.id == _TOKEN.c.citizen_pk).outerjoin(
            _CLIENT, _CLIENT.c.client_id == _TOKEN.c.client_id
        )
    )
    .where(_TOKEN.c.token_hash == bindparam("token_hash"))
)


_CODE = AuthorizationCode.__table__
_CODE_KEYS = [c.key for c in _CODE.columns]
FIND_CODE = (
    select(*_CODE.columns, *(c.label(f"citizen_{c.key}") for c in WITHOUT_PASSWORD))
    .select_from(_CODE.outerjoin(_CITIZEN, _CITIZEN.c.id == _CODE.c.citizen_pk))
    .where(_CODE.c.code_hash == bindparam("code_hash"))
)
# AuthorizationCodeGrant.delete_authorization_code: of two concurrent redemptions one changes it.
MARK_CONSUMED = (
    update(_CODE)
    .where(_CODE.c.id == bindparam("code_id"), _CODE.c.consumed_at.is_(None))
    .values(consumed_at=bindparam("consumed_at"))
)
# RefreshTokenGrant.revoke_old_credential: of two concurrent uses exactly one changes the row.
MARK_USED = (
    update(_TOKEN)
    .where(_TOKEN.c.id == bindparam("token_id"), _TOKEN.c.used_at.is_(None), _TOKEN.c.revoked_at.is_(None))
    .values(used_at=bindparam("used_at"))
)


@dataclass
class Answer:
    status: int
    body: dict
    userinfo: bool = False  # Flask's jsonify (compact, with a newline) rather than Authlib's json.dumps


class ClientCache:
    """The portals' rows as the token endpoint's rules read them, kept in memory: reading one is
    a SELECT, ≈ 35 µs of a client_credentials token's ≈ 250 on SQLite (a round trip on
    PostgreSQL). A cached row is trusted only where the request then writes tokens: their INSERT
    checks, inside the write transaction, that the portal still has the revision read here
    (tokens.store), so a new secret, a changed grant or a deleted portal acts at once, on every
    instance; a request whose check fails writes nothing and is answered by the full endpoint,
    and the row is read again by the next one."""

    MAX_ROWS = 1000  # portals of a province; past that, the cache starts again

    def __init__(self) -> None:
        self._rows: dict[str, lean.Record] = {}

    def get(self, conn: lean.LeanConnection, client_id: str) -> lean.Record | None:
        client = self._rows.get(client_id)
        if client is None:
            client = conn.first(FIND_CLIENT, {"client_id": client_id})
            if client is not None:
                if len(self._rows) >= self.MAX_ROWS:
                    self._rows = {}
                self._rows[client_id] = client
        return client

    def forget(self, client_id: str) -> None:
        self._rows.pop(client_id, None)


def _cached_client(grant: Callable[..., Answer | None]) -> Callable[..., Answer | None]:
    """A grant that authenticates its portal from the cache: when it does not answer (the full
    endpoint will, from the database) or fails (a revision check among others), the portal's row
    is read again by the next request, so a row gone stale costs one request, not every one."""

    @functools.wraps(grant)
    def answer(conn: lean.LeanConnection, settings: Settings, cache: ClientCache, client_id: str, *args):
        try:
            found = grant(conn, settings, cache, client_id, *args)
        except Exception:
            cache.forget(client_id)
            raise
        if found is None:
            cache.forget(client_id)
        return found

    return answer


def authenticate(
    conn: lean.LeanConnection, client_id: str, secret: str, endpoint: str, cache: ClientCache | None = None
) -> lean.Record | None:
    """The client, if these Basic credentials are its own and Basic is its registered method.
    Read on every request (one indexed SELECT) unless ``cache`` is given, which only a request
    that writes tokens with the revision checked may give (ClientCache)."""
    if not _CLIENT_ID.match(client_id):
        return None
    if cache is None:
        client = conn.first(FIND_CLIENT, {"client_id": client_id})
    else:
        client = cache.get(conn, client_id)
    if client is None or not Client.check_client_secret(client, secret):
        return None
    if not Client.check_endpoint_auth_method(client, "client_secret_basic", endpoint):
        return None
    return client


def _token_and_citizen(
    conn: lean.LeanConnection, value: str, statement=FIND_TOKEN
) -> tuple[lean.Record | None, ...]:
    row = conn.first_values(statement, {"token_hash": token_hash(value)})
    if row is None:
        return None, None
    split, end = len(_TOKEN_KEYS), len(_TOKEN_KEYS) + len(_CITIZEN_KEYS)
    token = lean.Record(dict(zip(_TOKEN_KEYS, row[:split], strict=True)))
    if statement is FIND_TOKEN_FOR_USERINFO:
        token.wants_jwt = bool(row[end])
    citizen = dict(zip(_CITIZEN_KEYS, row[split:end], strict=True))
    return token, (lean.Record(citizen) if citizen["id"] is not None else None)


@_cached_client
def client_credentials(
    conn: lean.LeanConnection, settings: Settings, cache: ClientCache, client_id: str, secret: str,
    scope: str | None,
) -> Answer | None:
    """ClientCredentialsGrant: the same checks, token and audit row, in one write transaction."""
    client = authenticate(conn, client_id, secret, "token", cache)
    if client is None or not Client.check_grant_type(client, "client_credentials"):
        return None
    if client.dpop_bound_access_tokens:
        return None  # its tokens must be DPoP-bound: the full endpoint says so
    requested = set((scope or "").split())
    if requested - set(client.scopes) | (requested & CITIZEN_SCOPES):
        return None  # invalid_scope, answered by the full endpoint
    allowed = Client.get_allowed_scope(client, scope)
    token = {"token_type": "Bearer", "access_token": tokens.generate_access_token()}
    expires_in = client.access_token_ttl or settings.access_token_ttl
    if expires_in:
        token["expires_in"] = expires_in
    if allowed:
        token["scope"] = allowed
    tokens.store(
        token, client, None, new_grant_id(), tokens.AuthContext(), grant_type="client_credentials",
        checked_revision=client.revision,
    )
    lean.commit()
    return Answer(200, token)


def _code_and_citizen(conn: lean.LeanConnection, value: str) -> tuple[lean.Record | None, ...]:
    row = conn.first_values(FIND_CODE, {"code_hash": token_hash(value)})
    if row is None:
        return None, None
    split = len(_CODE_KEYS)
    code = lean.Record(dict(zip(_CODE_KEYS, row[:split], strict=True)))
    citizen = dict(zip(_CITIZEN_KEYS, row[split:], strict=True))
    return code, (lean.Record(citizen) if citizen["id"] is not None else None)


def _pkce_passes(code: lean.Record, verifier: str | None) -> bool:
    """S256Only.validate_code_verifier for a client that authenticated (so a verifier is needed
    exactly when the code has a challenge); every refusal is left to the full endpoint."""
    if not code.code_challenge:
        return not verifier
    if not verifier or not CODE_VERIFIER_PATTERN.match(verifier):
        return False
    if (code.code_challenge_method or "S256") != "S256":
        return False
    return compare_s256_code_challenge(verifier, code.code_challenge)


@_cached_client
def code_exchange(
    conn: lean.LeanConnection, settings: Settings, cache: ClientCache, client_id: str, secret: str,
    form: dict[str, str],
) -> Answer | None:
    """AuthorizationCodeGrant for a confidential client with Basic: a live, unused code of this
    client, its redirect URI and PKCE verifier; the code marked used in the same transaction as
    the tokens. A used code (replay and its revocations), an expired one, a mix-up, any PKCE or
    redirect URI mismatch is left to the full endpoint. Needs the app context."""
    client = authenticate(conn, client_id, secret, "token", cache)
    if client is None or not Client.check_grant_type(client, "authorization_code"):
        return None
    if client.dpop_bound_access_tokens or client.id_token_encrypted_response_alg:
        return None  # DPoP-bound tokens or an encrypted ID token: the full endpoint
    value = form["code"]
    if len(value) > 100 or not value.startswith(CODE_PREFIX):
        return None
    code, citizen = _code_and_citizen(conn, value)
    conn.end_read()
    if code is None or code.client_id != client.client_id or code.consumed_at is not None:
        return None
    if code.expires_at <= now() or citizen is None or not Citizen.is_active.fget(citizen):
        return None
    if code.redirect_uri and form.get("redirect_uri") != code.redirect_uri:
        return None
    if not _pkce_passes(code, form.get("code_verifier")):
        return None
    allowed = Client.get_allowed_scope(client, code.scope)
    token = {"token_type": "Bearer", "access_token": tokens.generate_access_token()}
    expires_in = tokens.access_token_ttl(client)
    if expires_in:
        token["expires_in"] = expires_in
    # Authlib asks for one if the client may refresh; AuthorizationCodeGrant.generate_token
    # grants it only with offline_access consented.
    if Client.check_grant_type(client, "refresh_token") and "offline_access" in (code.scope or "").split():
        token["refresh_token"] = tokens.generate_refresh_token()
    if allowed:
        token["scope"] = allowed
    ctx = tokens.AuthContext(auth_time=code.auth_time, acr=code.acr, amr=code.amr, sid=code.sid)
    audit.record(
        "code_redeemed", citizen_pk=code.citizen_pk, client_id=code.client_id, grant_id=code.grant_id
    )
    key = tokens.signing_key_for(client)
    openid = "openid" in token.get("scope", "").split()
    tokens.store(
        token, client, citizen, code.grant_id, ctx, signing_kid=key.kid if openid else None,
        checked_revision=client.revision,
    )
    lean.execute(MARK_CONSUMED, {"code_id": code.id, "consumed_at": now()}, expected_rows=1)
    if openid:  # IdTokenOnResponse
        token["id_token"] = tokens.id_token(
            client, citizen, ctx, nonce=code.nonce, access_token=token["access_token"], key=key,
            requested=code.id_token_claims, scopes=set(token.get("scope", "").split()),
        )
    lean.commit()
    return Answer(200, token)


@_cached_client
def refresh(
    conn: lean.LeanConnection, settings: Settings, cache: ClientCache, client_id: str, secret: str,
    value: str, scope: str | None,
) -> Answer | None:
    """RefreshTokenGrant with rotation, for a live, unused refresh token of this client: new
    tokens, the old one marked used in the same transaction, an ID token with the original
    auth_time/acr/amr/sid. A used or revoked token (reuse detection and its revocations), an
    expired one, or a scope wider than the original is left to the full endpoint. Needs the app
    context (signing keys and settings through services())."""
    client = authenticate(conn, client_id, secret, "token", cache)
    if client is None or not Client.check_grant_type(client, "refresh_token"):
        return None
    if client.dpop_bound_access_tokens or client.id_token_encrypted_response_alg:
        return None  # DPoP-bound tokens or an encrypted ID token: the full endpoint
    if len(value) > 200 or not value.startswith(REFRESH_TOKEN_PREFIX):
        return None
    old, citizen = _token_and_citizen(conn, value)
    conn.end_read()
    if old is None or old.kind != "refresh" or old.used_at is not None or old.revoked_at is not None:
        return None
    if old.expires_at <= now() or citizen is None or not Citizen.is_active.fget(citizen):
        return None
    if old.client_id != client.client_id or old.dpop_jkt is not None:
        return None  # another portal's token, or one bound to a DPoP key (the full endpoint checks)
    if scope and (not old.scope or not set(old.scope.split()).issuperset(scope.split())):
        return None  # invalid_scope
    scope = scope or old.scope
    allowed = Client.get_allowed_scope(client, scope)
    token = {"token_type": "Bearer", "access_token": tokens.generate_access_token()}
    expires_in = tokens.access_token_ttl(client)
    if expires_in:
        token["expires_in"] = expires_in
    if "offline_access" in scope.split():  # RefreshTokenGrant.issue_token
        token["refresh_token"] = tokens.generate_refresh_token()
    if allowed:
        token["scope"] = allowed
    ctx = tokens.AuthContext(auth_time=old.auth_time, acr=old.acr, amr=old.amr, sid=old.sid)
    key = tokens.signing_key_for(client)
    openid = "openid" in token.get("scope", "").split()
    tokens.store(
        token, client, citizen, old.grant_id, ctx, signing_kid=key.kid if openid else None,
        event="tokens_refreshed", checked_revision=client.revision,
    )
    lean.execute(MARK_USED, {"token_id": old.id, "used_at": now()}, expected_rows=1)
    if openid:  # IdTokenOnResponse
        token["id_token"] = tokens.id_token(
            client, citizen, ctx, nonce=None, access_token=token["access_token"], key=key
        )
    lean.commit()
    return Answer(200, token)


def introspection(
    conn: lean.LeanConnection, settings: Settings, client_id: str, secret: str, value: str, hint: str | None
) -> Answer | None:
    """IntrospectionEndpoint (RFC 7662) for a client authenticating with Basic: its own tokens
    only; anything not live is just {"active": false}."""
    if hint and hint not in ("access_token", "refresh_token"):
        return None  # unsupported_token_type
    client = authenticate(conn, client_id, secret, "introspection")
    if client is None:
        return None
    token = citizen = None
    if len(value) <= 200 and value.startswith((ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX)):
        token, citizen = _token_and_citizen(conn, value)
    conn.end_read()
    if token is None or token.client_id != client.client_id:
        return Answer(200, {"active": False})
    at = now()
    citizen_gone = token.citizen_pk is not None and (citizen is None or not Citizen.is_active.fget(citizen))
    if token.expires_at <= at or not Token.is_live(token) or token.used_at is not None or citizen_gone:
        return Answer(200, {"active": False})
    body = {
        "active": True,
        "client_id": token.client_id,
        "scope": token.scope,
        "token_type": ("DPoP" if token.dpop_jkt else "Bearer") if token.kind == "access" else "refresh_token",
        "exp": token.expires_at,
        "iat": token.issued_at,
        "iss": settings.issuer,
        "aud": token.client_id,
    }
    if token.dpop_jkt:
        body["cnf"] = {"jkt": token.dpop_jkt}  # RFC 9449 §6.2
    if citizen is not None:
        body["sub"] = token.subject or citizen.subject
        if token.auth_time:
            body["auth_time"] = token.auth_time
        if token.acr:
            body["acr"] = token.acr
    return Answer(200, body)


def userinfo(conn: lean.LeanConnection, value: str) -> Answer | None:
    """The userinfo endpoint for a live access token with the openid scope, and the access-history
    row that says which claims the portal received."""
    if len(value) > 200 or not value.startswith(ACCESS_TOKEN_PREFIX):
        return None
    token, citizen = _token_and_citizen(conn, value, FIND_TOKEN_FOR_USERINFO)
    if token is None or token.kind != "access" or not Token.is_live(token) or token.wants_jwt:
        conn.end_read()
        return None  # not live (the full endpoint says how), or a signed/encrypted answer
    if citizen is None or not Citizen.is_active.fget(citizen):
        conn.end_read()
        return None
    if token.dpop_jkt is not None:
        conn.end_read()
        return None  # DPoP-bound: only with a proof, which the full endpoint checks
    scopes = set(token.scope.split())
    if "openid" not in scopes:
        conn.end_read()
        return None  # insufficient_scope
    conn.end_read()
    claims = userinfo_claims(citizen, scopes, token.subject)
    history.record_release(token.citizen_pk, token.client_id, claims, "userinfo")
    lean.commit()
    return Answer(200, claims, userinfo=True)


def dumps(answer: Answer) -> bytes:
    if answer.userinfo:
        # Flask's jsonify, byte for byte (names stay \u-escaped ASCII, as on the full path).
        return json.dumps(answer.body, separators=(",", ":")).encode() + b"\n"
    return orjson.dumps(answer.body)  # tokens, scopes, numbers: ASCII, compact
