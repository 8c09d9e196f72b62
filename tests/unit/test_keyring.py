"""Signing keys on disk: one active key per algorithm, encrypted at rest with mode 0600, published
without private members, and a damaged file costs only its own key."""

from __future__ import annotations

import dataclasses
import json
import logging
import stat

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.keystore import KeyRing, KeyStoreError
from idp.keystore.files import MANIFEST, FileKeyStore

PASSPHRASE = b"cum-tu-bi-mat-cho-khoa"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}
ALGS = ("RS256", "ES256")


def ring_over(directory, passphrase: bytes = PASSPHRASE) -> KeyRing:
    return KeyRing(FileKeyStore(directory, passphrase), algorithms=ALGS, check_interval=0)


@pytest.fixture
def ring(tmp_path) -> KeyRing:
    ring = ring_over(tmp_path)
    ring.ensure_keys()
    ring.refresh(force=True)
    return ring


def manifest(directory) -> list[dict]:
    return json.loads((directory / MANIFEST).read_text())["keys"]


def active_kid(directory, alg: str) -> str:
    (kid,) = [k["kid"] for k in manifest(directory) if k["alg"] == alg and k["state"] == "active"]
    return kid


def published(ring: KeyRing) -> list[dict]:
    return json.loads(ring.jwks()[0])["keys"]


def sign(ring: KeyRing, alg: str) -> str:
    key = ring.signing_key(alg)
    return jwt.encode({"alg": alg, "kid": key.kid}, {"sub": "abc"}, key, algorithms=[alg])


def verifies(ring: KeyRing, token: str, alg: str) -> bool:
    keys = KeySet.import_key_set({"keys": published(ring)})
    return jwt.decode(token, keys, algorithms=[alg]).claims["sub"] == "abc"


def test_ensure_keys_creates_exactly_one_active_key_per_algorithm_once(tmp_path):
    ring = ring_over(tmp_path)

    assert ring.ensure_keys()

    entries = manifest(tmp_path)
    assert sorted(k["alg"] for k in entries if k["state"] == "active") == ["ES256", "RS256"]
    assert {k["alg"] for k in entries} == set(ALGS)
    assert not ring.ensure_keys()  # a second start creates nothing
    assert manifest(tmp_path) == entries


def test_key_files_are_private_and_encrypted(tmp_path, ring):
    for entry in manifest(tmp_path):
        path = tmp_path / f"{entry['kid']}.pem"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        pem = path.read_bytes()
        assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        assert b"ENCRYPTED" in pem
    assert stat.S_IMODE((tmp_path / MANIFEST).stat().st_mode) == 0o600


def test_jwks_publishes_only_public_members(ring):
    body, etag = ring.jwks()

    keys = json.loads(body)["keys"]
    assert {k["alg"] for k in keys} == set(ALGS)
    for key in keys:
        assert {"kid", "kty", "alg", "use"} <= key.keys()
        assert key["use"] == "sig"
        assert not PRIVATE_MEMBERS & key.keys(), key.keys()
    assert {k["kty"] for k in keys} == {"RSA", "EC"}
    assert etag.startswith('"') and etag.endswith('"')


def test_kid_is_the_rfc7638_thumbprint(ring):
    for key in published(ring):
        assert KeySet.import_key_set({"keys": [key]}).keys[0].thumbprint() == key["kid"]


@pytest.mark.parametrize("alg", ALGS)
def test_signing_key_signs_what_the_jwks_verifies(tmp_path, ring, alg):
    assert ring.signing_key(alg).kid == active_kid(tmp_path, alg)
    assert verifies(ring, sign(ring, alg), alg)


def test_algorithm_without_a_key_has_no_signing_key(ring):
    with pytest.raises(KeyStoreError, match="HS256"):
        ring.signing_key("HS256")


def test_wrong_passphrase_is_reported_naming_each_file(tmp_path, ring, caplog):
    keys, problems = FileKeyStore(tmp_path, b"not the passphrase").load()

    assert keys == []
    assert len(problems) == len(manifest(tmp_path))
    for entry in manifest(tmp_path):
        path = str(tmp_path / f"{entry['kid']}.pem")
        assert any(path in p and "IDP_KEYS_PASSPHRASE" in p for p in problems)
    with caplog.at_level(logging.ERROR), pytest.raises(KeyStoreError):
        ring_over(tmp_path, b"not the passphrase").refresh(force=True)
    assert any(f"{active_kid(tmp_path, 'RS256')}.pem" in r.getMessage() for r in caplog.records)


def test_corrupt_key_file_is_skipped_and_named_while_the_others_keep_signing(tmp_path, ring, caplog):
    rs_kid = active_kid(tmp_path, "RS256")
    (tmp_path / f"{rs_kid}.pem").write_bytes(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\ngarbage\n")

    with caplog.at_level(logging.ERROR):
        fresh = ring_over(tmp_path)
        fresh.refresh(force=True)

    assert any(f"{rs_kid}.pem" in r.getMessage() for r in caplog.records)
    assert verifies(fresh, sign(fresh, "ES256"), "ES256")
    assert rs_kid not in {k["kid"] for k in published(fresh)}


def test_missing_key_file_is_reported_by_name(tmp_path, ring):
    es_kid = active_kid(tmp_path, "ES256")
    (tmp_path / f"{es_kid}.pem").unlink()

    keys, problems = FileKeyStore(tmp_path, PASSPHRASE).load()

    assert es_kid not in {k.kid for k in keys}
    assert problems == [f"{tmp_path / (es_kid + '.pem')}: missing"]


def test_running_ring_keeps_signing_when_its_key_files_become_unreadable(tmp_path, ring):
    token_before = sign(ring, "RS256")
    for entry in manifest(tmp_path):
        (tmp_path / f"{entry['kid']}.pem").write_bytes(b"garbage")
    (tmp_path / MANIFEST).write_text(json.dumps({"keys": manifest(tmp_path)}, indent=1))

    ring.refresh(force=True)

    assert verifies(ring, sign(ring, "RS256"), "RS256")
    assert verifies(ring, token_before, "RS256")


def key_made_elsewhere(directory, alg: str):
    """A new key of ``alg``, made by a ring over another directory."""
    ring_over(directory).ensure_keys()
    keys, _ = FileKeyStore(directory, PASSPHRASE).load()
    return next(k for k in keys if k.alg == alg and k.state == "active")


def test_etag_changes_when_the_key_set_changes_and_only_then(tmp_path, ring):
    body, etag = ring.jwks()
    ring.refresh()
    assert ring.jwks() == (body, etag)

    newcomer = key_made_elsewhere(tmp_path / "elsewhere", "ES256")
    ring.store.add(dataclasses.replace(newcomer, state="next"))
    ring.refresh()

    new_body, new_etag = ring.jwks()
    assert new_etag != etag and new_body != body
    assert newcomer.kid in {k["kid"] for k in published(ring)}
    assert ring.signing_key("ES256").kid != newcomer.kid  # published before it signs


def test_revoked_key_is_withdrawn_from_the_jwks_and_the_etag_changes(tmp_path, ring):
    newcomer = dataclasses.replace(key_made_elsewhere(tmp_path / "elsewhere", "RS256"), state="next")
    ring.store.add(newcomer)
    ring.refresh()
    _, etag = ring.jwks()
    assert newcomer.kid in {k["kid"] for k in published(ring)}

    ring.store.update(dataclasses.replace(newcomer, state="revoked"))
    ring.refresh()

    _, new_etag = ring.jwks()
    assert new_etag != etag
    assert newcomer.kid not in {k["kid"] for k in published(ring)}
