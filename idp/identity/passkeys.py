"""Passkeys (WebAuthn Level 2) as a second factor: registration and assertion, verified by the
`webauthn` package against the relying-party id and the origin derived from the issuer.

- The relying-party id is the issuer's host unless IDP_WEBAUTHN_RP_ID names a parent domain; the
  expected origin is the issuer's scheme, host and port. A passkey made for another site, or
  relayed from a look-alike domain, fails here: the browser signs the origin it really is on.
- Attestation "none": a passkey proves possession, not its make; a citizen's own phone is fine.
- The signature counter must grow when the authenticator keeps one (a cloned key shows as a
  counter that goes back); synced passkeys report 0 always, which is allowed.

`webauthn` is imported inside the functions that use it: with cbor2, pyOpenSSL and pyasn1 under it
it costs a worker ≈ 6 MB, and most workers never see a passkey (bench/CHANGES.md, memory).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import select

from ..clock import now
from ..extensions import db
from ..models import Citizen, WebAuthnCredential
from ..services import services

if TYPE_CHECKING:
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

RP_NAME = "Thai Nguyen ID"
MAX_NAME = 100
MAX_CREDENTIAL_JSON = 16 * 1024
TIMEOUT_MS = 120_000  # an older citizen may need a while to find the phone


class PasskeyError(ValueError):
    """The browser's answer does not verify (never says more to the citizen than that)."""


@dataclass(frozen=True)
class Verified:
    credential: WebAuthnCredential
    amr: list[str]


def rp_id() -> str:
    settings = services().settings
    return settings.webauthn_rp_id or urlsplit(settings.issuer).hostname


def origin() -> str:
    parts = urlsplit(services().settings.issuer)
    return f"{parts.scheme}://{parts.netloc}"


def list_for(citizen_pk: int) -> list[WebAuthnCredential]:
    return list(
        db.session.scalars(
            select(WebAuthnCredential)
            .where(WebAuthnCredential.citizen_pk == citizen_pk)
            .order_by(WebAuthnCredential.created_at, WebAuthnCredential.id)
        )
    )


def _descriptors(rows: list[WebAuthnCredential]) -> list[PublicKeyCredentialDescriptor]:
    from webauthn.helpers import base64url_to_bytes
    from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

    descriptors = []
    for row in rows:
        transports = []
        for value in row.transports or []:
            try:
                transports.append(AuthenticatorTransport(value))
            except ValueError:
                continue
        key_id = base64url_to_bytes(row.credential_id)
        descriptors.append(PublicKeyCredentialDescriptor(id=key_id, transports=transports or None))
    return descriptors


def registration_options(citizen: Citizen) -> tuple[str, bytes]:
    """(options JSON for navigator.credentials.create, challenge to keep until the answer)."""
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    options = generate_registration_options(
        rp_id=rp_id(),
        rp_name=RP_NAME,
        user_name=citizen.phone or citizen.email or citizen.citizen_id,
        # The subject, not the CCCD number: the authenticator may show or sync the user handle.
        user_id=citizen.subject.encode(),
        user_display_name=citizen.full_name,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(list_for(citizen.id)),
    )
    return options_to_json(options), options.challenge


def register(citizen: Citizen, credential_json: str, challenge: bytes, name: str) -> WebAuthnCredential:
    from webauthn import verify_registration_response
    from webauthn.helpers import bytes_to_base64url
    from webauthn.helpers.exceptions import WebAuthnException

    name = " ".join(name.split())[:MAX_NAME]
    if not name:
        raise PasskeyError("name")
    if len(credential_json) > MAX_CREDENTIAL_JSON:
        raise PasskeyError("too long")
    try:
        verified = verify_registration_response(
            credential=credential_json,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=origin(),
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyError("does not verify") from exc
    credential_id = bytes_to_base64url(verified.credential_id)
    taken = db.session.scalar(
        select(WebAuthnCredential.id).where(WebAuthnCredential.credential_id == credential_id)
    )
    if taken is not None:
        raise PasskeyError("already registered")
    try:
        transports = json.loads(credential_json).get("response", {}).get("transports") or []
    except (ValueError, AttributeError):
        transports = []
    row = WebAuthnCredential(
        citizen_pk=citizen.id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[t for t in transports if isinstance(t, str)][:10],
        name=name,
        aaguid=verified.aaguid,
        backup_eligible=int(verified.credential_device_type == "multi_device"),
        created_at=now(),
    )
    db.session.add(row)
    db.session.flush()
    return row


def authentication_options(citizen_pk: int) -> tuple[str, bytes]:
    """(options JSON for navigator.credentials.get, challenge), limited to this citizen's keys."""
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import UserVerificationRequirement

    options = generate_authentication_options(
        rp_id=rp_id(),
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(list_for(citizen_pk)),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options), options.challenge


def authenticate(citizen_pk: int, credential_json: str, challenge: bytes) -> Verified:
    """The citizen's passkey signed this challenge. Its counter and last use are updated."""
    from webauthn import verify_authentication_response
    from webauthn.helpers.exceptions import WebAuthnException

    if len(credential_json) > MAX_CREDENTIAL_JSON:
        raise PasskeyError("too long")
    try:
        credential_id = json.loads(credential_json)["id"]
    except (ValueError, KeyError, TypeError):
        raise PasskeyError("malformed") from None
    row = db.session.scalar(
        select(WebAuthnCredential).where(
            WebAuthnCredential.credential_id == str(credential_id)[:1400],
            WebAuthnCredential.citizen_pk == citizen_pk,
        )
    )
    if row is None:
        raise PasskeyError("unknown credential")
    try:
        verified = verify_authentication_response(
            credential=credential_json,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=origin(),
            credential_public_key=row.public_key,
            credential_current_sign_count=row.sign_count,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyError("does not verify") from exc
    row.sign_count = verified.new_sign_count
    row.last_used_at = now()
    # RFC 8176: a key that can be synced to other devices is software-held; one that cannot, hardware.
    method = "swk" if verified.credential_device_type == "multi_device" else "hwk"
    return Verified(row, [method, "user"])


def remove(citizen_pk: int, passkey_id: int) -> WebAuthnCredential | None:
    row = db.session.get(WebAuthnCredential, passkey_id)
    if row is None or row.citizen_pk != citizen_pk:
        return None
    db.session.delete(row)
    return row
