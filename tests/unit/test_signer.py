"""The JWTs we sign are ordinary compact JWS: joserfc decodes and verifies them with the public key
alone, and where the algorithm is deterministic the bytes are those joserfc's own jwt.encode makes."""

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.keystore import crypto, lifecycle
from idp.oauth import signer

CLAIMS = {"iss": "https://id.thainguyen.gov.vn", "sub": "c-1", "aud": "portal", "iat": 1, "exp": 2}


def key_for(alg: str):
    return lifecycle.import_jwk(crypto.generate_pem(alg), alg, f"kid-{alg}")


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_a_signed_token_verifies_with_the_public_key_alone(alg):
    key = key_for(alg)
    public = KeySet.import_key_set({"keys": [key.as_dict(private=False)]})

    token = jwt.decode(signer.sign(CLAIMS, key, typ="logout+jwt"), public, algorithms=[alg])

    assert token.header == {"typ": "logout+jwt", "alg": alg, "kid": f"kid-{alg}"}
    assert token.claims == CLAIMS


@pytest.mark.parametrize("alg", ["RS256", "EdDSA"])
def test_a_deterministic_signature_is_byte_for_byte_joserfcs(alg):
    key = key_for(alg)
    header = {"alg": alg, "kid": key.kid, "typ": "JWT"}

    assert signer.sign(CLAIMS, key) == jwt.encode(header, CLAIMS, key, algorithms=[alg])


def test_vietnamese_claims_survive_the_round_trip():
    key = key_for("ES256")
    claims = {**CLAIMS, "name": "Nguyễn Thị Hồng Nhung"}

    decoded = jwt.decode(signer.sign(claims, key), key, algorithms=["ES256"])

    assert decoded.claims["name"] == "Nguyễn Thị Hồng Nhung"
