"""In Chromium: the pages a citizen meets less often — an error, a wrong password, logging out —
pass the same phone and accessibility checks, and say what happened in plain words."""

from __future__ import annotations

from tests.browser.flows import expect


def test_a_broken_portal_link_shows_an_error_page_not_a_redirect(page, live_server, looks):
    page.goto(live_server.url + "/authorize?client_id=khong-co-cong-nay&response_type=code&scope=openid")
    assert page.url.startswith(live_server.url)
    assert "yêu cầu đăng nhập không hợp lệ" in page.locator("[role=alert]").inner_text()
    looks.check(page, "error")


def test_a_wrong_password_and_then_logging_out(page, live_server, make_citizen, looks):
    citizen = make_citizen()
    page.goto(live_server.url + "/login")
    page.locator("#identifier").fill(citizen["citizen_id"])
    page.locator("#password").fill("khong-phai-mat-khau")
    page.locator("form button[type=submit]").click()
    assert page.locator("[role=alert]").is_visible()
    assert page.locator("#identifier").input_value() == citizen["citizen_id"]  # nothing to retype
    looks.check(page, "wrong-password")

    page.locator("#password").fill(citizen["password"])
    page.locator("form button[type=submit]").click()
    page.wait_for_url(live_server.url + "/")
    page.goto(live_server.url + "/account")
    page.locator("form.logout button").click()
    expect(page.locator("form.logout")).to_have_count(0)
    looks.check(page, "logged-out")
    page.goto(live_server.url + "/account")
    assert page.locator("#password").count() == 1  # the session is over
