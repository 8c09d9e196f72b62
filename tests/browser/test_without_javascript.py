"""In Chromium with JavaScript turned off (old phones, data-saving browsers): logging in, agreeing,
the form_post answer and the account pages all still work; only passkeys need scripts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.flows import expect, log_in_at_portal


@pytest.fixture
def no_js_page(chromium) -> Iterator:
    context = chromium.new_context(java_script_enabled=False, locale="vi-VN",
                                   viewport={"width": 360, "height": 780})
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_log_in_agree_and_stop_sharing_without_javascript(no_js_page, portal, live_server, make_citizen):
    page, citizen = no_js_page, make_citizen()

    log_in_at_portal(page, portal, citizen)
    assert page.locator("#signed-in").inner_text() == citizen["subject"]

    page.goto(live_server.url + "/account/portals")
    page.locator(f"form:has(input[name=client_id][value='{portal.client_id}']) button").click()
    expect(page.locator(f"input[name=client_id][value='{portal.client_id}']")).to_have_count(0)


def test_form_post_answer_without_javascript(no_js_page, portal, make_citizen):
    """response_mode=form_post normally submits itself by script; without one, a button does."""
    page, citizen = no_js_page, make_citizen()

    page.goto(portal.start_url(response_mode="form_post"))
    page.locator("#identifier").fill(citizen["citizen_id"])
    page.locator("#password").fill(citizen["password"])
    page.locator("form button[type=submit]").click()
    page.locator("button[name=decision][value=allow]").click()
    page.locator("form[method=post] button[type=submit]").click()
    page.wait_for_url(portal.redirect_uri)
    assert page.locator("#signed-in").inner_text() == citizen["subject"]
