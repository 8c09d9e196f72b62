"""The authenticator-app rules, on the real service with the test clock: secret encrypted at rest
and bound to its citizen, ±1 step of 30 s, each code once, recovery codes once."""

from __future__ import annotations

import pyotp
import pytest

from idp import clock
from idp.extensions import db
from idp.identity import recovery_codes, totp
from idp.models import Citizen, RecoveryCode, TotpCredential


@pytest.fixture
def pks(make_citizen):
    """Two citizens, made (and committed) before the test's own unit of work starts."""
    return make_citizen()["pk"], make_citizen()["pk"]


@pytest.fixture
def citizen(pks, ctx):
    return db.session.get(Citizen, pks[0])


@pytest.fixture
def secret(citizen):
    clock.freeze()
    row = totp.begin(citizen)
    return totp.secret_of(row)


def code(secret: str, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now() + 30 * steps)


def test_the_secret_is_stored_encrypted_and_only_for_its_citizen(citizen, secret, pks):
    row = db.session.get(TotpCredential, citizen.id)
    assert secret.encode() not in row.secret_encrypted and len(secret) == 32
    copied = TotpCredential(citizen_pk=pks[1], secret_encrypted=row.secret_encrypted, last_used_step=0)
    with pytest.raises(Exception):  # noqa: B017 - AES-GCM refuses: the citizen is the associated data
        totp.secret_of(copied)


def test_an_unconfirmed_app_is_not_a_factor(citizen, secret):
    assert not totp.is_enrolled(citizen.id)
    assert totp.verify(citizen.id, code(secret)) is False
    assert totp.confirm(citizen.id, code(secret)) is True
    assert totp.is_enrolled(citizen.id)


def test_each_code_works_once_and_an_older_code_never_after_a_newer(citizen, secret):
    assert totp.confirm(citizen.id, code(secret))
    assert totp.verify(citizen.id, code(secret)) is False  # the confirmation used this step
    clock.advance(30)
    assert totp.verify(citizen.id, code(secret)) is True
    assert totp.verify(citizen.id, code(secret)) is False
    assert totp.verify(citizen.id, code(secret, -1)) is False


@pytest.mark.parametrize("steps, accepted", [(-2, False), (-1, True), (1, True), (2, False)])
def test_one_step_either_side_is_accepted(citizen, secret, steps, accepted):
    row = db.session.get(TotpCredential, citizen.id)
    row.confirmed_at = clock.now()
    assert totp.verify(citizen.id, code(secret, steps)) is accepted


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_malformed_codes_are_refused(citizen, secret, typed):
    assert totp.confirm(citizen.id, typed) is False


def test_a_code_with_spaces_is_accepted(citizen, secret):
    typed = code(secret)
    assert totp.confirm(citizen.id, f"{typed[:3]} {typed[3:]}") is True


def test_recovery_codes_are_ten_hashed_and_each_works_once(citizen):
    codes = recovery_codes.generate(citizen.id)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = [r.code_hash for r in db.session.query(RecoveryCode).filter_by(citizen_pk=citizen.id)]
    assert not any(c.replace("-", "") in "".join(stored) for c in codes)

    assert recovery_codes.use(citizen.id, codes[0].lower()) is True
    assert recovery_codes.use(citizen.id, codes[0]) is False
    assert recovery_codes.remaining(citizen.id) == 9


def test_new_recovery_codes_replace_the_old_ones(citizen):
    old = recovery_codes.generate(citizen.id)
    recovery_codes.generate(citizen.id)
    assert recovery_codes.use(citizen.id, old[1]) is False


def test_a_recovery_code_of_one_citizen_does_not_work_for_another(citizen, pks):
    codes = recovery_codes.generate(citizen.id)
    other = pks[1]
    recovery_codes.generate(other)
    assert recovery_codes.use(other, codes[0]) is False
