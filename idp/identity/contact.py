"""Phone numbers and e-mail addresses, normalised so one citizen has one spelling of each."""

from __future__ import annotations

import re

import email_validator
import phonenumbers


class InvalidContact(ValueError):
    pass


_PHONE_SHAPE = re.compile(r"^\+?[0-9][0-9 .-]{7,18}$")


def normalise_phone(raw: str) -> str:
    """A Vietnamese phone number in E.164 (+84…), or InvalidContact. Only digits, spaces, dots and
    dashes: phonenumbers alone would also take "tel:", extensions and surrounding junk."""
    if not _PHONE_SHAPE.match(raw.strip()):
        raise InvalidContact("not a phone number")
    try:
        number = phonenumbers.parse(raw, "VN")
    except phonenumbers.NumberParseException:
        raise InvalidContact("not a phone number") from None
    if not phonenumbers.is_valid_number(number) or phonenumbers.region_code_for_number(number) != "VN":
        raise InvalidContact("not a valid Vietnamese phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    try:
        info = email_validator.validate_email(raw, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise InvalidContact(str(exc)) from None
    return info.normalized.lower()
