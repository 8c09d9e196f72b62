"""The password policy: long enough, not common, not the citizen's own identifiers, no composition rules."""

from __future__ import annotations

import pytest

from idp.identity import password_policy
from idp.identity.password_policy import WeakPassword, check


def reason_for(password: str, personal=()) -> str | None:
    try:
        check(password, personal)
    except WeakPassword as exc:
        assert not password or password not in str(exc)  # the message never repeats the password
        return exc.reason
    return None


def test_a_long_passphrase_without_digits_capitals_or_symbols_is_accepted():
    assert reason_for("ruộng lúa bên sông cầu") is None
    assert reason_for("mat khau rat dai cua lan anh") is None


@pytest.mark.parametrize("password", ["", "ngan", "chin ky tu"[:9]])
def test_fewer_than_ten_characters_are_refused(password):
    assert reason_for(password) == "too_short"


def test_ten_characters_are_enough():
    assert reason_for("ca phe sua") is None


def test_more_than_128_characters_are_refused():
    assert reason_for("a b c d " * 17) == "too_long"


@pytest.mark.parametrize(
    "password", ["password123", "1234567890", "qwertyuiop", "matkhau123", "anhyeuem123", "1q2w3e4r5t"]
)
def test_common_passwords_are_refused(password):
    assert reason_for(password) == "common"


@pytest.mark.parametrize("password", ["PASSWORD123", "Matkhau123", "AnhYeuEm123", "QwertyUIOP"])
def test_the_common_list_is_checked_whatever_the_case(password):
    assert reason_for(password) == "common"


def test_the_shipped_list_has_thousands_of_lower_case_entries_of_ten_characters_or_more():
    entries = password_policy.common_passwords()
    assert len(entries) > 5000
    assert all(entry == entry.lower() and len(entry) >= 10 for entry in entries)


@pytest.mark.parametrize(
    "password, personal",
    [
        ("019090001234", ["019090001234"]),
        ("019090001234!", ["019090001234"]),
        ("0912345678ab", ["+84912345678"]),
        ("+84 912 345 678", ["+84912345678"]),
        ("lananh.tran1990", ["lananh.tran1990@example.com"]),
        ("NguyenVanAn1", ["Nguyễn Văn An"]),
    ],
)
def test_the_citizens_own_cccd_phone_email_or_name_is_refused(password, personal):
    assert reason_for(password, personal) == "personal"


def test_a_password_that_merely_shares_a_few_digits_with_the_phone_is_accepted():
    assert reason_for("toi sinh nam 1990 o 678", ["+84912345678"]) is None
