"""Self-registration: the form, the phone code, and refusals that never say whose details they are."""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest
from sqlalchemy import func, select

from idp.extensions import db
from idp.identity import cccd
from idp.models import AuditEvent, BrowserSession, Citizen
from tests.support import FlaskBrowser, authorize_params, follow, hidden_fields, query_of, without_private

PASSWORD = "con trau di cay tren ruong bac thang"
PORTAL = "https://portal.example"


def person(**fields) -> dict:
    """A synthetic applicant: a valid-shaped CCCD for the birth date and gender, a +84 phone."""
    rng = random.Random()
    birth = dt.date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28))
    gender = rng.choice(["male", "female"])
    values = {
        "full_name": "Nguyễn Thị Lan" if gender == "female" else "Hoàng Văn Minh",
        "citizen_id": cccd.synthetic(birth, gender, rng),
        "birth_date": birth.isoformat(),
        "gender": gender,
        "phone": f"09{rng.choice('1478')}{rng.randrange(10**7):07d}",
        "email": f"dan{rng.randrange(10**9)}@example.com",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    values.update(fields)
    return values


def e164(phone: str) -> str:
    return "+84" + phone[1:]


def register(client, applicant: dict, interaction: str | None = None):
    page = client.get("/register", query_string={"interaction": interaction} if interaction else None)
    assert page.status_code == 200
    return client.post("/register", data={**hidden_fields(page.get_data(as_text=True)), **applicant})


def enter_code(client, code: str, path: str = "/register/verify"):
    page = client.get(path)
    return client.post(path, data={**hidden_fields(page.get_data(as_text=True)), "code": code})


def citizens_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Citizen))


