"""Key files: encrypted, 0600, written atomically; damage is named and never stops signing."""

from __future__ import annotations

import json
import stat

import pytest

from idp.keystore import KeyStoreError, lifecycle
from idp.keystore.files import FileKeyStore
from idp.keystore.keyring import KeyRing

POLICY = lifecycle.Policy(algorithms=("RS256", "ES256"), rsa_bits=2048, retire_grace=660, min_publication=0)


@pytest.fixture
def keys_dir(tmp_path):
    directory = tmp_path / "keys"
    lifecycle.ensure(FileKeyStore(directory, b"right passphrase"), POLICY)
    return directory


def test_private_keys_are_encrypted_files_readable_only_by_their_owner(keys_dir):
    pems = list(keys_dir.glob("*.pem"))
    assert len(pems) == 4
    for pem in pems:
        assert stat.S_IMODE(pem.stat().st_mode) == 0o600
        assert pem.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE((keys_dir / "manifest.json").stat().st_mode) == 0o600
    assert not list(keys_dir.glob(".*.pem.*")), "no temporary file is left behind"


def test_the_published_jwks_holds_public_members_only(keys_dir):
    ring = KeyRing(FileKeyStore(keys_dir, b"right passphrase"), ("RS256", "ES256"), 0, POLICY)
    jwks = json.loads(ring.jwks()[0])
    assert len(jwks["keys"]) == 4
    for key in jwks["keys"]:
        assert {"kid", "kty", "alg", "use"} <= key.keys() and key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()


def test_a_wrong_passphrase_is_reported_naming_each_file(keys_dir):
    keys, problems = FileKeyStore(keys_dir, b"wrong passphrase").load()
    assert keys == []
    assert len(problems) == 4
    assert all(".pem" in p and "IDP_KEYS_PASSPHRASE" in p for p in problems)


def test_a_corrupt_key_file_is_skipped_and_named_while_the_valid_keys_keep_signing(keys_dir, caplog):
    store = FileKeyStore(keys_dir, b"right passphrase")
    next_rs = next(k for k in store.load()[0] if k.alg == "RS256" and k.state == "next")
    (keys_dir / f"{next_rs.kid}.pem").write_bytes(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\ntrunc")

    ring = KeyRing(store, ("RS256", "ES256"), 0, POLICY)

    assert ring.signing_key("RS256") is not None and ring.signing_key("ES256") is not None
    assert any(next_rs.kid in p for p in ring.problems)
    assert next_rs.kid in caplog.text


def test_a_worker_keeps_signing_with_its_cached_key_when_the_active_key_file_is_damaged(keys_dir):
    store = FileKeyStore(keys_dir, b"right passphrase")
    ring = KeyRing(store, ("RS256", "ES256"), 0, POLICY)
    active = ring.signing_key("RS256")
    (keys_dir / f"{active.kid}.pem").write_bytes(b"garbage")
    (keys_dir / "manifest.json").touch()  # a new version: the ring reloads

    assert ring.signing_key("RS256").kid == active.kid
    assert active.kid in ring.jwks()[0].decode(), "never a JWKS without the key that signs"


def test_a_tampered_manifest_is_a_clear_error_naming_the_file(keys_dir):
    (keys_dir / "manifest.json").write_text("{not json")
    with pytest.raises(KeyStoreError, match=r"manifest\.json"):
        FileKeyStore(keys_dir, b"right passphrase").load()


def test_the_etag_changes_when_the_key_set_changes(keys_dir):
    store = FileKeyStore(keys_dir, b"right passphrase")
    ring = KeyRing(store, ("RS256", "ES256"), 0, POLICY)
    _, before = ring.jwks()
    lifecycle.rotate(store, POLICY, ("ES256",))
    _, after = ring.jwks()
    assert before != after
