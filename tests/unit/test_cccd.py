"""The shape of a CCCD number: province, century-and-gender digit, birth year, serial."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idp.identity import cccd

BORN_1990 = dt.date(1990, 5, 17)
BORN_2001 = dt.date(2001, 11, 3)


def test_man_born_in_1990_has_century_digit_0():
    assert cccd.validate("019090123456", BORN_1990, "male") == "019090123456"


def test_woman_born_in_2001_has_century_digit_3():
    assert cccd.validate("001301654321", BORN_2001, "female") == "001301654321"


def test_surrounding_spaces_are_ignored():
    assert cccd.validate(" 019090123456 ", BORN_1990, "male") == "019090123456"


@pytest.mark.parametrize(
    ("number", "birth", "gender", "reason"),
    [
        ("003090123456", BORN_1990, "male", "province"),  # 003 is not a province code
        ("000090123456", BORN_1990, "male", "province"),
        ("999090123456", BORN_1990, "male", "province"),
        ("019190123456", BORN_1990, "male", "4th digit"),  # 1 = woman of the 1900s
        ("019290123456", BORN_1990, "male", "4th digit"),  # 2 = man of the 2000s
        ("019201123456", BORN_2001, "female", "4th digit"),
        ("019091123456", BORN_1990, "male", "5th and 6th"),
        ("019390123456", BORN_2001, "female", "5th and 6th"),
        ("01909012345", BORN_1990, "male", "12 digits"),
        ("0190901234567", BORN_1990, "male", "12 digits"),
        ("", BORN_1990, "male", "12 digits"),
        ("01909012345a", BORN_1990, "male", "12 digits"),
        ("019-90123456", BORN_1990, "male", "12 digits"),
        ("019 090 123 456", BORN_1990, "male", "12 digits"),
    ],
)
def test_numbers_of_the_wrong_shape_are_refused(number, birth, gender, reason):
    with pytest.raises(cccd.InvalidCCCD, match=reason):
        cccd.validate(number, birth, gender)


@pytest.mark.parametrize(
    "number",
    [
        "０１９０９０１２３４５６",  # full-width digits
        "019090١٢٣٤٥٦",  # a serial in Arabic-Indic digits
        "019090۱۲۳۴۵۶",  # a serial in Persian digits
        "019090१२३४५६",  # a serial in Devanagari digits
    ],
)
def test_only_ascii_digits_make_a_cccd_number(number):
    # A CCCD number is printed in ASCII digits; Unicode digits would make look-alike duplicates.
    with pytest.raises(cccd.InvalidCCCD):
        cccd.validate(number, BORN_1990, "male")
    assert not cccd.looks_like_cccd(number)


def test_non_string_is_refused():
    with pytest.raises(cccd.InvalidCCCD):
        cccd.validate(19090123456, BORN_1990, "male")


def test_birth_year_outside_the_scheme_is_refused():
    with pytest.raises(cccd.InvalidCCCD):
        cccd.century_gender_digit(dt.date(1899, 12, 31), "male")


def test_looks_like_cccd_needs_twelve_digits_and_a_province():
    assert cccd.looks_like_cccd("019090123456")
    assert not cccd.looks_like_cccd("003090123456")
    assert not cccd.looks_like_cccd("+84912345678")


@given(
    birth=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)),
    gender=st.sampled_from(["male", "female"]),
    seed=st.integers(min_value=0, max_value=2**32),
    province=st.sampled_from(sorted(cccd.PROVINCE_CODES)),
)
def test_synthetic_numbers_are_always_valid_for_their_birth_date_and_gender(birth, gender, seed, province):
    number = cccd.synthetic(birth, gender, random.Random(seed), province=province)

    assert cccd.validate(number, birth, gender) == number
    assert number[:3] == province and len(number) == 12
    century = (birth.year // 100 - 19) * 2
    assert number[3] == str(century + (gender == "female"))
    other = "female" if gender == "male" else "male"
    with pytest.raises(cccd.InvalidCCCD):
        cccd.validate(number, birth, other)


def test_synthetic_defaults_to_thai_nguyen():
    assert cccd.synthetic(BORN_1990, "male").startswith(cccd.THAI_NGUYEN)
