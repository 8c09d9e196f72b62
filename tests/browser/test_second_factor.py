"""In Chromium: a citizen turns on an authenticator app, logs in with it, and is stepped up from
level 1 to level 2 when a portal registered with that minimum asks — the ID token (verified by the
portal against the JWKS) says what really happened."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from tests.browser.flows import log_in_at_portal, next_code, turn_on_authenticator_app
from tests.browser.portal import Portal, serve_portal
from tests.e2e.environment import IDP, PROJECT_ROOT, idp_environment

LOA1, LOA2 = "urn:thainguyen:id:loa:1", "urn:thainguyen:id:loa:2"


@pytest.fixture
def strict_portal(live_server, settings) -> Iterator[Portal]:
    """A portal registered by an operator with ``idp clients create --minimum-acr loa:2``."""

    def register(redirect_uri: str) -> tuple[str, str]:
        done = subprocess.run(
            [str(IDP), "clients", "create", "--name", "Cổng Bảo hiểm xã hội (thử nghiệm)",
             "--redirect-uri", redirect_uri, "--scope", "openid", "--scope", "profile",
             "--minimum-acr", LOA2, "--json"],
            env=idp_environment(settings), cwd=PROJECT_ROOT, capture_output=True, text=True,
            timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        made = json.loads(done.stdout)
        return made["client_id"], made["client_secret"]

    with serve_portal(live_server.issuer, register, scope="openid profile") as served:
        yield served


def test_log_in_with_an_authenticator_app(page, portal, live_server, make_citizen, looks):
    citizen = make_citizen()
    log_in_at_portal(page, portal, citizen)
    assert portal.last.claims["acr"] == LOA1
    app = turn_on_authenticator_app(page, live_server, looks)

    # Another day, a fresh browser: the password is no longer enough, the app's code is asked.
    page.context.clear_cookies()
    page.goto(portal.start_url())
    page.locator("#identifier").fill(citizen["citizen_id"])
    page.locator("#password").fill(citizen["password"])
    page.locator("form button[type=submit]").click()
    code_form = page.locator("form:has(input[name=method][value=totp])")
    code_form.locator("#code").wait_for()
    looks.check(page, "second-factor")
    code_form.locator("#code").fill(next_code(app))
    code_form.locator("button[type=submit]").click()
    page.wait_for_url(portal.redirect_uri + "?*")

    assert page.locator("#signed-in").inner_text() == citizen["subject"]
    claims = portal.last.claims
    assert claims["acr"] == LOA2
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"])


def test_step_up_from_level_1_to_level_2_for_a_portal_that_requires_it(
    page, portal, strict_portal, live_server, make_citizen
):
    citizen = make_citizen()
    log_in_at_portal(page, portal, citizen)  # password only: level 1
    app = turn_on_authenticator_app(page, live_server)

    # The strict portal needs level 2: the provider asks only for the app's code, not the password.
    page.goto(strict_portal.start_url())
    assert page.locator("#password").count() == 0
    code_form = page.locator("form:has(input[name=method][value=totp])")
    code_form.locator("#code").fill(next_code(app))
    code_form.locator("button[type=submit]").click()
    page.locator("button[name=decision][value=allow]").click()
    page.wait_for_url(strict_portal.redirect_uri + "?*")

    claims = strict_portal.last.claims  # verified against the JWKS by the portal
    assert claims["acr"] == LOA2
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"])


def test_a_level_the_citizen_cannot_reach_is_an_error_to_the_portal(page, strict_portal, make_citizen):
    citizen = make_citizen()  # no second factor: level 2 is out of reach

    page.goto(strict_portal.start_url())
    page.locator("#identifier").fill(citizen["citizen_id"])
    page.locator("#password").fill(citizen["password"])
    page.locator("form button[type=submit]").click()
    page.wait_for_url(strict_portal.redirect_uri + "?*")

    assert page.locator("#error").inner_text() == "unmet_authentication_requirements"
    assert strict_portal.last is None
