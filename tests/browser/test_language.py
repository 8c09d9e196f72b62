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


def test_the_main_pages_in_english_fit_a_phone(page, live_server, make_citizen, looks):
    """English words are longer than Vietnamese ones: the same checks, the English pages."""
    citizen = make_citizen()
    page.goto(live_server.url + "/login?lang=en")  # the choice is remembered for the visit
    for path in ("/register", "/password/forgot", "/activate"):
        page.goto(live_server.url + path)
        assert page.locator("html").get_attribute("lang") == "en", path
        looks.check(page, "en-" + path.rsplit("/", 1)[-1])

    page.goto(live_server.url + "/login")
    page.locator("#identifier").fill(citizen["citizen_id"])
    page.locator("#password").fill(citizen["password"])
    page.locator("form button[type=submit]").click()
    for name in ("account", "account/security", "account/sessions", "account/portals", "account/history"):
        page.goto(f"{live_server.url}/{name}")
        assert page.locator("html").get_attribute("lang") == "en", name
        looks.check(page, "en-" + name.replace("/", "-"))
