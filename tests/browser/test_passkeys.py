"""In Chromium with a virtual authenticator (DevTools' WebAuthn domain): a citizen adds a passkey
on /account/security and logs in with it — templates/static/passkeys.js against the real server.

WebAuthn refuses an IP address as relying-party id, so this server's issuer is
http://localhost:<port> (loopback, a secure context) rather than the suite's http://127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models import BrowserSession, WebAuthnCredential
from tests.e2e.conftest import LiveServer, running_server

LOA2 = "urn:thainguyen:id:loa:2"


@pytest.fixture(scope="module")
def localhost_server(app, settings, tmp_path_factory) -> Iterator[LiveServer]:
    with running_server(settings, tmp_path_factory.mktemp("passkey-server"), host="localhost") as server:
        yield server


def virtual_authenticator(page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True}})


def log_in_with_password(page, server, citizen) -> None:
    page.goto(server.url + "/login")
    page.locator("#identifier").fill(citizen["citizen_id"])
    page.locator("#password").fill(citizen["password"])
    page.locator("form button[type=submit]").click()


def test_add_a_passkey_then_log_in_with_it(page, localhost_server, app, make_citizen):
    citizen = make_citizen()
    virtual_authenticator(page)
    log_in_with_password(page, localhost_server, citizen)
    page.wait_for_url(localhost_server.url + "/")

    page.goto(localhost_server.url + "/account/security")
    page.locator("#passkey-name").fill("Điện thoại Android")
    page.locator("form[data-passkey=create] button[type=submit]").click()
    page.wait_for_url("**/account/security?done=passkey_added")
    assert "Điện thoại Android" in page.inner_text("main")
    with app.app_context():
        assert db.session.scalar(select(WebAuthnCredential).filter_by(citizen_pk=citizen["pk"])) is not None

    # Another visit: the password, then the passkey instead of a code.
    page.context.clear_cookies()
    log_in_with_password(page, localhost_server, citizen)
    page.wait_for_url("**/login/second-factor")
    page.locator("form[data-passkey=get] button[type=submit]").click()
    page.wait_for_url(localhost_server.url + "/")

    with app.app_context():
        newest = select(BrowserSession).filter_by(citizen_pk=citizen["pk"]).order_by(BrowserSession.id.desc())
        session = db.session.scalars(newest).first()
        assert session.acr == LOA2 and "mfa" in session.amr and {"hwk", "swk"} & set(session.amr)