def audit_rows(app, event_type: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


# --- the happy path -------------------------------------------------------------------------------
def test_a_citizen_registers_proves_the_phone_and_is_logged_in(app, client, outbox):
    applicant = person(email="")

    answer = register(client, applicant)
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/register/verify")
    masked = applicant["phone"][:3] + "••••" + applicant["phone"][-3:]
    assert masked in text_of(client.get("/register/verify"))
    code = outbox.last_code(e164(applicant["phone"]))

    verified = enter_code(client, code)

    assert verified.status_code == 303 and verified.headers["Location"] == "/"
    assert "tnid_session=" in verified.headers["Set-Cookie"]
    with app.app_context():
        row = db.session.scalar(select(Citizen).where(Citizen.citizen_id == applicant["citizen_id"]))
        assert row.phone_verified and row.status == "active" and row.password_hash.startswith("$argon2id$")
        assert db.session.scalar(select(func.count()).select_from(BrowserSession)) == 1
    assert [e.citizen_pk for e in audit_rows(app, "citizen_registered")] == [row.id]
    assert [e.details["channel"] for e in audit_rows(app, "contact_verified")] == ["sms"]


def test_an_email_given_at_registration_is_verified_right_after_the_phone(app, client, outbox):
    applicant = person()
    register(client, applicant)
    after_phone = enter_code(client, outbox.last_code(e164(applicant["phone"])))
    assert after_phone.headers["Location"].startswith("/verify/email")
    email_page = client.get(after_phone.headers["Location"])
    assert "d•••@example.com" in text_of(email_page)

    done = enter_code(client, outbox.last_code(applicant["email"]), "/verify/email")

    assert done.status_code == 303
    with app.app_context():
        row = db.session.scalar(select(Citizen).where(Citizen.email == applicant["email"]))
        assert row.email_verified and row.phone_verified


def test_a_citizen_who_registers_during_a_portal_login_goes_back_to_that_portal(client, make_portal, outbox):
    portal = make_portal()
    browser = FlaskBrowser(client)
    start = browser.get("/authorize", **without_private(authorize_params(portal)))
    login_page = follow(browser, start, PORTAL)
    link = re.search(r'href="(/register\?interaction=[^"]+)"', login_page.text)
    assert link, "the login page links to registration, keeping the pending login"
    interaction = query_of(link.group(1))["interaction"]
    applicant = person(email="")

    answer = register(client, applicant, interaction)
    page = client.get(answer.headers["Location"])
    verified = client.post("/register/verify", data={**hidden_fields(page.get_data(as_text=True)),
                                                      "code": outbox.last_code(e164(applicant["phone"]))})

    assert verified.headers["Location"] == f"/authorize/resume?interaction={interaction}"
    consent = follow(browser, browser.get(verified.headers["Location"]), PORTAL)
    assert 'name="decision"' in consent.text  # the portal's own consent page, then back to the portal


# --- what is refused, and how ---------------------------------------------------------------------
def test_a_cccd_that_does_not_match_the_birth_date_and_gender_is_refused_and_the_form_kept(app, client):
    applicant = person(birth_date="1990-05-02", gender="female")
    applicant["citizen_id"] = cccd.synthetic(dt.date(1990, 5, 2), "male")  # 4th digit says male

    answer = register(client, applicant)

    assert answer.status_code == 400
    page = text_of(answer)
    assert "Số CCCD không khớp với ngày sinh hoặc giới tính" in page
    assert applicant["citizen_id"] in page and applicant["full_name"] in page
    assert PASSWORD not in page
    assert citizens_count(app) == 0


def test_every_bad_field_is_reported_at_once(client):
    answer = register(client, person(citizen_id="12345", phone="123", email="not-an-email", full_name="",
                                      birth_date="31/02/1990", gender=""))

    assert answer.status_code == 400
    for field in ("citizen_id", "phone", "email", "full_name", "birth_date", "gender"):
        assert f'id="{field}-error"' in answer.get_data(as_text=True), field


@pytest.mark.parametrize(
    "password, words",
    [
        ("ngan", "ít nhất 10 ký tự"),
        ("matkhau123456", "quá phổ biến"),
        ("Password1234", "quá phổ biến"),
    ],
)
def test_a_short_or_common_password_is_refused(app, client, password, words):
    answer = register(client, person(password=password, password_confirm=password))

    assert answer.status_code == 400 and words in text_of(answer)
    assert citizens_count(app) == 0


def test_the_citizens_own_phone_as_password_is_refused(client):
    applicant = person()
    answer = register(client, {**applicant, "password": applicant["phone"] + "!",
                               "password_confirm": applicant["phone"] + "!"})
    assert answer.status_code == 400 and "không được là số CCCD, số điện thoại" in text_of(answer)


def test_two_different_passwords_are_refused(client):
    answer = register(client, person(password_confirm=PASSWORD + "x"))
    assert answer.status_code == 400 and "không giống nhau" in text_of(answer)


@pytest.mark.parametrize("clash", ["citizen_id", "phone", "email"])
def test_details_already_in_use_are_refused_without_saying_whose(app, client, make_citizen, outbox, clash):
    owner = make_citizen(phone_verified=True)
    newcomer = person(email="")
    if clash == "citizen_id":
        newcomer.update(citizen_id=owner["citizen_id"])
        birth_gender = _birth_and_gender(app, owner["pk"])
        newcomer.update(birth_gender)
    elif clash == "phone":
        newcomer["phone"] = "0" + owner["phone"][3:]
    else:
        newcomer["email"] = owner["email"]
    fresh = person(email="")

    refused, accepted = register(client, newcomer), register(app.test_client(), fresh)

    # The same answer as a registration that worked: no word of whose the details are.
    assert refused.status_code == accepted.status_code == 303
    assert refused.headers["Location"] == accepted.headers["Location"]
    assert citizens_count(app) == 2  # the owner and the fresh applicant; nothing for the clash
    page = text_of(client.get("/register/verify"))
    assert owner["full_name"] not in page and "đã được dùng" not in page
    # The phone typed gets a notice instead of a code; the owner is told too.
    typed_phone = e164(newcomer["phone"])
    notice = outbox.wait_for(typed_phone)[-1]
    assert "da duoc dung" in notice and not re.search(r"\b\d{6}\b", notice)
    if clash != "phone":
        assert any("da duoc dung" in m for m in outbox.wait_for(owner["phone"]))
    [event] = audit_rows(app, "registration_refused")
    assert event.citizen_pk is None and owner["citizen_id"] not in str(event.details)


def _birth_and_gender(app, pk: int) -> dict:
    with app.app_context():
        row = db.session.get(Citizen, pk)
        return {"birth_date": row.birth_date.isoformat(), "gender": row.gender}


def test_a_refused_registration_answers_codes_as_a_real_one_would(app, client, make_citizen, outbox):
    owner = make_citizen()
    newcomer = person(email="", phone="0" + owner["phone"][3:])
    real = app.test_client()
    register(client, newcomer)
    register(real, person(email=""))

    refused_answers = [enter_code(client, "000000") for _ in range(5)]
    real_answers = [enter_code(real, "000000") for _ in range(5)]

    for refused, real_one in zip(refused_answers, real_answers, strict=True):
        assert refused.status_code == real_one.status_code == 400
    assert "còn 4 lần thử" in text_of(refused_answers[0]) and "còn 4 lần thử" in text_of(real_answers[0])
    for last in (refused_answers[-1], real_answers[-1]):
        assert "sai quá nhiều lần" in text_of(last)


def test_an_unverified_account_may_log_in_and_portals_are_told_the_phone_is_unverified(
    app, client, make_portal, outbox
):
    from tests.http.test_tokens import bearer, sign_in

    applicant = person(email="")
    register(app.test_client(), applicant)  # the code is never typed
    portal = make_portal()
    citizen = {"citizen_id": applicant["citizen_id"], "password": PASSWORD}

    tokens = sign_in(client, citizen, portal, scope="openid phone")

    claims = client.get("/userinfo", headers=bearer(tokens["access_token"])).get_json()
    assert claims["phone_number"] == e164(applicant["phone"]) and claims["phone_number_verified"] is False


def test_no_password_or_code_is_in_the_audit_trail(app, client, outbox):
    applicant = person(email="")
    register(client, applicant)
    code = outbox.last_code(e164(applicant["phone"]))
    enter_code(client, "000000" if code != "000000" else "111111")
    enter_code(client, code)

    with app.app_context():
        trail = " ".join(str(e.details) for e in db.session.scalars(select(AuditEvent)))
    assert PASSWORD not in trail and code not in trail
