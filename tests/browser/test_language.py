"""In Chromium: the pages speak the citizen's language — the portal's ``ui_locales`` first, and a
plain link (no script) to switch, which keeps the login in progress."""

from __future__ import annotations


def test_portal_asks_for_english_and_the_citizen_switches_back(page, portal, make_citizen, looks):
    citizen = make_citizen()

    page.goto(portal.start_url(ui_locales="en"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_label("Password", exact=True).is_visible()
    looks.check(page, "login-en")

    page.locator("footer a[lang=vi]").click()
    assert page.locator("html").get_attribute("lang") == "vi"
    page.get_by_label("Mật khẩu", exact=True).fill(citizen["password"])
    page.locator("#identifier").fill(citizen["citizen_id"])
    page.locator("form button[type=submit]").click()
    page.locator("button[name=decision][value=allow]").click()
    page.wait_for_url(portal.redirect_uri + "?*")
    assert page.locator("#signed-in").inner_text() == citizen["subject"]
