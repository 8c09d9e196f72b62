"""The Device Authorization Grant (RFC 8628) for kiosks: the rules of the device authorization
endpoint, the citizen's confirmation, and the kiosk's polling at the token endpoint.

User codes are 8 letters from an alphabet without vowels or look-alikes (§6.1: about 2.5 × 10^10
codes, typed on a phone as XXXX-XXXX), live IDP_DEVICE_CODE_TTL, and are tried only by a citizen who
is logged in and behind a per-IP limit. Device codes are 32 random bytes; both are stored hashed.
"""

from __future__ import annotations

import secrets

from authlib.oauth2.rfc6749 import BaseGrant, TokenEndpointMixin
from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidRequestError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.hooks import hooked
from authlib.oauth2.rfc8628.errors import AuthorizationPendingError, ExpiredTokenError, SlowDownError
from sqlalchemy import select, update

from ..clock import now
from ..credentials import new_grant_id, new_token, token_hash
from ..extensions import db
from ..models import BrowserSession, Citizen, Client, DeviceAuthorization
from ..security import audit
from ..services import services
from . import tokens
from .claims import SCOPE_CLAIMS
from .grants import dpop_binding

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_CODE_PREFIX = "tnid_dc_"
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
INTERVAL = 5


class DeviceRequestError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def normalise_user_code(typed: str | None) -> str | None:
    """What the citizen typed, as stored: upper case, separators dropped; None if it cannot be one."""
    letters = "".join(c for c in (typed or "")[:20].upper() if c not in " -")
    if len(letters) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in letters):
        return None
    return letters


def display(user_code: str) -> str:
    return f"{user_code[:4]}-{user_code[4:]}"


# --- the device authorization endpoint (§3.1, §3.2) -------------------------------------------------
def start(client: Client, scope: str | None) -> dict:
    """Create a pending device authorization; the §3.2 response."""
    if GRANT_TYPE not in client.grant_types:
        raise DeviceRequestError("unauthorized_client", "This portal may not use the device flow.")
    scopes = list(dict.fromkeys((scope or "openid").split()))
    unknown = [s for s in scopes if s not in SCOPE_CLAIMS]
    refused = [s for s in scopes if s not in client.scopes]
    if unknown or refused:
        raise DeviceRequestError(
            "invalid_scope", f"Not available to this portal: {' '.join(unknown + refused)}."
        )
    ttl = services().settings.device_code_ttl
    device_code = new_token(DEVICE_CODE_PREFIX)
    user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
    db.session.add(
        DeviceAuthorization(
            device_code_hash=token_hash(device_code),
            user_code_hash=token_hash(user_code),
            client_id=client.client_id,
            scope=" ".join(scopes),
            interval=INTERVAL,
            created_at=now(),
            expires_at=now() + ttl,
        )
    )
    audit.record("device_authorization_started", client_id=client.client_id, scope=" ".join(scopes))
    url = services().settings.url
    return {
        "device_code": device_code,
        "user_code": display(user_code),
        "verification_uri": url("/device"),
        "verification_uri_complete": url(f"/device?user_code={display(user_code)}"),
        "expires_in": ttl,
        "interval": INTERVAL,
    }


# --- the citizen's side (§3.3) --------------------------------------------------------------------
def pending(user_code: str | None) -> DeviceAuthorization | None:
    normalised = normalise_user_code(user_code)
    if normalised is None:
        return None
    row = db.session.scalar(
        select(DeviceAuthorization).where(DeviceAuthorization.user_code_hash == token_hash(normalised))
    )
    if row is None or row.status != "pending" or row.expires_at <= now():
        return None
    return row


