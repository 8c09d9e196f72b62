"""`idp users import`: a community digital-technology team registers citizens from a CSV file."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import stat
import unicodedata

from sqlalchemy import func, select

from idp.extensions import db
from idp.identity import cccd
from idp.models import AuditEvent, Citizen, VerificationCode

HEADER = "cccd,full_name,birth_date,gender,phone,email"
CODE = re.compile(r"^\d{4}-\d{4}-\d{4}$")


def person(rng: random.Random, name: str = "Hoàng Thị Lan", gender: str = "nữ", **cells) -> dict:
    birth = dt.date(rng.randint(1940, 2000), rng.randint(1, 12), rng.randint(1, 28))
    row = {
        "cccd": cccd.synthetic(birth, "female" if gender == "nữ" else "male", rng),
        "full_name": name,
        "birth_date": birth.strftime("%d/%m/%Y"),
        "gender": gender,
        "phone": f"091{rng.randrange(10**7):07d}",
        "email": "",
    }
    row.update(cells)
    return row


def csv_text(rows: list[dict]) -> str:
    lines = [HEADER] + [",".join(r[c] for c in HEADER.split(",")) for r in rows]
    return "\n".join(lines) + "\n"


def count(app, model, *where) -> int:
    with app.app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(model).where(*where))
        finally:
            db.session.remove()


def codes_in(text: str) -> dict[str, str]:
    return {row["cccd"]: row["activation_code"] for row in csv.DictReader(io.StringIO(text))}


def test_import_creates_pending_accounts_with_a_code_each(idp, app, tmp_path):
    rng = random.Random(1)
    rows = [person(rng), person(rng, "Đặng Văn Hùng", "nam"), person(rng, "Ma Thị Thu", "nữ")]
    source = tmp_path / "citizens.csv"
    source.write_text(csv_text(rows), encoding="utf-8")

    result = idp("users", "import", str(source))

    assert result.returncode == 0, result.stderr
    codes = codes_in(result.stdout)
    assert set(codes) == {r["cccd"] for r in rows}
    assert all(CODE.match(code) for code in codes.values()), codes
    assert "3 created, 0 skipped, 0 refused" in result.stderr
    with app.app_context():
        stored = db.session.scalars(select(Citizen).order_by(Citizen.id)).all()
        assert [(c.full_name, c.status) for c in stored] == [
            ("Hoàng Thị Lan", "pending"), ("Đặng Văn Hùng", "pending"), ("Ma Thị Thu", "pending")]
        hashes = db.session.scalars(select(VerificationCode.code_hash)).all()
        db.session.remove()
    assert len(hashes) == 3 and not any(code.replace("-", "") in h for code in codes.values() for h in hashes)


def test_bad_rows_are_reported_by_line_and_nothing_of_them_is_written(idp, app, tmp_path):
    rng = random.Random(2)
    good = person(rng)
    wrong_gender_digit = person(rng, gender="nam")
    wrong_gender_digit["gender"] = "nữ"  # the 4th digit of the CCCD says male
    rows = [
        good,
        person(rng, birth_date="31/02/1990"),
        wrong_gender_digit,
        person(rng, phone="12345"),
        person(rng, full_name=""),
        dict(good, full_name="Hoàng Thị Lan B"),  # the same CCCD twice in one file
    ]
    source = tmp_path / "citizens.csv"
    source.write_text(csv_text(rows), encoding="utf-8")

    result = idp("users", "import", str(source))

    assert result.returncode == 1
    errors = dict(re.findall(r"^line (\d+): (.*)$", result.stderr, re.M))
    assert sorted(errors) == ["3", "4", "5", "6", "7"], result.stderr
    assert "birth_date" in errors["3"] and "citizen_id" in errors["4"] and "phone" in errors["5"]
    assert "full_name" in errors["6"] and "line 2" in errors["7"]
    assert "Traceback" not in result.stderr
    assert count(app, Citizen) == 1 and count(app, VerificationCode) == 1
    assert set(codes_in(result.stdout)) == {good["cccd"]}


def test_importing_the_same_file_twice_creates_nothing_the_second_time(idp, app, tmp_path):
    rng = random.Random(3)
    source = tmp_path / "citizens.csv"
    source.write_text(csv_text([person(rng), person(rng, "Nông Văn Dũng", "nam")]), encoding="utf-8")
    first = idp("users", "import", str(source))
    assert first.returncode == 0, first.stderr

    sheet = tmp_path / "codes-again.csv"
    second = idp("users", "import", str(source), "--codes-out", str(sheet))

    assert second.returncode == 0, second.stderr
    assert second.stdout == "" and not sheet.exists()
    assert len(re.findall(r"^line \d+: skipped", second.stderr, re.M)) == 2
    assert "0 created, 2 skipped, 0 refused" in second.stderr
    assert count(app, Citizen) == 2 and count(app, VerificationCode) == 2


def test_codes_go_to_a_file_only_its_owner_can_read(idp, app, tmp_path):
    rng = random.Random(4)
    source, codes = tmp_path / "citizens.csv", tmp_path / "codes.csv"
    source.write_text(csv_text([person(rng)]), encoding="utf-8")

    result = idp("users", "import", str(source), "--codes-out", str(codes))

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert stat.S_IMODE(codes.stat().st_mode) == 0o600
    assert len(codes_in(codes.read_text(encoding="utf-8"))) == 1


def test_an_existing_codes_file_is_never_overwritten(idp, app, tmp_path):
    rng = random.Random(5)
    source, codes = tmp_path / "citizens.csv", tmp_path / "codes.csv"
    source.write_text(csv_text([person(rng)]), encoding="utf-8")
    codes.write_text("earlier sheet\n")

    result = idp("users", "import", str(source), "--codes-out", str(codes))

    assert result.returncode == 2 and "already exists" in result.stderr
    assert codes.read_text() == "earlier sheet\n"
    assert count(app, Citizen) == 0


def test_a_file_that_is_not_utf8_or_lacks_a_column_imports_nothing(idp, app, tmp_path):
    rng = random.Random(6)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(csv_text([person(rng)]).encode("cp1258", errors="replace"))
    no_gender = tmp_path / "no_gender.csv"
    no_gender.write_text("cccd,full_name,birth_date\n001190000001,An,1990-01-01\n", encoding="utf-8")

    for source, expected in ((latin, "UTF-8"), (no_gender, "missing column(s): gender")):
        result = idp("users", "import", str(source))
        assert result.returncode == 2, result.stderr
        assert expected in result.stderr and "Traceback" not in result.stderr
    assert count(app, Citizen) == 0


def test_excel_utf8_with_bom_and_iso_dates_are_accepted(idp, app, tmp_path):
    rng = random.Random(7)
    row = person(rng, unicodedata.normalize("NFD", "Lý Thị Hoa"))  # as macOS spells it
    row["birth_date"] = dt.datetime.strptime(row["birth_date"], "%d/%m/%Y").date().isoformat()
    source = tmp_path / "excel.csv"
    source.write_bytes(b"\xef\xbb\xbf" + csv_text([row]).replace("\n", "\r\n").encode("utf-8"))

    result = idp("users", "import", str(source))

    assert result.returncode == 0, result.stderr
    assert count(app, Citizen, Citizen.full_name == "Lý Thị Hoa") == 1


def test_a_dry_run_checks_every_row_and_writes_nothing(idp, app, tmp_path):
    rng = random.Random(8)
    source = tmp_path / "citizens.csv"
    source.write_text(csv_text([person(rng), person(rng, phone="12")]), encoding="utf-8")

    result = idp("users", "import", str(source), "--dry-run")

    assert result.returncode == 1
    assert "line 3: phone" in result.stderr and "nothing written" in result.stderr
    assert count(app, Citizen) == 0


def test_the_import_is_on_the_audit_trail_without_any_code(idp, app, tmp_path):
    rng = random.Random(9)
    source = tmp_path / "citizens.csv"
    source.write_text(csv_text([person(rng)]), encoding="utf-8")
    result = idp("users", "import", str(source))
    code = next(iter(codes_in(result.stdout).values()))

    with app.app_context():
        events = db.session.scalars(select(AuditEvent)).all()
        db.session.remove()
    kinds = [e.event_type for e in events]
    assert "account_created" in kinds and "citizens_imported" in kinds
    assert all(code not in str(e.details) and code.replace("-", "") not in str(e.details) for e in events)


def test_a_new_activation_code_replaces_the_printed_one(idp, app, tmp_path):
    rng = random.Random(10)
    row = person(rng)
    source = tmp_path / "citizens.csv"
    source.write_text(csv_text([row]), encoding="utf-8")
    idp("users", "import", str(source))

    result = idp("users", "activation-code", row["cccd"])

    assert result.returncode == 0, result.stderr
    assert CODE.match(codes_in(result.stdout)[row["cccd"]])
    assert count(app, VerificationCode, VerificationCode.consumed_at.is_(None)) == 1
