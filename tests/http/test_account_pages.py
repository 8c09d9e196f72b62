""""Tài khoản của tôi": a citizen sees and controls their devices, the portals they share with, and
what each portal received."""

from __future__ import annotations

import re

from sqlalchemy import select

from idp import clock
from idp.extensions import db
from idp.identity import history
from idp.models import AuditEvent
from tests.http.test_tokens import bearer, sign_in
from tests.support import hidden_fields

ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.0.0 Mobile Safari/537.36")
IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
WINDOWS_COCCOC = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "coc_coc_browser/125.0.0 Chrome/119.0.0.0 Safari/537.36")


def log_in(app, citizen: dict, user_agent: str, ip: str = "203.162.4.10"):
    """A new browser (its own cookies) logged in to the provider from this device."""
    browser = app.test_client()
    fields = hidden_fields(browser.get("/login").get_data(as_text=True))
    answer = browser.post("/login", data={**fields, "identifier": citizen["citizen_id"],
                                          "password": citizen["password"]},
                          headers={"User-Agent": user_agent}, environ_overrides={"REMOTE_ADDR": ip})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:300]
    return browser


def page(browser, path: str) -> str:
    answer = browser.get(path)
    assert answer.status_code == 200, (path, answer.status_code)
    return answer.get_data(as_text=True)


def post_form(browser, path: str, form_page: str, **fields):
    """POST like the page's own form: its CSRF token, plus ``fields``."""
    token = hidden_fields(form_page)["csrf_token"]
    return browser.post(path, data={"csrf_token": token, **fields})


def sids_on(html: str) -> list[str]:
    return re.findall(r'name="sid" value="([^"]+)"', html)


def is_logged_in(browser) -> bool:
    return browser.get("/account").status_code == 200


# --- access -----------------------------------------------------------------------------------
def test_the_account_pages_need_a_login(client):
    for path in ("/account", "/account/sessions", "/account/portals", "/account/history"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["Location"].endswith("/login"), path


def test_the_profile_shows_who_the_citizen_is_and_what_is_verified(app, make_citizen):
    citizen = make_citizen(full_name="Hà Thị Ngọc", gender="female", phone_verified=True)
    html = page(log_in(app, citizen, ANDROID_CHROME), "/account")
    assert "Hà Thị Ngọc" in html and citizen["citizen_id"] in html
    assert "Đã xác minh" in html and "Chưa xác minh" in html  # phone verified, email not
    assert "bộ phận một cửa" in html  # what needs an operator
    assert 'href="/account/security"' in html and 'href="/account/password"' in html


def test_the_landing_page_leads_to_the_account(app, make_citizen):
    browser = log_in(app, make_citizen(), ANDROID_CHROME)
    assert 'href="/account"' in page(browser, "/")


def test_the_pages_speak_english_when_asked(app, make_citizen):
    browser = log_in(app, make_citizen(), ANDROID_CHROME)
    html = page(browser, "/account/sessions?lang=en")
    assert "Signed-in devices" in html and "Chrome on Android" in html


# --- devices ----------------------------------------------------------------------------------
def test_each_device_is_listed_with_a_name_time_and_place_and_this_one_is_marked(app, make_citizen):
    citizen = make_citizen()
    phone = log_in(app, citizen, ANDROID_CHROME, ip="203.162.4.10")
    log_in(app, citizen, IPHONE_SAFARI, ip="113.160.9.20")

    html = page(phone, "/account/sessions")

    assert "Chrome trên Android" in html and "Safari trên iPhone" in html
    assert "203.162.4.10" in html and "113.160.9.20" in html
    assert re.search(r"Đăng nhập lúc \d\d:\d\d, \d\d/\d\d/\d{4}", html)
    current = html.split('class="card current"')[1].split("</li>")[0]
    assert "Chrome trên Android" in current and "Thiết bị bạn đang dùng" in current


def test_signing_out_another_device_really_ends_its_session(app, make_citizen):
    citizen = make_citizen()
    phone = log_in(app, citizen, ANDROID_CHROME)
    laptop = log_in(app, citizen, WINDOWS_COCCOC)
    html = page(phone, "/account/sessions")
    this_card = html.split('class="card current"')[1].split("</li>")[0]
    laptop_sid = [s for s in sids_on(html) if s not in this_card]

    answer = post_form(phone, "/account/sessions/end", html, sid=laptop_sid[0])

    assert answer.status_code == 303
    after = page(phone, answer.headers["Location"])
    assert "Cốc Cốc trên Windows" not in after and "Đã đăng xuất 1 thiết bị" in after
    assert not is_logged_in(laptop)
    assert is_logged_in(phone)


def test_signing_out_all_other_devices_keeps_this_one(app, make_citizen):
    citizen = make_citizen()
    phone = log_in(app, citizen, ANDROID_CHROME)
    others = [log_in(app, citizen, IPHONE_SAFARI), log_in(app, citizen, WINDOWS_COCCOC)]

    post_form(phone, "/account/sessions/end", page(phone, "/account/sessions"), others="1")

    assert [is_logged_in(b) for b in others] == [False, False]
    assert is_logged_in(phone)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "sessions_ended"))
        assert event.citizen_pk == citizen["pk"] and event.details["count"] == 2
        db.session.remove()


def test_signing_out_this_device_logs_it_out(app, make_citizen):
    phone = log_in(app, make_citizen(), ANDROID_CHROME)
    html = page(phone, "/account/sessions")
    answer = post_form(phone, "/account/sessions/end", html, sid=sids_on(html)[0])
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/")
    assert not is_logged_in(phone)


