"""Password guessing fails: a growing wait after a few failures, then a temporary lock, the same
for accounts that exist and for those that do not."""

from __future__ import annotations

import re

import pytest

from idp import clock
from idp.identity.passwords import Passwords
from tests.security.conftest import try_login

WRONG = "sai-mat-khau-12345"


@pytest.fixture(autouse=True)
def frozen_clock():
    """Waits of one second must not run out between two requests of a test: time moves only when
    a test says so."""
    clock.freeze()


@pytest.fixture
def web(make_app):
    return make_app(login_max_failures=5, login_lock_time=900).test_client()


def without_noise(html: str) -> str:
    html = re.sub(r'name="csrf_token" value="[^"]*"', "", html)
    html = re.sub(r'name="identifier"[^>]*>', "", html)
    return re.sub(r"lang=[a-z]+[^\"]*", "", html)


def test_after_three_failures_the_next_attempt_must_wait_and_is_told_how_long(web, make_citizen):
    citizen = make_citizen()
    for _ in range(3):
        assert try_login(web, citizen["citizen_id"], WRONG).status_code == 401

    refused = try_login(web, citizen["citizen_id"], citizen["password"])  # even the right password

    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Vui lòng đợi" in refused.get_data(as_text=True)


def test_the_wait_grows_with_each_failure_and_ends_in_a_lock(web, make_citizen):
    citizen = make_citizen()
    for _ in range(3):
        try_login(web, citizen["phone"], WRONG)
    waits = []
    for _ in range(2):
        refused = try_login(web, citizen["phone"], WRONG)
        assert refused.status_code == 429
        waits.append(int(refused.headers["Retry-After"]))
        clock.advance(waits[-1])
        last = try_login(web, citizen["phone"], WRONG)
    assert waits == [1, 2]

    assert last.status_code == 429  # the fifth failure (IDP_LOGIN_MAX_FAILURES=5) locks
    assert 890 <= int(last.headers["Retry-After"]) <= 900
    locked = try_login(web, citizen["phone"], citizen["password"])
    assert locked.status_code == 429
    assert "tạm khoá" in locked.get_data(as_text=True)


def test_a_lock_ends_by_itself_and_a_good_login_then_clears_the_count(web, make_citizen):
    citizen = make_citizen()
    for _ in range(5):
        try_login(web, citizen["citizen_id"], WRONG)
        clock.advance(61)
    assert try_login(web, citizen["citizen_id"], citizen["password"]).status_code == 429

    clock.advance(900)

    assert try_login(web, citizen["citizen_id"], citizen["password"]).status_code == 303


def test_an_unknown_account_is_throttled_and_locked_exactly_like_a_real_one(web, make_citizen):
    citizen = make_citizen()
    nobody = "019195999999"  # valid-shaped, no account
    for _ in range(3):
        known = try_login(web, citizen["citizen_id"], WRONG)
        unknown = try_login(web, nobody, WRONG)
        assert known.status_code == unknown.status_code == 401
        assert without_noise(known.get_data(as_text=True)) == without_noise(unknown.get_data(as_text=True))
    known, unknown = try_login(web, citizen["citizen_id"], WRONG), try_login(web, nobody, WRONG)
    assert known.status_code == unknown.status_code == 429
    assert known.headers["Retry-After"] == unknown.headers["Retry-After"]


def test_every_login_attempt_costs_one_argon2_verification_whether_the_account_exists_or_not(
    web, make_citizen, monkeypatch
):
    # Equal work is what makes equal timing: count the verifications instead of timing them.
    calls = []
    original = Passwords._verify_quietly
    monkeypatch.setattr(
        Passwords, "_verify_quietly", lambda self, h, p: calls.append(h) or original(self, h, p)
    )
    citizen = make_citizen()

    try_login(web, citizen["email"], WRONG)
    try_login(web, "khong.ton.tai@example.com", WRONG)
    try_login(web, citizen["email"], citizen["password"])

    assert len(calls) == 3


def test_a_throttled_attempt_computes_no_password_hash(web, make_citizen, monkeypatch):
    citizen = make_citizen()
    for _ in range(3):
        try_login(web, citizen["citizen_id"], WRONG)
    calls = []
    monkeypatch.setattr(Passwords, "_verify_quietly", lambda self, h, p: calls.append(h) or False)

    assert try_login(web, citizen["citizen_id"], WRONG).status_code == 429
    assert calls == []
