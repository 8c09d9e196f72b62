"""/activate: a citizen whose account a community team created types the paper code and a password."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest
from sqlalchemy import select

from idp import clock, create_app
from idp.extensions import db
from idp.identity import cccd, importing
from idp.models import AuditEvent, Citizen
from tests.support import hidden_fields

NEW_PASSWORD = "hoa sen nở trên hồ Núi Cốc"


@pytest.fixture
def pending(app):
    """pending(**cells) → (CCCD number, activation code as printed) of a freshly imported citizen."""
    rng = random.Random()

    def make(**cells) -> tuple[str, str]:
        birth = dt.date(1958, 3, 8)
        row = {"cccd": cccd.synthetic(birth, "female", rng), "full_name": "Triệu Thị Mai",
               "birth_date": "08/03/1958", "gender": "nữ", "phone": f"091{rng.randrange(10**7):07d}", **cells}
        with app.app_context():
            settings = app.extensions["idp"].settings
            report = importing.import_citizens([(2, row)], app.extensions["idp"].passwords,
                                               settings.activation_code_ttl)
            db.session.commit()
            db.session.remove()
        assert not report.errors, report.errors
        return row["cccd"], report.created[0].code

    return make


def activate(client, number: str, code: str, password: str = NEW_PASSWORD, **extra):
    fields = hidden_fields(client.get("/activate").get_data(as_text=True))
    return client.post("/activate", data={**fields, "citizen_id": number, "code": code,
                                          "password": password, **extra})


def log_in(client, identifier: str, password: str):
    fields = hidden_fields(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={**fields, "identifier": identifier, "password": password})


def status_of(app, number: str) -> str:
    with app.app_context():
        try:
            return db.session.scalar(select(Citizen.status).where(Citizen.citizen_id == number))
        finally:
            db.session.remove()


def test_a_pending_account_cannot_log_in_and_the_login_page_says_to_activate(client, app, pending):
    number, _ = pending()
    page = log_in(client, number, NEW_PASSWORD)
    assert page.status_code == 401
    text = page.get_data(as_text=True)
    assert "Kích hoạt trước tại đây" in text and 'href="/activate"' in text
    with app.app_context():
        failed = select(AuditEvent.details).where(AuditEvent.event_type == "login_failed")
        reasons = db.session.scalars(failed)
        assert [d["reason"] for d in reasons] == ["account_pending"]
        db.session.remove()


def test_the_paper_code_and_a_new_password_activate_the_account(client, app, pending):
    number, code = pending()

    answer = activate(client, number, code.replace("-", " "))  # typed with spaces: same digits

    assert answer.status_code == 303 and "/login?activated=1" in answer.headers["Location"]
    assert "Tài khoản đã được kích hoạt" in client.get(answer.headers["Location"]).get_data(as_text=True)
    assert status_of(app, number) == "active"
    assert log_in(client, number, NEW_PASSWORD).status_code == 303


def test_a_code_works_once(client, pending):
    number, code = pending()
    assert activate(client, number, code).status_code == 303
    again = activate(client, number, code, password="một mật khẩu khác hẳn")
    assert again.status_code == 400
    assert "không đúng" in again.get_data(as_text=True)


def test_a_wrong_code_and_an_unknown_cccd_get_the_same_answer(client, pending):
    number, code = pending()
    wrong_code = activate(client, number, "1234-5678-9012")
    unknown = activate(client, cccd.synthetic(dt.date(1970, 1, 1), "male"), code)
    assert wrong_code.status_code == unknown.status_code == 400

    def error(response) -> str:
        return response.get_data(as_text=True).split('id="activate-error">')[1].split("<")[0]

    assert error(wrong_code) == error(unknown)


def test_after_too_many_wrong_codes_even_the_right_one_stops_working(client, app, pending):
    number, code = pending()
    for _ in range(app.extensions["idp"].settings.activation_max_attempts):
        assert activate(client, number, "0000-0000-0000").status_code == 400
    answer = activate(client, number, code)
    assert answer.status_code == 400
    assert "nhờ tổ công nghệ số cộng đồng cấp mã mới" in answer.get_data(as_text=True)
    assert status_of(app, number) == "pending"


def test_an_expired_code_does_not_activate(client, app, pending):
    number, code = pending()
    clock.advance(app.extensions["idp"].settings.activation_code_ttl + 1)
    answer = activate(client, number, code)
    assert answer.status_code == 400 and "không còn dùng được" in answer.get_data(as_text=True)
    assert status_of(app, number) == "pending"


@pytest.mark.parametrize(
    "password, words",
    [("ngắn quá", "ít nhất 10 ký tự"), ("password123", "quá phổ biến"), ("triệu thị mai", "tên của bạn")],
)
def test_a_weak_password_is_refused_and_the_code_still_works(client, app, pending, password, words):
    number, code = pending()
    refused = activate(client, number, code, password=password)
    assert refused.status_code == 400 and words in refused.get_data(as_text=True)
    assert status_of(app, number) == "pending"
    assert activate(client, number, code).status_code == 303


def test_activation_needs_the_csrf_token(client, app, pending):
    number, code = pending()
    answer = client.post("/activate", data={"citizen_id": number, "code": code, "password": NEW_PASSWORD})
    assert answer.status_code == 400
    assert status_of(app, number) == "pending"


def test_the_audit_trail_has_the_activation_and_never_the_code(client, app, pending):
    number, code = pending()
    activate(client, number, "1111-2222-3333")
    activate(client, number, code)
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        db.session.remove()
    kinds = [e.event_type for e in events]
    assert "activation_failed" in kinds and "account_activated" in kinds
    dumped = " ".join(str(e.details) for e in events)
    assert code.replace("-", "") not in dumped and NEW_PASSWORD not in dumped and "111122223333" not in dumped


def test_the_activation_form_is_limited_per_client_ip(app, settings, pending):
    limited = create_app(dataclasses.replace(settings, ratelimit_activate="2/minute"))
    limited.config["TESTING"] = True
    web = limited.test_client()
    number, code = pending()
    for _ in range(2):
        assert activate(web, number, "0000-0000-0000").status_code == 400

    blocked = activate(web, number, code)

    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert status_of(app, number) == "pending"
