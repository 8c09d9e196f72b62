"""Operator commands at the one-stop office: reset a lost phone's second factors, record the
in-person identity check (level of assurance 3), and the whole assisted-registration story."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pyotp
from sqlalchemy import func, select

from idp.extensions import db
from idp.identity import assurance, cccd, citizens, recovery_codes, totp
from idp.models import AuditEvent, Citizen, RecoveryCode, TotpCredential, WebAuthnCredential
from tests.support import hidden_fields


def with_every_second_factor(app, citizen: dict) -> None:
    """The citizen has an authenticator app, recovery codes and a passkey."""
    with app.app_context():
        row = db.session.get(Citizen, citizen["pk"])
        enrolment = totp.begin(row)
        assert totp.confirm(row.id, pyotp.TOTP(totp.secret_of(enrolment)).now())
        recovery_codes.generate(row.id)
        db.session.add(WebAuthnCredential(citizen_pk=row.id, credential_id="c3ludGhldGlj", public_key=b"\x01",
                                          name="Điện thoại của tôi"))
        db.session.commit()
        db.session.remove()


def counts(app, citizen_pk: int) -> list[int]:
    with app.app_context():
        try:
            return [db.session.scalar(select(func.count()).select_from(m).where(m.citizen_pk == citizen_pk))
                    for m in (TotpCredential, RecoveryCode, WebAuthnCredential)]
        finally:
            db.session.remove()


def log_in(browser, identifier: str, password: str):
    fields = hidden_fields(browser.get("/login").get_data(as_text=True))
    return browser.post("/login", data={**fields, "identifier": identifier, "password": password})


def events(app, kind: str) -> list[AuditEvent]:
    with app.app_context():
        try:
            return db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == kind)).all()
        finally:
            db.session.remove()


# --- reset-mfa --------------------------------------------------------------------------------
def test_reset_mfa_removes_every_second_factor_and_ends_the_sessions(idp, app, client, make_citizen):
    citizen = make_citizen()
    assert log_in(client, citizen["citizen_id"], citizen["password"]).status_code == 303
    with_every_second_factor(app, citizen)
    assert counts(app, citizen["pk"]) == [1, 10, 1]

    result = idp("users", "reset-mfa", citizen["phone"], "--by", "Lương Văn Tâm")

    assert result.returncode == 0, result.stderr
    assert counts(app, citizen["pk"]) == [0, 0, 0]
    assert client.get("/account").status_code == 303  # the session is over
    with app.app_context():
        assert not assurance.has_second_factor(citizen["pk"])
        db.session.remove()
    (event,) = events(app, "mfa_reset")
    assert event.citizen_pk == citizen["pk"] and event.actor.startswith("operator")
    assert event.details["by"] == "Lương Văn Tâm" and event.details["passkeys"] == 1


def test_after_a_reset_the_password_alone_opens_a_session_again(idp, app, client, make_citizen):
    citizen = make_citizen()
    with_every_second_factor(app, citizen)
    asked = log_in(client, citizen["citizen_id"], citizen["password"])
    assert asked.status_code == 303 and asked.headers["Location"] != "/"  # the second step first

    idp("users", "reset-mfa", citizen["citizen_id"])

    answer = log_in(app.test_client(), citizen["citizen_id"], citizen["password"])
    assert answer.status_code == 303 and answer.headers["Location"] == "/"


def test_reset_mfa_of_an_unknown_citizen_changes_nothing(idp, app):
    result = idp("users", "reset-mfa", "019090009999")
    assert result.returncode == 2 and "no citizen" in result.stderr
    assert "Traceback" not in result.stderr
    assert events(app, "mfa_reset") == []


# --- verify-identity --------------------------------------------------------------------------
def test_verify_identity_records_who_checked_and_makes_level_3_reachable(idp, app, client, make_citizen):
    citizen = make_citizen()
    with_every_second_factor(app, citizen)

    result = idp("users", "verify-identity", citizen["citizen_id"], "--by", "Nguyễn Thị Hồng",
                 "--document", "CCCD gắn chip")

    assert result.returncode == 0, result.stderr
    with app.app_context():
        row = db.session.get(Citizen, citizen["pk"])
        assert row.identity_verified_by == "Nguyễn Thị Hồng" and row.identity_verified_at is not None
        assert assurance.reachable(row) == 3
        db.session.remove()
    (event,) = events(app, "identity_verified")
    assert event.details == {"by": "Nguyễn Thị Hồng", "document": "CCCD gắn chip"}
    shown = json.loads(idp("users", "show", citizen["citizen_id"]).stdout)
    assert shown["identity_verified_by"] == "Nguyễn Thị Hồng" and shown["second_factors"]["totp"] is True


def test_verify_identity_needs_the_operators_name(idp, app, make_citizen):
    citizen = make_citizen()
    for args in ([], ["--by", " "]):
        result = idp("users", "verify-identity", citizen["citizen_id"], *args)
        assert result.returncode == 2 and "--by" in result.stderr, result.stderr
    assert events(app, "identity_verified") == []


def test_the_profile_page_shows_the_in_person_check(idp, app, client, make_citizen):
    citizen = make_citizen()
    idp("users", "verify-identity", citizen["citizen_id"], "--by", "Nguyễn Thị Hồng")
    log_in(client, citizen["citizen_id"], citizen["password"])
    html = client.get("/account").get_data(as_text=True)
    section = html.split("Kiểm tra giấy tờ trực tiếp")[1].split("</dd>")[0]
    assert "Đã xác minh" in section


# --- the whole assisted-registration story ------------------------------------------------------
def test_an_imported_citizen_activates_with_the_paper_code_and_logs_in(idp, app, client, tmp_path):
    number = cccd.synthetic(dt.date(1949, 9, 2), "male")
    source, sheet = tmp_path / "xa-phuc-xuan.csv", tmp_path / "codes.csv"
    source.write_text("cccd,full_name,birth_date,gender,phone,email\n"
                      f"{number},Lò Văn Páo,02/09/1949,nam,0912000111,\n", encoding="utf-8")
    assert idp("users", "import", str(source), "--codes-out", str(sheet)).returncode == 0
    (printed,) = csv.DictReader(io.StringIO(sheet.read_text(encoding="utf-8")))
    assert log_in(client, number, "mật khẩu đoán bừa").status_code == 401

    form = hidden_fields(client.get("/activate").get_data(as_text=True))
    typed = {"citizen_id": number, "code": printed["activation_code"], "password": "đồi chè Tân Cương xanh"}
    activated = client.post("/activate", data={**form, **typed})

    assert activated.status_code == 303
    assert log_in(client, "0912000111", "đồi chè Tân Cương xanh").status_code == 303
    assert json.loads(idp("users", "show", number).stdout)["status"] == "active"


def test_unlocking_a_never_activated_account_gives_back_pending(idp, app):
    number = cccd.synthetic(dt.date(1980, 1, 1), "female")
    new = citizens.NewCitizen(citizen_id=number, full_name="Hứa Thị Sen", birth_date=dt.date(1980, 1, 1),
                              gender="female", password="", status="pending")
    with app.app_context():
        citizens.create(new, app.extensions["idp"].passwords)
        db.session.commit()
        db.session.remove()
    idp("users", "lock", number)
    result = idp("users", "unlock", number)
    assert result.returncode == 0 and "locked → pending" in result.stdout
