"""The shape of a CCCD number (Căn cước công dân), per Circular 07/2016/TT-BCA and its successors.

    PPP G YY NNNNNN
    PPP     code of the province where the birth was registered (001 Hà Nội … 019 Thái Nguyên …)
    G       century and gender: 0/1 for 1900–1999 (male/female), 2/3 for 2000–2099, 4/5 for 2100–2199…
    YY      the last two digits of the birth year
    NNNNNN  a serial number

Only the shape can be checked offline; whether the number was really issued is an operator's
in-person check (level of assurance 3).
"""

from __future__ import annotations

import datetime as dt
import random
import re

PROVINCE_CODES = frozenset(
    [
        "001",
        "002",
        "004",
        "006",
        "008",
        "010",
        "011",
        "012",
        "014",
        "015",
        "017",
        "019",
        "020",
        "022",
        "024",
        "025",
        "026",
        "027",
        "030",
        "031",
        "033",
        "034",
        "035",
        "036",
        "037",
        "038",
        "040",
        "042",
        "044",
        "045",
        "046",
        "048",
        "049",
        "051",
        "052",
        "054",
        "056",
        "058",
        "060",
        "062",
        "064",
        "066",
        "067",
        "068",
        "070",
        "072",
        "074",
        "075",
        "077",
        "079",
        "080",
        "082",
        "083",
        "084",
        "086",
        "087",
        "089",
        "091",
        "092",
        "093",
        "094",
        "095",
        "096",
    ]
)
THAI_NGUYEN = "019"
_SHAPE = re.compile(r"^[0-9]{12}$")  # ASCII only: \d would take other scripts' digits


class InvalidCCCD(ValueError):
    """The number does not have the shape of a CCCD for this birth date and gender."""


def century_gender_digit(birth_date: dt.date, gender: str) -> str:
    century_index = birth_date.year // 100 - 19  # 1900s → 0, 2000s → 1 …
    if not 0 <= century_index <= 4:
        raise InvalidCCCD("birth year outside 1900–2399")
    return str(century_index * 2 + (1 if gender == "female" else 0))


def validate(number: str, birth_date: dt.date, gender: str) -> str:
    """Return the number if its shape fits the birth date and gender, else raise InvalidCCCD."""
    number = number.strip() if isinstance(number, str) else ""
    if not _SHAPE.match(number):
        raise InvalidCCCD("a CCCD number has exactly 12 digits")
    if number[:3] not in PROVINCE_CODES:
        raise InvalidCCCD(f"{number[:3]} is not a province code")
    if number[3] != century_gender_digit(birth_date, gender):
        raise InvalidCCCD("the 4th digit does not match the birth century and gender")
    if number[4:6] != f"{birth_date.year % 100:02d}":
        raise InvalidCCCD("the 5th and 6th digits must be the last two digits of the birth year")
    return number


def looks_like_cccd(value: str) -> bool:
    return bool(_SHAPE.match(value)) and value[:3] in PROVINCE_CODES


def synthetic(
    birth_date: dt.date, gender: str, rng: random.Random | None = None, province: str = THAI_NGUYEN
) -> str:
    """A valid-shaped number for fixtures and the demo (never a real person's)."""
    rng = rng or random.Random()
    serial = f"{rng.randrange(10**6):06d}"
    return f"{province}{century_gender_digit(birth_date, gender)}{birth_date.year % 100:02d}{serial}"
