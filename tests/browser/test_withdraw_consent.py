"""In Chromium: a citizen logs in to a portal, then stops sharing with it, and the portal's token
stops working at once — seen by the citizen on the portal's own page."""

from __future__ import annotations

from tests.browser.flows import expect, log_in_at_portal


def test_withdrawn_consent_rejects_the_portals_token(page, portal, live_server, make_citizen, looks):
    citizen = make_citizen(full_name="Ma Thị Thảo", gender="female")

    log_in_at_portal(page, portal, citizen, looks)
    assert page.locator("#signed-in").inner_text() == citizen["subject"]
    page.goto(portal.url + "/profile")
    assert page.locator("#userinfo").inner_text() == "Ma Thị Thảo"

    # From the provider's home page the citizen finds the portal and stops sharing with it.
    page.goto(live_server.url + "/")
    looks.check(page, "home")
    to_portals = page.locator("main a[href$='/account/portals']")
    if to_portals.count():  # the self-service pages (/account/…) have their own portals page
        to_portals.first.click()
        looks.check(page, "account-portals")
    shared = page.locator(f"form:has(input[name=client_id][value='{portal.client_id}'])")
    assert shared.count() == 1
    shared.locator("button").click()
    expect(page.locator(f"input[name=client_id][value='{portal.client_id}']")).to_have_count(0)

    # The portal still holds its access token, and the provider no longer honours it.
    page.goto(portal.url + "/profile")
    assert page.locator("#rejected").inner_text() == "userinfo 401"