def decide(row: DeviceAuthorization, session: BrowserSession, allow: bool) -> None:
    """The citizen's answer, recorded once (a decided authorization is no longer pending)."""
    row.status = "approved" if allow else "denied"
    row.decided_at = now()
    row.citizen_pk = session.citizen_pk
    if allow:
        row.grant_id = new_grant_id()
        row.auth_time, row.acr, row.amr, row.sid = session.auth_time, session.acr, session.amr, session.sid
    audit.record(
        "device_authorization_approved" if allow else "device_authorization_denied",
        "success" if allow else "info",
        citizen_pk=session.citizen_pk,
        client_id=row.client_id,
        scope=row.scope,
    )


# --- the kiosk's polling at the token endpoint (§3.4, §3.5) -----------------------------------------
class DeviceCodeGrant(BaseGrant, TokenEndpointMixin):
    """Written on Authlib's grant base rather than its DeviceCodeGrant, which answers an unknown
    code with invalid_request and leaves an approved code usable more than once."""

    GRANT_TYPE = GRANT_TYPE
    TOKEN_ENDPOINT_AUTH_METHODS = [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
        "none",
    ]

    def validate_token_request(self):
        device_code = self.request.payload.data.get("device_code")
        if not device_code:
            raise InvalidRequestError("The 'device_code' parameter is missing.")
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(GRANT_TYPE):
            raise UnauthorizedClientError("This portal may not use the device flow.")
        row = None
        if (
            isinstance(device_code, str)
            and device_code.startswith(DEVICE_CODE_PREFIX)
            and len(device_code) < 100
        ):
            row = db.session.scalar(
                select(DeviceAuthorization).where(
                    DeviceAuthorization.device_code_hash == token_hash(device_code)
                )
            )
        if row is None or row.client_id != client.client_id or row.status == "used":
            raise InvalidGrantError("The device_code is unknown, used, or not this portal's.")
        if row.expires_at <= now():
            raise ExpiredTokenError()
        if row.status == "denied":
            raise AccessDeniedError("The citizen did not allow it.")
        if row.status == "pending":
            self._polled(row)
        self.request.client = client
        self.request.credential = row
        citizen = db.session.get(Citizen, row.citizen_pk)
        if citizen is None or not citizen.is_active:
            raise InvalidGrantError("The citizen's account is not active.")
        self.request.user = citizen

    def _polled(self, row: DeviceAuthorization) -> None:
        """§3.5: authorization_pending, or slow_down for a kiosk polling faster than the interval.
        The poll time is committed on its own: the failed request writes nothing else."""
        at = now()
        too_fast = row.last_polled_at is not None and at - row.last_polled_at < row.interval
        db.session.execute(
            update(DeviceAuthorization).where(DeviceAuthorization.id == row.id).values(last_polled_at=at)
        )
        db.session.commit()
        raise SlowDownError() if too_fast else AuthorizationPendingError()

    @property
    def auth_context(self) -> tokens.AuthContext:
        row = self.request.credential
        return tokens.AuthContext(auth_time=row.auth_time, acr=row.acr, amr=row.amr, sid=row.sid)

    @hooked  # IdTokenOnResponse adds the ID token after it
    def create_token_response(self):
        row = self.request.credential
        client = self.request.client
        token = self.generate_token(
            user=self.request.user,
            scope=row.scope,
            include_refresh_token="offline_access" in row.scope.split()
            and client.check_grant_type("refresh_token"),
        )
        used = db.session.execute(
            update(DeviceAuthorization)
            .where(DeviceAuthorization.id == row.id, DeviceAuthorization.status == "approved")
            .values(status="used")
        )
        if used.rowcount != 1:  # two polls at the same moment: one wins
            raise InvalidGrantError("The device_code was already used.")
        self.signing_key = tokens.signing_key_for(client)
        tokens.store(
            token,
            client,
            self.request.user,
            row.grant_id,
            self.auth_context,
            signing_kid=self.signing_key.kid if "openid" in row.scope.split() else None,
            grant_type="device_code",
            dpop_jkt=dpop_binding(client),
        )
        return 200, token, self.TOKEN_RESPONSE_HEADER
