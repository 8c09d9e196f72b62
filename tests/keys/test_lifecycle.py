"""The key lifecycle on both store back-ends: next → active → retired → removed, and revoked."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from idp import clock
from idp.keystore import KeyStoreError, lifecycle
from idp.keystore.database import DatabaseKeyStore
from idp.keystore.files import FileKeyStore
from idp.keystore.keyring import KeyRing

ALGS = ("RS256", "ES256", "EdDSA", "PS256")
POLICY = lifecycle.Policy(algorithms=ALGS, rsa_bits=2048, retire_grace=660, min_publication=330)
PASSPHRASE = b"test passphrase for the key store"


@pytest.fixture(params=["files", "database"])
def store(request, tmp_path, app, database_url):
    if request.param == "files":
        yield FileKeyStore(tmp_path / "keys", PASSPHRASE)
        return
    store = DatabaseKeyStore(database_url, PASSPHRASE, tmp_path)
    yield store
    store.engine.dispose()


def states(store) -> dict[str, list[str]]:
    keys, problems = store.load()
    assert problems == []
    by_alg: dict[str, list[str]] = {}
    for key in sorted(keys, key=lambda k: k.state):
        by_alg.setdefault(key.alg, []).append(key.state)
    return by_alg


def the(store, alg: str, state: str):
    keys, _ = store.load()
    found = [k for k in keys if k.alg == alg and k.state == state]
    assert len(found) == 1, found
    return found[0]


def test_first_start_creates_one_active_and_one_next_key_per_algorithm(store):
    lifecycle.ensure(store, POLICY)
    lifecycle.ensure(store, POLICY)  # idempotent

    assert states(store) == {alg: ["active", "next"] for alg in ALGS}


def test_rotation_promotes_the_prepublished_next_key_and_retires_the_active_one(store):
    lifecycle.ensure(store, POLICY)
    old_active, old_next = the(store, "ES256", "active"), the(store, "ES256", "next")
    clock.advance(POLICY.min_publication)

    changes = lifecycle.rotate(store, POLICY, ("ES256",))

    assert the(store, "ES256", "active").kid == old_next.kid
    retired = the(store, "ES256", "retired")
    assert retired.kid == old_active.kid
    assert abs(retired.retire_after - (clock.now() + POLICY.retire_grace)) <= 2
    assert the(store, "ES256", "next").kid not in (old_active.kid, old_next.kid)
    assert [c.action for c in changes] == ["retired", "activated", "created"]
    assert states(store)["RS256"] == ["active", "next"]  # other algorithms untouched


def test_rotation_is_refused_before_portals_can_have_fetched_the_next_key_and_changes_nothing(store):
    lifecycle.ensure(store, POLICY)
    before = store.load()[0]

    with pytest.raises(lifecycle.RotationRefused, match="Try again in"):
        lifecycle.rotate(store, POLICY)

    assert store.load()[0] == before


def test_rotate_if_older_than_does_nothing_until_the_active_key_is_due(store):
    lifecycle.ensure(store, POLICY)
    ninety_days = 90 * 86400
    clock.advance(ninety_days - 10)
    assert lifecycle.rotate(store, POLICY, older_than=ninety_days) == []

    clock.advance(20)
    changes = lifecycle.rotate(store, POLICY, older_than=ninety_days)

    assert {c.alg for c in changes if c.action == "activated"} == set(ALGS)


def test_prune_removes_a_retired_key_only_once_its_tokens_have_expired(store):
    lifecycle.ensure(store, POLICY)
    clock.advance(POLICY.min_publication)
    lifecycle.rotate(store, POLICY, ("RS256",))
    retired = the(store, "RS256", "retired")

    clock.advance(retired.retire_after - clock.now() - 5)
    assert lifecycle.prune(store) == []
    clock.advance(5)
    changes = lifecycle.prune(store)

    assert [(c.action, c.kid) for c in changes] == [("removed", retired.kid)]
    assert "retired" not in states(store)["RS256"]


def test_revoking_the_active_key_puts_a_new_active_key_in_place_at_once(store):
    lifecycle.ensure(store, POLICY)
    compromised = the(store, "RS256", "active")

    lifecycle.revoke(store, POLICY, compromised.kid)

    assert the(store, "RS256", "revoked").kid == compromised.kid
    assert the(store, "RS256", "active").kid != compromised.kid
    assert states(store)["RS256"] == ["active", "next", "revoked"]


def test_revoking_an_unknown_kid_is_an_error(store):
    lifecycle.ensure(store, POLICY)
    with pytest.raises(KeyStoreError, match="no key with kid"):
        lifecycle.revoke(store, POLICY, "no-such-kid")


def test_the_key_ring_never_publishes_a_revoked_key_and_signs_with_the_new_one(store):
    lifecycle.ensure(store, POLICY)
    ring = KeyRing(store, ALGS, check_interval=0, policy=POLICY)
    compromised = ring.signing_key("ES256").kid

    lifecycle.revoke(store, POLICY, compromised)

    assert ring.signing_key("ES256").kid != compromised
    assert compromised not in ring.jwks()[0].decode()


def test_a_worker_picks_up_a_rotation_within_its_check_interval_without_parsing_keys_per_call(store):
    lifecycle.ensure(store, POLICY)
    ring = KeyRing(store, ALGS, check_interval=3600, policy=POLICY)
    before = ring.signing_key("RS256").kid
    clock.advance(POLICY.min_publication)
    lifecycle.rotate(store, POLICY, ("RS256",))

    assert ring.signing_key("RS256").kid == before  # inside the interval: the cached key
    ring.check_interval = 0
    assert ring.signing_key("RS256").kid != before  # the interval has passed: the new key


def _rotate_in_another_process(kind: str, where: str, url: str, rounds: int) -> None:
    if kind == "files":
        store = FileKeyStore(Path(where), PASSPHRASE)
    else:
        store = DatabaseKeyStore(url, PASSPHRASE, Path(where))
    for _ in range(rounds):
        lifecycle.rotate(store, POLICY, ("ES256",), force=True)


def test_two_processes_rotating_at_once_leave_a_consistent_key_set(store, tmp_path, database_url):
    lifecycle.ensure(store, POLICY)
    kind = "files" if isinstance(store, FileKeyStore) else "database"
    where = str(store.directory) if kind == "files" else str(tmp_path)
    spawn = multiprocessing.get_context("spawn")
    workers = [
        spawn.Process(target=_rotate_in_another_process, args=(kind, where, database_url, 3))
        for _ in range(2)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0

    es = states(store)["ES256"]
    assert es.count("active") == 1 and es.count("next") == 1
    assert es.count("retired") == 6  # every one of the six rotations retired exactly one key
