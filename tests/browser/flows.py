"""The steps a citizen takes in the browser, shared by the browser tests."""

from __future__ import annotations

import time

import pyotp

from tests.browser.portal import Portal

try:
    from playwright.sync_api import expect
except ImportError:  # the chromium fixture skips every browser test, saying why
    expect = None


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


def turn_on_authenticator_app(page, live_server, looks=None) -> pyotp.TOTP:
    """From the security page: start, read the secret shown under the QR code, confirm a code."""
    page.goto(live_server.url + "/account/security")
    if looks:
        looks.check(page, "security")
    page.locator("form[action$='/account/security/totp/start'] button").click()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    if looks:
        looks.check(page, "totp-setup")
    app = pyotp.TOTP(secret)
    page.locator("#code").fill(app.now())
    page.locator("form[action$='/account/security/totp'] button[type=submit]").click()
    page.locator("ol.codes").wait_for()
    if looks:
        looks.check(page, "recovery-codes")
    return app


def next_code(app: pyotp.TOTP) -> str:
    """The next period's code: inside the server's ±1-step window, and never the one just used
    (a replayed code is refused)."""
    return app.at(time.time() + app.interval)