def test_a_citizen_cannot_end_someone_elses_session(app, make_citizen):
    an, binh = make_citizen(), make_citizen()
    an_browser, binh_browser = log_in(app, an, ANDROID_CHROME), log_in(app, binh, IPHONE_SAFARI)
    binh_sid = sids_on(page(binh_browser, "/account/sessions"))[0]

    post_form(an_browser, "/account/sessions/end", page(an_browser, "/account/sessions"), sid=binh_sid)

    assert is_logged_in(binh_browser)


def test_signing_out_needs_the_csrf_token(app, make_citizen):
    citizen = make_citizen()
    phone, laptop = log_in(app, citizen, ANDROID_CHROME), log_in(app, citizen, WINDOWS_COCCOC)
    answer = phone.post("/account/sessions/end", data={"others": "1"})
    assert answer.status_code == 400
    assert is_logged_in(laptop)


# --- connected portals and access history -------------------------------------------------------
def test_connected_portals_say_in_plain_words_what_each_may_receive(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal(name="Cổng Dịch vụ công Thái Nguyên")
    sign_in(client, citizen, portal, scope="openid profile phone")

    html = page(client, "/account/portals")

    card = html.split("Cổng Dịch vụ công Thái Nguyên")[1]
    assert "Họ tên, ngày sinh, giới tính" in card and "Số điện thoại" in card
    assert "profile" not in card and "phone_number" not in card  # no scope or claim names


def test_withdrawing_consent_makes_the_portals_token_fail_at_userinfo(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal(name="Sổ tay đảng viên")
    issued = sign_in(client, citizen, portal, scope="openid profile offline_access")
    assert client.get("/userinfo", headers=bearer(issued["access_token"])).status_code == 200
    html = page(client, "/account/portals")

    answer = post_form(client, "/account/portals/withdraw", html, client_id=portal["client_id"])

    assert answer.status_code == 303
    assert client.get("/userinfo", headers=bearer(issued["access_token"])).status_code == 401
    after = page(client, "/account/portals")
    assert "Đã ngừng chia sẻ với Sổ tay đảng viên" in after
    assert f'value="{portal["client_id"]}"' not in after


def test_withdrawing_needs_the_csrf_token(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    issued = sign_in(client, citizen, portal)
    answer = client.post("/account/portals/withdraw", data={"client_id": portal["client_id"]})
    assert answer.status_code == 400
    assert client.get("/userinfo", headers=bearer(issued["access_token"])).status_code == 200


def test_the_history_shows_which_portal_received_what_after_a_real_code_flow(
    client, app, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal(name="Y tế điện tử Thái Nguyên")
    issued = sign_in(client, citizen, portal, scope="openid profile email")
    assert client.get("/userinfo", headers=bearer(issued["access_token"])).status_code == 200

    html = page(client, "/account/history")

    received = [p for p in html.split("<li") if "Y tế điện tử Thái Nguyên" in p and "đã nhận" in p]
    assert len(received) == 2  # the ID token at the code exchange, then userinfo
    assert "họ và tên" in received[0] and "ngày sinh" in received[0] and "email" in received[0]
    assert "lúc và cách bạn đăng nhập" in received[1]
    assert re.search(r"\d\d:\d\d, \d\d/\d\d/\d{4}", received[0])
    assert "Bạn cho phép Y tế điện tử Thái Nguyên nhận" in html
    with app.app_context():
        released = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == "claims_released").order_by(AuditEvent.id)
        ).all()
        db.session.remove()
    assert [e.details["via"] for e in released] == ["id_token", "userinfo"]
    assert all(e.client_id == portal["client_id"] and e.citizen_pk == citizen["pk"] for e in released)
    assert "email" in released[1].details["claims"] and "sub" in released[0].details["claims"]


def test_the_portals_page_shows_the_last_release_next_to_what_was_allowed(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal(name="C-ThaiNguyen")
    issued = sign_in(client, citizen, portal, scope="openid profile")
    client.get("/userinfo", headers=bearer(issued["access_token"]))

    html = page(client, "/account/portals")

    assert "Lần nhận gần nhất" in html and "họ và tên" in html
    assert f"/account/history?portal={portal['client_id']}" in html


def test_a_citizen_sees_only_their_own_history(app, client, make_citizen, make_portal):
    an, binh, portal = make_citizen(), make_citizen(), make_portal(name="Cổng của An")
    sign_in(client, an, portal)
    other = log_in(app, binh, IPHONE_SAFARI)
    assert "Cổng của An" not in page(other, "/account/history")
    assert "Cổng của An" not in page(other, "/account/portals")


def test_an_unverified_contact_links_to_its_verification(app, make_citizen):
    citizen = make_citizen(phone_verified=True)
    html = page(log_in(app, citizen, ANDROID_CHROME), "/account")
    assert 'href="/verify/email"' in html and 'href="/verify/phone"' not in html


def test_a_portal_reading_the_same_claims_again_is_one_entry_per_five_minutes(
    client, app, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal(name="Cổng hỏi nhiều lần")
    issued = sign_in(client, citizen, portal, scope="openid profile")
    for _ in range(3):
        assert client.get("/userinfo", headers=bearer(issued["access_token"])).status_code == 200
    clock.advance(history.REPEAT_WINDOW)
    assert client.get("/userinfo", headers=bearer(issued["access_token"])).status_code == 200

    with app.app_context():
        reads = db.session.scalars(select(AuditEvent.at).where(
            AuditEvent.event_type == "claims_released", AuditEvent.details["via"].as_string() == "userinfo"))
        assert len(list(reads)) == 2
        db.session.remove()
