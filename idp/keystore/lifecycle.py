"""The key lifecycle: next → active → retired → removed, and revoked in an emergency.

A rotation promotes the ``next`` key, which every portal has already seen in the JWKS, so no
portal meets a signature by a key it does not know (pre-publication). A retired key stays
published until every token it signed has expired. Every change happens under the store's lock,
so two operators (or two cron jobs) rotating at once leave exactly one active key per algorithm.
"""

from __future__ import annotations

from dataclasses import dataclass

from joserfc.jwk import ECKey, OKPKey, RSAKey

from ..clock import now
from .crypto import generate_pem
from .store import KeyStore, KeyStoreError, StoredKey


@dataclass(frozen=True)
class Policy:
    algorithms: tuple[str, ...]
    rsa_bits: int
    # How long a retired key stays published: the longest ID-token lifetime plus clock skew.
    retire_grace: int
    # How long a next key must have been published before it may sign: the JWKS max-age (portal
    # caches) plus the interval at which our own workers reload keys.
    min_publication: int


@dataclass(frozen=True)
class Change:
    action: str  # created | activated | retired | removed | revoked
    kid: str
    alg: str

    def __str__(self) -> str:
        return f"{self.action:<9} {self.kid} {self.alg}"


class RotationRefused(KeyStoreError):
    """A rotation would make a key sign before portals could have fetched it."""


def import_jwk(pem: bytes, alg: str, kid: str | None = None):
    params = {"alg": alg, "use": "sig"}
    if kid:
        params["kid"] = kid
    cls = RSAKey if alg in ("RS256", "PS256") else ECKey if alg == "ES256" else OKPKey
    return cls.import_key(pem, params)


def new_key(alg: str, state: str, policy: Policy) -> StoredKey:
    """A fresh key; its kid is its RFC 7638 thumbprint."""
    pem = generate_pem(alg, policy.rsa_bits)
    at = now()
    return StoredKey(
        kid=import_jwk(pem, alg).thumbprint(),
        alg=alg,
        state=state,
        created_at=at,
        activated_at=at if state == "active" else None,
        retire_after=None,
        private_pem=pem,
    )


def _by_state(keys: list[StoredKey], alg: str, state: str) -> list[StoredKey]:
    return sorted((k for k in keys if k.alg == alg and k.state == state), key=lambda k: k.created_at)


def ensure(store: KeyStore, policy: Policy) -> list[Change]:
    """Every configured algorithm has one active and one next key (first start, new algorithm)."""
    changes: list[Change] = []
    with store.lock():
        keys, _ = store.load()
        for alg in policy.algorithms:
            if not _by_state(keys, alg, "active"):
                key = new_key(alg, "active", policy)
                store.add(key)
                changes.append(Change("created", key.kid, alg))
                changes.append(Change("activated", key.kid, alg))
            if not _by_state(keys, alg, "next"):
                key = new_key(alg, "next", policy)
                store.add(key)
                changes.append(Change("created", key.kid, alg))
    return changes


def _check_publication(keys: list[StoredKey], alg: str, policy: Policy) -> None:
    at = now()
    candidates = _by_state(keys, alg, "next")
    if candidates and at - candidates[0].created_at < policy.min_publication:
        age = at - candidates[0].created_at
        raise RotationRefused(
            f"{alg}: the next key {candidates[0].kid} was published {age}s ago; portals may not have "
            f"fetched it yet. Try again in {policy.min_publication - age}s, or use --force."
        )


def _rotate_one(store: KeyStore, keys: list[StoredKey], alg: str, policy: Policy) -> list[Change]:
    at = now()
    changes = []
    for old in _by_state(keys, alg, "active"):
        store.update(old.but(state="retired", retire_after=at + policy.retire_grace))
        changes.append(Change("retired", old.kid, alg))
    candidates = _by_state(keys, alg, "next")
    if candidates:
        promoted = candidates[0].but(state="active", activated_at=at)
        store.update(promoted)
    else:
        promoted = new_key(alg, "active", policy)
        store.add(promoted)
        changes.append(Change("created", promoted.kid, alg))
    changes.append(Change("activated", promoted.kid, alg))
    fresh = new_key(alg, "next", policy)
    store.add(fresh)
    changes.append(Change("created", fresh.kid, alg))
    return changes


def rotate(
    store: KeyStore,
    policy: Policy,
    algorithms: tuple[str, ...] | None = None,
    older_than: int | None = None,
    force: bool = False,
) -> list[Change]:
    """Rotate each algorithm (only those whose active key is older than ``older_than``, if given).
    All or nothing: every precondition is checked before the first change."""
    changes: list[Change] = []
    with store.lock():
        keys, problems = store.load()
        if problems:
            raise KeyStoreError("refusing to rotate while keys are unreadable: " + "; ".join(problems))
        due = []
        for alg in algorithms or policy.algorithms:
            active = _by_state(keys, alg, "active")
            if older_than is not None and active and now() - (active[-1].activated_at or 0) < older_than:
                continue
            if not force:
                _check_publication(keys, alg, policy)
            due.append(alg)
        for alg in due:
            changes += _rotate_one(store, keys, alg, policy)
    return changes


def prune(store: KeyStore) -> list[Change]:
    """Remove retired keys whose tokens have all expired, and revoked keys' private parts."""
    changes: list[Change] = []
    at = now()
    with store.lock():
        keys, _ = store.load()
        for key in keys:
            if key.state == "retired" and key.retire_after is not None and key.retire_after <= at:
                store.remove(key.kid)
                changes.append(Change("removed", key.kid, key.alg))
    return changes


def revoke(store: KeyStore, policy: Policy, kid: str) -> list[Change]:
    """Withdraw a compromised key at once. If it was active, its algorithm gets a new active key
    before this returns (the next key if it is not the one revoked, else a new one)."""
    with store.lock():
        keys, _ = store.load()
        target = next((k for k in keys if k.kid == kid), None)
        if target is None:
            raise KeyStoreError(f"no key with kid {kid}")
        if target.state == "revoked":
            return []
        store.update(target.but(state="revoked"))
        changes = [Change("revoked", kid, target.alg)]
        remaining = [k for k in keys if k.kid != kid]
        if target.state == "active":
            # An emergency cannot wait for pre-publication: portals refetch the JWKS on an unknown kid.
            changes += _rotate_one(store, remaining, target.alg, policy)
        elif target.state == "next":
            fresh = new_key(target.alg, "next", policy)
            store.add(fresh)
            changes.append(Change("created", fresh.kid, target.alg))
    return changes
