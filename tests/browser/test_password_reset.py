"""In Chromium: a citizen who forgot the password resets it with a code sent to the verified phone,
on the way to a portal; every earlier login ends, and the portal's old refresh token with it."""

from __future__ import annotations

import requests

from tests.browser.flows import log_in_at_portal

NEW_PASSWORD = "doi-che-tan-cuong-moi-2026"


def test_forgotten_password_reset_by_sms_code(page, portal, live_server, make_citizen, outbox, looks):
    citizen = make_citizen(phone_verified=True)
    log_in_at_portal(page, portal, citizen)
    old_refresh_token = portal.last.tokens["refresh_token"]

    # Another day, another browser: the password is forgotten.
    page.context.clear_cookies()
    page.goto(portal.start_url())
    page.locator("main a[href*='/password/forgot']").click()
    looks.check(page, "forgot")
    sent_before = len(outbox.messages)
    page.locator("#identifier").fill(citizen["citizen_id"])
    page.locator("form:has(#identifier) button[type=submit]").click()

    page.wait_for_url("**/password/reset*")
    looks.check(page, "reset")
    page.locator("#code").fill(outbox.code_for(citizen["phone"], after=sent_before))
    page.locator("#password").fill(NEW_PASSWORD)
    page.locator("#password_confirm").fill(NEW_PASSWORD)
    page.locator("form:has(#code) button[type=submit]").click()

    # Back at the login, still on the way to the portal: the new password works.
    page.locator("#password").wait_for()
    looks.check(page, "login-after-reset")
    page.locator("#identifier").fill(citizen["citizen_id"])
    page.locator("#password").fill(NEW_PASSWORD)
    page.locator("form button[type=submit]").click()
    allow = page.locator("button[name=decision][value=allow]")
    page.wait_for_url(lambda url: url.startswith(portal.redirect_uri) or "/consent" in url)
    if allow.count():  # consent may be asked again: the reset ended what was granted before
        allow.click()
        page.wait_for_url(portal.redirect_uri + "?*")
    assert page.locator("#signed-in").inner_text() == citizen["subject"]

    refreshed = requests.post(live_server.discovery()["token_endpoint"], timeout=10,
                              auth=(portal.client_id, portal.client_secret),
                              data={"grant_type": "refresh_token", "refresh_token": old_refresh_token})
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
