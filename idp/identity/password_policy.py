"""The password policy (NIST SP 800-63B §5.1.1.2, ASVS 4.0.3 V2.1): long enough, not a known
common password, not the citizen's own identifiers, and no composition rules.

Composition rules ("one capital, one digit, one symbol") push people to ``Matkhau@123``, which is
on every attacker's list; length and a blocklist stop the guesses that actually work.

Applied wherever a password is set: registration, reset, change and activation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from importlib import resources

MIN_LENGTH = 10
MAX_LENGTH = 128  # ASVS 2.1.2: at least 64 allowed; more than 128 refused (Argon2 cost of junk)

REASONS = ("too_short", "too_long", "common", "personal")
_NON_ALNUM = re.compile(r"[\W_]+")


class WeakPassword(ValueError):
    """The password breaks the policy. ``reason`` is one of REASONS (the page translates it);
    ``str(exc)`` is an English sentence for the CLI. Never contains the password."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower case, read once per process."""
    text = resources.files(__package__).joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _squash(value: str) -> str:
    """Lower-case ASCII letters and digits only, so '0912 345 678' and '0912345678', or
    'Nguyễn Văn An' and 'nguyenvanan', compare equal."""
    folded = unicodedata.normalize("NFKD", value.lower().replace("đ", "d"))
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return _NON_ALNUM.sub("", folded)


def _contains_personal(squashed: str, value: str) -> bool:
    candidates = {_squash(value)}
    if "@" in value:
        candidates.add(_squash(value.split("@", 1)[0]))  # the mailbox name alone
    if value.startswith("+84"):
        candidates.add("0" + _squash(value)[2:])  # the national spelling 09…
    # The value itself, or the value with a few characters added ("019090001234!").
    return any(len(c) >= 6 and c in squashed and len(squashed) <= len(c) + 3 for c in candidates)


def check(password: str, personal: Iterable[str | None] = ()) -> None:
    """Raise WeakPassword if ``password`` may not be used. ``personal``: the citizen's own CCCD
    number, phone, email, name… — a password that is one of them is the first thing tried."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword("too_short", f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword("too_long", f"a password may have at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in common_passwords() or lowered.strip() in common_passwords():
        raise WeakPassword("common", "this password is on the list of common passwords")
    squashed = _squash(password)
    if any(value and _contains_personal(squashed, value) for value in personal):
        raise WeakPassword("personal", "the password must not be your own CCCD number, phone, email or name")
