"""In Chromium: a citizen without an account starts at a portal, creates one, proves the phone and
the email with the codes that arrive by SMS and by email, and lands back at the portal, which
learns that both contacts are verified."""

from __future__ import annotations

import datetime as dt
import random

import requests

from idp.identity import cccd


def test_register_and_verify_phone_and_email_on_the_way_to_a_portal(page, portal, live_server, outbox, looks):
    rng = random.Random()
    birth = dt.date(1994, 3, 8)
    number = cccd.synthetic(birth, "female", rng)
    local_phone = f"091{rng.randrange(10**7):07d}"  # as a citizen types it
    phone = "+84" + local_phone[1:]
    email = f"nong.thi.hoa.{rng.randrange(10**6)}@example.com"

    page.goto(portal.start_url(scope="openid profile email phone"))
    page.locator("main a[href*='/register']").click()
    looks.check(page, "register")
    page.locator("#full_name").fill("Nông Thị Hoa")
    page.locator("#citizen_id").fill(number)
    page.locator("#birth_date").fill(birth.isoformat())
    page.locator("input[name=gender][value=female]").check()
    page.locator("#phone").fill(local_phone)
    page.locator("#email").fill(email)
    page.locator("#password").fill("hoa-tra-tan-cuong-1994")
    page.locator("#password_confirm").fill("hoa-tra-tan-cuong-1994")
    page.locator("form:has(#full_name) button[type=submit]").click()

    # The phone first: the code comes by SMS (the gateway on loopback received it).
    page.wait_for_url("**/register/verify*")
    looks.check(page, "verify-phone")
    page.locator("#code").fill(outbox.code_for(phone))
    page.locator("form:has(#code) button[type=submit]").click()

    # Then the email, its code sent by SMTP.
    page.wait_for_url("**/verify/email*")
    looks.check(page, "verify-email")
    page.locator("#code").fill(outbox.code_for(email))
    page.locator("form:has(#code) button[type=submit]").click()

    # Back on the way to the portal: the consent page, then the portal itself.
    page.locator("button[name=decision][value=allow]").click()
    page.wait_for_url(portal.redirect_uri + "?*")
    info = requests.get(live_server.discovery()["userinfo_endpoint"], timeout=10,
                        headers={"Authorization": "Bearer " + portal.last.tokens["access_token"]}).json()
    assert info["name"] == "Nông Thị Hoa"
    assert info["phone_number"] == phone and info["phone_number_verified"] is True
    assert info["email"] == email and info["email_verified"] is True
