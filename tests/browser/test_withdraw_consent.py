"""In Chromium: a citizen logs in to a portal, then stops sharing with it, and the portal's token
stops working at once — seen by the citizen on the portal's own page."""

from __future__ import annotations

from tests.browser.portal import Portal


def log_in_at_portal(page, portal: Portal, citizen: dict, looks=None, **request) -> None:
    """From the portal's "log in" link through the provider's login and consent pages, back to
    the portal."""
    page.goto(portal.start_url(**request))
    page.locator("#identifier").fill(citizen["citizen_id"])
    page.locator("#password").fill(citizen["password"])
    if looks:
        looks.check(page, "login")
    page.locator("form button[type=submit]").click()
    page.locator("button[name=decision][value=allow]").wait_for()
    if looks:
        looks.check(page, "consent")
    page.locator("button[name=decision][value=allow]").click()
    page.wait_for_url(portal.redirect_uri + "?*")


def test_withdrawn_consent_rejects_the_portals_token(page, portal, live_server, make_citizen, looks):
    citizen = make_citizen(full_name="Ma Thị Thảo", gender="female")

    log_in_at_portal(page, portal, citizen, looks)
    assert page.locator("#signed-in").inner_text() == citizen["subject"]
    page.goto(portal.url + "/profile")
    assert page.locator("#userinfo").inner_text() == "Ma Thị Thảo"

    # On the provider's account page the citizen finds the portal and stops sharing with it.
    page.goto(live_server.url + "/")
    shared = page.locator(f"form:has(input[name=client_id][value='{portal.client_id}'])")
    assert shared.count() == 1
    looks.check(page, "account")
    shared.locator("button").click()
    page.wait_for_load_state()
    assert page.locator(f"input[name=client_id][value='{portal.client_id}']").count() == 0

    # The portal still holds its access token, and the provider no longer honours it.
    page.goto(portal.url + "/profile")
    assert page.locator("#rejected").inner_text() == "userinfo 401"
