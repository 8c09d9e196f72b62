"""In Chromium: "Tài khoản của tôi" — every page reached from its menu, readable on a phone, and the
sessions page signs another device out for real."""

from __future__ import annotations

from tests.browser.flows import expect, log_in_at_portal

MENU = ("profile", "security", "password", "sessions", "portals", "history")


def test_every_account_page_from_the_menu(page, portal, live_server, make_citizen, looks):
    citizen = make_citizen(full_name="Đàm Văn Sơn", gender="male")
    log_in_at_portal(page, portal, citizen)
    page.goto(portal.url + "/profile")  # the portal uses its token: userinfo is in the history too

    page.goto(live_server.url + "/")
    page.locator("main a[href$='/account']").first.click()
    for name in MENU:
        suffix = "/account" if name == "profile" else f"/account/{name}"
        page.locator(f"nav.account-menu a[href$='{suffix}']").first.click()
        page.wait_for_url(f"**{suffix}")
        assert page.locator("nav.account-menu a[aria-current=page]").count() == 1, name
        assert "Đàm Văn Sơn" in page.locator("main").inner_text()
        looks.check(page, f"account-{name}")
        if name == "history":
            assert "Cổng Dịch vụ công tỉnh (thử nghiệm)" in page.locator("ol.timeline").inner_text()


def test_signing_out_another_device_from_the_sessions_page(chromium, page, live_server, make_citizen):
    citizen = make_citizen()
    phone = chromium.new_context(locale="vi-VN", viewport={"width": 360, "height": 780},
                                 user_agent="Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 "
                                            "(KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36")
    try:
        other = phone.new_page()
        for tab in (page, other):
            tab.goto(live_server.url + "/login")
            tab.locator("#identifier").fill(citizen["citizen_id"])
            tab.locator("#password").fill(citizen["password"])
            tab.locator("form button[type=submit]").click()
            tab.wait_for_url(live_server.url + "/")

        page.goto(live_server.url + "/account/sessions")
        cards = page.locator("ul.cards li.card")
        assert cards.count() == 2
        assert "Android" in cards.filter(has_not=page.locator(".badge.ok")).inner_text()
        page.locator("form:has(input[name=others]) button").click()
        expect(page.locator("ul.cards li.card")).to_have_count(1)

        # The phone's session is over: its next visit to the account asks it to log in again.
        other.goto(live_server.url + "/account/sessions")
        assert other.locator("#password").count() == 1
    finally:
        phone.close()
