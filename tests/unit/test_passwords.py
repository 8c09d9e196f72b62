"""Argon2id password hashing: the hash format, verification, rehash on new parameters, and the
unknown-account path that still costs one verification."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from idp.identity.passwords import Passwords

PASSWORD = "mat-khau-thu-nghiem-2026"


@pytest.fixture(scope="module")
def passwords() -> Passwords:
    return Passwords(1, 8192, 1)


def test_hash_is_argon2id_with_the_configured_parameters(passwords):
    hashed = passwords.hash(PASSWORD)

    assert hashed.startswith("$argon2id$")
    assert "m=8192,t=1,p=1" in hashed
    assert PASSWORD not in hashed


def test_same_password_hashes_differently_each_time(passwords):
    assert passwords.hash(PASSWORD) != passwords.hash(PASSWORD)


def test_right_password_verifies_without_rehash(passwords):
    assert passwords.verify(passwords.hash(PASSWORD), PASSWORD) == (True, None)


@pytest.mark.parametrize("attempt", ["", PASSWORD.upper(), PASSWORD + " ", PASSWORD[:-1]])
def test_wrong_password_is_refused(passwords, attempt):
    assert passwords.verify(passwords.hash(PASSWORD), attempt) == (False, None)


def test_vietnamese_password_verifies(passwords):
    secret = "Mật khẩu của tôi là Thái Nguyên"

    assert passwords.verify(passwords.hash(secret), secret) == (True, None)


def test_hash_made_with_older_parameters_is_rehashed_on_successful_login(passwords):
    stronger = Passwords(2, 8192, 1)
    old_hash = passwords.hash(PASSWORD)

    matches, new_hash = stronger.verify(old_hash, PASSWORD)

    assert matches is True
    assert new_hash is not None and new_hash.startswith("$argon2id$") and "t=2" in new_hash
    assert stronger.verify(new_hash, PASSWORD) == (True, None)


def test_wrong_password_against_an_old_hash_gives_no_rehash(passwords):
    assert Passwords(2, 8192, 1).verify(passwords.hash(PASSWORD), "not the password") == (False, None)


def test_unknown_account_is_refused(passwords):
    assert passwords.verify(None, PASSWORD) == (False, None)


@pytest.mark.parametrize("stored", ["", "not a hash", "$argon2id$v=19$m=8192,t=1,p=1$broken",
                                    "$2b$12$abcdefghijklmnopqrstuu"])
def test_corrupt_stored_hash_is_refused_not_raised(passwords, stored):
    assert passwords.verify(stored, PASSWORD) == (False, None)


def test_unknown_account_still_costs_one_argon2_verification(monkeypatch):
    # No enumeration by timing: an unknown account runs the same verification as a known one.
    passwords = Passwords(1, 8192, 1)
    verified = []
    real_verify = PasswordHasher.verify

    def counting_verify(hasher, stored_hash, password):
        verified.append(stored_hash)
        return real_verify(hasher, stored_hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)

    passwords.verify(None, PASSWORD)

    assert len(verified) == 1 and verified[0].startswith("$argon2id$")
