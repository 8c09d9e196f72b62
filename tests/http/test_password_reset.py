"""A forgotten password reset through a verified phone or email, and a change while logged in."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from idp import clock
from idp.extensions import db
from idp.models import AuditEvent, BrowserSession, Citizen, VerificationCode
from tests.http.test_tokens import post_as, sign_in, userinfo_status
from tests.support import hidden_fields

NEW_PASSWORD = "doi gio mua dong tren doi che"


def forgot(client, identifier: str):
    page = client.get("/password/forgot")
    return client.post("/password/forgot",
                       data={**hidden_fields(page.get_data(as_text=True)), "identifier": identifier})


def reset(client, code: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    page = client.get("/password/reset")
    return client.post("/password/reset", data={**hidden_fields(page.get_data(as_text=True)), "code": code,
                                                "password": password,
                                                "password_confirm": password if confirm is None else confirm})


def log_in(client, identifier: str, password: str):
    page = client.get("/login")
    return client.post("/login", data={**hidden_fields(page.get_data(as_text=True)),
                                       "identifier": identifier, "password": password})


def words(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def refresh(client, portal: dict, refresh_token: str):
    return post_as(client, "/token", portal, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def events(app, event_type: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def live_sessions(app, citizen: dict) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(BrowserSession).where(
            BrowserSession.citizen_pk == citizen["pk"], BrowserSession.ended_at.is_(None)))


@pytest.fixture
def verified(make_citizen):
    return make_citizen(phone_verified=True, email_verified=True)


# --- reset --------------------------------------------------------------------------------------
def test_a_reset_ends_every_session_and_refresh_token(app, client, verified, make_portal, outbox):
    portal = make_portal()
    tokens = sign_in(app.test_client(), verified, portal, scope="openid offline_access")
    assert live_sessions(app, verified) == 1

    answer = forgot(client, verified["citizen_id"])
    assert answer.status_code == 303 and answer.headers["Location"] == "/password/reset"
    done = reset(client, outbox.last_code(verified["phone"]))

    assert done.status_code == 303 and done.headers["Location"].startswith("/login")
    assert live_sessions(app, verified) == 0
    refused = refresh(app.test_client(), portal, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    assert log_in(app.test_client(), verified["citizen_id"], verified["password"]).status_code == 401
    assert log_in(app.test_client(), verified["citizen_id"], NEW_PASSWORD).status_code == 303
    [event] = events(app, "password_reset")
    assert event.citizen_pk == verified["pk"] and event.details["tokens_revoked"] >= 1


def test_the_login_page_then_says_the_password_was_changed(client, verified, outbox):
    forgot(client, verified["email"])
    done = reset(client, outbox.last_code(verified["email"]))

    assert "Đã đổi mật khẩu" in words(client.get(done.headers["Location"]))


def test_a_code_asked_by_email_goes_to_the_email(client, verified, outbox):
    forgot(client, verified["email"])

    assert outbox.last_code(verified["email"]) and outbox.messages(verified["phone"]) == []


def test_the_request_answers_the_same_whether_or_not_an_account_exists(app, verified, make_citizen, outbox):
    unverified = make_citizen()
    answers = {}
    for name, identifier in [("verified", verified["citizen_id"]), ("unknown", "019090001234"),
                             ("no verified contact", unverified["citizen_id"]), ("nonsense", "abc")]:
        web = app.test_client()
        answer = forgot(web, identifier)
        page = web.get(answer.headers["Location"])
        answers[name] = (answer.status_code, answer.headers["Location"], page.status_code,
                         re.sub(r'value="[^"]*"', "", words(page)))

    assert len(set(answers.values())) == 1, answers
    assert outbox.wait_for(verified["phone"])
    assert outbox.messages(unverified["phone"]) == [] and outbox.messages(unverified["email"]) == []


def test_a_code_for_nobody_is_refused_like_a_wrong_one(app, verified, outbox):
    real, nobody = app.test_client(), app.test_client()
    forgot(real, verified["citizen_id"])
    forgot(nobody, "019090001234")

    answers = [reset(web, "000000") for web in (real, nobody)]

    assert [a.status_code for a in answers] == [400, 400]
    assert all("Mã chưa đúng. Bạn còn 4 lần thử." in words(a) for a in answers)


def test_a_weak_new_password_is_refused_before_the_code_is_spent(client, verified, outbox):
    forgot(client, verified["citizen_id"])
    code = outbox.last_code(verified["phone"])

    weak = reset(client, code, password="matkhau123456")
    mismatched = reset(client, code, confirm=NEW_PASSWORD + "!")
    own_phone = reset(client, code, password="0" + verified["phone"][3:] + "ab")

    assert weak.status_code == 400 and "quá phổ biến" in words(weak)
    assert mismatched.status_code == 400 and "không giống nhau" in words(mismatched)
    assert own_phone.status_code == 400 and "không được là số CCCD, số điện thoại" in words(own_phone)
    assert reset(client, code).status_code == 303  # the code still works


def test_a_reset_code_works_once(app, client, verified, outbox):
    forgot(client, verified["citizen_id"])
    code = outbox.last_code(verified["phone"])
    assert reset(client, code).status_code == 303

    again = app.test_client()
    forgot(again, verified["citizen_id"])
    replay = reset(again, code, password="mot mat khau khac han nua")

    assert replay.status_code == 400


def test_a_reset_code_expires(client, verified, outbox):
    clock.freeze()
    forgot(client, verified["citizen_id"])
    code = outbox.last_code(verified["phone"])
    clock.advance(10 * 60)

    answer = reset(client, code)

    assert answer.status_code == 400 and "Mã đã hết hạn" in words(answer)


def test_a_second_request_at_once_sends_nothing_and_looks_the_same(app, verified, outbox):
    first, second = app.test_client(), app.test_client()
    forgot(first, verified["citizen_id"])
    outbox.wait_for(verified["phone"])

    answer = forgot(second, verified["citizen_id"])

    assert answer.status_code == 303
    assert len(outbox.wait_for(verified["phone"], count=2, timeout=0.5)) == 1
    refusals = [e for e in events(app, "password_reset_requested") if e.outcome == "failure"]
    assert [e.details["reason"] for e in refusals] == ["too_soon"]


def test_the_owner_is_told_on_every_verified_contact(client, verified, outbox):
    forgot(client, verified["citizen_id"])
    reset(client, outbox.last_code(verified["phone"]))

    assert "vua duoc doi" in outbox.wait_for(verified["phone"], count=2)[-1]
    assert "vừa được đổi" in outbox.wait_for(verified["email"])[-1]


def test_no_code_or_password_is_in_the_audit_trail_or_the_database(app, client, verified, outbox):
    forgot(client, verified["citizen_id"])
    code = outbox.last_code(verified["phone"])
    reset(client, "000000" if code != "000000" else "111111")
    reset(client, code)

    with app.app_context():
        trail = " ".join(str(e.details) for e in db.session.scalars(select(AuditEvent)))
        hashes = [row.code_hash for row in db.session.scalars(select(VerificationCode))]
        stored_hash = db.session.get(Citizen, verified["pk"]).password_hash
    assert code not in trail and NEW_PASSWORD not in trail and code not in hashes
    assert stored_hash.startswith("$argon2id$") and NEW_PASSWORD not in stored_hash
    for event_type in ("password_reset_requested", "password_reset_failed", "password_reset"):
        assert events(app, event_type), event_type


# --- change while logged in -----------------------------------------------------------------------
def change(client, current: str, new: str = NEW_PASSWORD, confirm: str | None = None):
    page = client.get("/account/password")
    return client.post("/account/password", data={**hidden_fields(page.get_data(as_text=True)),
                                                  "current_password": current, "password": new,
                                                  "password_confirm": new if confirm is None else confirm})


def test_changing_the_password_needs_the_current_one(app, client, verified):
    log_in(client, verified["citizen_id"], verified["password"])

    wrong = change(client, "not my password at all")

    assert wrong.status_code == 400 and "Mật khẩu hiện tại chưa đúng" in words(wrong)
    assert log_in(app.test_client(), verified["citizen_id"], verified["password"]).status_code == 303
    [event] = events(app, "password_change_failed")
    assert event.details == {"reason": "wrong_password"}


def test_a_change_keeps_this_browser_and_signs_out_the_others(app, client, verified, make_portal, outbox):
    other = app.test_client()
    other_tokens = sign_in(other, verified, make_portal())  # the other browser, and a portal through it
    log_in(client, verified["citizen_id"], verified["password"])

    done = change(client, verified["password"])

    assert done.status_code == 200 and "Đã đổi mật khẩu" in words(done)
    assert live_sessions(app, verified) == 1
    assert client.get("/account/password").status_code == 200
    assert other.get("/account/password").headers["Location"].startswith("/login")
    assert userinfo_status(app.test_client(), other_tokens["access_token"]) == 401
    assert log_in(app.test_client(), verified["citizen_id"], NEW_PASSWORD).status_code == 303
    assert "vua duoc doi" in outbox.wait_for(verified["phone"])[-1]
    [event] = events(app, "password_changed")
    assert event.details == {"other_sessions_ended": 1}


@pytest.mark.parametrize(
    "new, words_expected",
    [("qwertyuiop123", "quá phổ biến"), ("ngan", "ít nhất 10 ký tự"), (None, "phải khác mật khẩu hiện tại")],
)
def test_a_weak_or_unchanged_new_password_is_refused(client, verified, new, words_expected):
    log_in(client, verified["citizen_id"], verified["password"])

    answer = change(client, verified["password"], new or verified["password"])

    assert answer.status_code == 400 and words_expected in words(answer)


def test_changing_the_password_needs_a_logged_in_citizen(client):
    assert client.get("/account/password").headers["Location"].startswith("/login")
