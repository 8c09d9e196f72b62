"""Assisted registration: a community digital-technology team's CSV of citizens becomes accounts
"pending activation", each with a one-time activation code to hand over on paper.

The file (UTF-8, a header row, comma-separated; Excel's "CSV UTF-8" with its BOM is fine):

    cccd,full_name,birth_date,gender,phone,email
    019090001234,Nguyễn Văn An,1990-05-15,nam,0912345678,an@example.com

- ``cccd``, ``full_name``, ``birth_date``, ``gender`` are required; ``phone``, ``email`` (and
  ``address``) may be left empty or left out.
- ``birth_date``: ``YYYY-MM-DD`` or ``DD/MM/YYYY``. ``gender``: ``nam``/``nữ`` or ``male``/``female``.

Rules: every row is checked by the same rules as any new account (idp/identity/citizens.py). A bad
row is reported with its line number and nothing of it is written; the good rows are imported. A
row whose CCCD number already has an account is skipped, so the same file imported twice creates
nothing the second time. The caller commits.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import select

from ..extensions import db
from ..models import Citizen
from ..security import audit
from . import activation, citizens
from .passwords import Passwords

REQUIRED = ("cccd", "full_name", "birth_date", "gender")
OPTIONAL = ("phone", "email", "address")
GENDERS = {"nam": "male", "male": "male", "nữ": "female", "nu": "female", "female": "female"}
MAX_ROWS = 100_000


class BadFile(ValueError):
    """The file as a whole cannot be read (encoding, header): nothing is imported."""


@dataclass(frozen=True)
class Created:
    line: int
    citizen_id: str
    full_name: str
    code: str  # the activation code, as printed; never stored in clear
    expires_at: int


@dataclass
class Report:
    created: list[Created] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, CCCD) already registered
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, what is wrong)


def read_rows(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; BadFile if the file is not a readable citizens CSV."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadFile(f"not UTF-8 text (byte {exc.start + 1}); save the file as 'CSV UTF-8'") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    if not header:
        raise BadFile("the file is empty; the first line must name the columns")
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
    if missing or unknown:
        problems = [f"missing column(s): {', '.join(missing)}"] if missing else []
        problems += [f"unknown column(s): {', '.join(unknown)}"] if unknown else []
        raise BadFile(
            "line 1: " + "; ".join(problems) + f" (expected {', '.join(REQUIRED + OPTIONAL)})"
        )
    reader.fieldnames = header
    rows = []
    for row in reader:
        if len(rows) >= MAX_ROWS:
            raise BadFile(f"more than {MAX_ROWS} rows; split the file")
        rows.append((reader.line_num, row))
    return rows


def _date(raw: str) -> dt.date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(raw, pattern).date()
        except ValueError:
            continue
    raise citizens.InvalidCitizen("birth_date", f"{raw!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def _new_citizen(row: dict[str, str]) -> citizens.NewCitizen:
    if None in row:  # csv puts the cells beyond the header under the key None
        raise citizens.InvalidCitizen("row", "more cells than the header has columns")
    value = {k: unicodedata.normalize("NFC", (v or "").strip()) for k, v in row.items()}
    for name in REQUIRED:
        if not value.get(name):
            raise citizens.InvalidCitizen(name, "empty")
    gender = GENDERS.get(value["gender"].lower())
    if gender is None:
        raise citizens.InvalidCitizen("gender", f"{value['gender']!r}: expected nam or nữ (male or female)")
    return citizens.NewCitizen(
        citizen_id=value["cccd"],
        full_name=value["full_name"],
        birth_date=_date(value["birth_date"]),
        gender=gender,
        password="",
        phone=value.get("phone") or None,
        email=value.get("email") or None,
        address=value.get("address") or None,
        status="pending",
    )


def import_citizens(
    rows: list[tuple[int, dict[str, str]]], passwords: Passwords, code_ttl: int
) -> Report:
    """Create the pending accounts of the good rows, each with an activation code (the caller
    commits, or rolls back for a dry run)."""
    report = Report()
    first_line: dict[str, int] = {}
    for line, row in rows:
        number = (row.get("cccd") or "").strip()
        if number in first_line:
            report.errors.append((line, f"cccd: the same CCCD number as line {first_line[number]}"))
            continue
        if number:
            first_line[number] = line
        try:
            new = _new_citizen(row)
        except citizens.InvalidCitizen as exc:
            report.errors.append((line, str(exc)))
            continue
        if db.session.scalar(select(Citizen.id).where(Citizen.citizen_id == new.citizen_id)):
            report.skipped.append((line, new.citizen_id))
            continue
        try:
            # Every check runs before anything is added: a refused row leaves nothing behind.
            citizen = citizens.create(new, passwords)
        except citizens.InvalidCitizen as exc:
            report.errors.append((line, str(exc)))
            continue
        code, expires_at = activation.issue(citizen, code_ttl)
        audit.record(
            "account_created", citizen_pk=citizen.id, source="import", status="pending", line=line
        )
        report.created.append(Created(line, citizen.citizen_id, citizen.full_name, code, expires_at))
    return report
