"""Second factors for tests: an authenticator app (the TOTP secret and its codes), and a software
WebAuthn authenticator that makes real registration and assertion responses (EC P-256, "none"
attestation, CBOR by hand), so the server's real WebAuthn verification runs on them."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

import cbor2
import pyotp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from idp import clock
from idp.extensions import db
from idp.identity import recovery_codes, totp
from idp.models import Citizen

LOA1 = "urn:thainguyen:id:loa:1"
LOA2 = "urn:thainguyen:id:loa:2"
LOA3 = "urn:thainguyen:id:loa:3"


def enrol_totp(app, citizen: dict, with_recovery_codes: bool = False) -> dict:
    """Give the citizen a confirmed authenticator app; → {"secret", "recovery_codes"}.
    No code is consumed, so the first code of a login is accepted."""
    with app.app_context():
        row = totp.begin(db.session.get(Citizen, citizen["pk"]))
        row.confirmed_at = clock.now()
        secret = totp.secret_of(row)
        codes = recovery_codes.generate(citizen["pk"]) if with_recovery_codes else []
        db.session.commit()
    return {"secret": secret, "recovery_codes": codes}


def code_now(secret: str, offset_steps: int = 0) -> str:
    """The app's code at the (test-movable) clock, ``offset_steps`` steps of 30 s away."""
    return pyotp.TOTP(secret).at(clock.now() + 30 * offset_steps)


def next_step() -> None:
    """Move the clock to the next 30-second step (a new code; the last one stays used)."""
    clock.advance(30)


def identity_checked(app, citizen: dict) -> None:
    """What `idp users verify-identity` records (written by another command; set directly here)."""
    with app.app_context():
        row = db.session.get(Citizen, citizen["pk"])
        row.identity_verified_at, row.identity_verified_by = clock.now(), "operator:test"
        db.session.commit()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    """A passkey held in memory. ``origin`` is where the "browser" says it is."""

    def __init__(self, rp_id: str = "127.0.0.1", origin: str = "http://127.0.0.1:5000",
                 backup_eligible: bool = False) -> None:
        self.rp_id, self.origin = rp_id, origin
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = 0
        self.backup_eligible = backup_eligible

    def _flags(self, attested: bool) -> int:
        flags = 0x01 | 0x04  # user present, user verified
        if self.backup_eligible:
            flags |= 0x08
        if attested:
            flags |= 0x40
        return flags

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin,
                           "crossOrigin": False}).encode()

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})

    def register(self, options: dict) -> str:
        """The JSON a browser posts after navigator.credentials.create(options)."""
        assert options["rp"]["id"] == self.rp_id
        client_data = self._client_data("webauthn.create", options["challenge"])
        auth_data = (hashlib.sha256(self.rp_id.encode()).digest() + bytes([self._flags(True)])
                     + struct.pack(">I", self.sign_count) + bytes(16)
                     + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose_key())
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps({
            "id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
            "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation),
                         "transports": ["internal"]},
            "clientExtensionResults": {}, "authenticatorAttachment": "platform",
        })

    def assert_(self, options: dict, challenge: str | None = None, origin: str | None = None) -> str:
        """The JSON a browser posts after navigator.credentials.get(options)."""
        self.sign_count += 1
        client_data = json.dumps({"type": "webauthn.get", "challenge": challenge or options["challenge"],
                                  "origin": origin or self.origin, "crossOrigin": False}).encode()
        auth_data = (hashlib.sha256(self.rp_id.encode()).digest() + bytes([self._flags(False)])
                     + struct.pack(">I", self.sign_count))
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps({
            "id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
            "response": {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                         "signature": b64url(signature), "userHandle": None},
            "clientExtensionResults": {}, "authenticatorAttachment": "platform",
        })
