"""Passkeys as a second factor, verified by the real WebAuthn code: a software authenticator in
the test makes the registration and the assertions a browser would send."""

from __future__ import annotations

import json

from sqlalchemy import select

from idp.extensions import db
from idp.models import WebAuthnCredential
from tests.factors import LOA2, SoftAuthenticator
from tests.http.test_second_factor_login import id_token_claims, second_step
from tests.support import FlaskBrowser, authorize_params, hidden_fields, login

PASSKEYS = "/account/security/passkeys"


def logged_in(client, citizen, portal) -> FlaskBrowser:
    browser = FlaskBrowser(client)
    page = login(browser, authorize_params(portal), citizen["citizen_id"], citizen["password"])
    assert page.status == 302
    return browser


def add_passkey(browser, authenticator: SoftAuthenticator, name: str = "Điện thoại của tôi"):
    page = browser.get("/account/security")
    assert page.status == 200 and 'data-passkey="create"' in page.text
    csrf = hidden_fields(page.text)["csrf_token"]
    options = browser.client.post("/account/security/passkeys/options", data={"csrf_token": csrf})
    assert options.status_code == 200, options.get_data(as_text=True)
    credential = authenticator.register(options.get_json())
    return browser.post(PASSKEYS, {"csrf_token": csrf, "name": name, "credential": credential})


def passkey_options(browser, page) -> dict:
    data = {k: v for k, v in hidden_fields(page.text).items() if k in ("csrf_token", "interaction")}
    response = browser.client.post("/login/second-factor/passkey-options", data=data)
    assert response.status_code == 200
    return response.get_json()


def test_a_citizen_adds_a_passkey_and_logs_in_with_it(client, app, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    authenticator = SoftAuthenticator()
    added = add_passkey(logged_in(client, citizen, portal), authenticator)
    assert added.status == 303 and "done=passkey_added" in added.location
    with app.app_context():
        row = db.session.scalar(select(WebAuthnCredential).filter_by(citizen_pk=citizen["pk"]))
        assert row.name == "Điện thoại của tôi" and row.transports == ["internal"]

    browser, params = FlaskBrowser(app.test_client()), authorize_params(portal)  # another day
    page = login(browser, params, citizen["citizen_id"], citizen["password"])
    assert 'data-passkey="get"' in page.text
    options = passkey_options(browser, page)
    assert [c["id"] for c in options["allowCredentials"]] == [row.credential_id]

    page = second_step(browser, page, method="passkey", credential=authenticator.assert_(options))

    claims = id_token_claims(client, portal, page, params)
    assert claims["acr"] == LOA2 and claims["amr"] == ["pwd", "hwk", "user", "mfa"]


def test_an_assertion_made_on_another_site_is_refused(client, app, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    authenticator = SoftAuthenticator()
    add_passkey(logged_in(client, citizen, portal), authenticator)
    browser = FlaskBrowser(app.test_client())
    page = login(browser, authorize_params(portal), citizen["citizen_id"], citizen["password"])
    options = passkey_options(browser, page)

    phished = authenticator.assert_(options, origin="https://thainguyen-id.example")
    assert second_step(browser, page, method="passkey", credential=phished).status == 401


def test_an_assertion_cannot_be_replayed(client, app, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    authenticator = SoftAuthenticator()
    add_passkey(logged_in(client, citizen, portal), authenticator)
    browser = FlaskBrowser(app.test_client())
    page = login(browser, authorize_params(portal), citizen["citizen_id"], citizen["password"])
    assertion = authenticator.assert_(passkey_options(browser, page))
    assert second_step(browser, page, method="passkey", credential=assertion).status == 302

    other = FlaskBrowser(app.test_client())
    page = login(other, authorize_params(portal), citizen["citizen_id"], citizen["password"])
    passkey_options(other, page)  # a fresh challenge: the captured answer signed another one
    assert second_step(other, page, method="passkey", credential=assertion).status == 401


def test_another_citizens_passkey_does_not_count(client, app, make_citizen, make_portal):
    citizen, stranger, portal = make_citizen(), make_citizen(), make_portal()
    mine, theirs = SoftAuthenticator(), SoftAuthenticator()
    add_passkey(logged_in(client, citizen, portal), mine)
    add_passkey(logged_in(app.test_client(), stranger, portal), theirs)
    browser = FlaskBrowser(app.test_client())
    page = login(browser, authorize_params(portal), citizen["citizen_id"], citizen["password"])

    forged = theirs.assert_(passkey_options(browser, page))
    assert second_step(browser, page, method="passkey", credential=forged).status == 401


def test_a_registration_for_another_challenge_adds_nothing(client, app, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    browser = logged_in(client, citizen, portal)
    page = browser.get("/account/security")
    csrf = hidden_fields(page.text)["csrf_token"]
    options = browser.client.post("/account/security/passkeys/options", data={"csrf_token": csrf}).get_json()
    credential = SoftAuthenticator().register({**options, "challenge": "AAAA" + options["challenge"][4:]})

    page = browser.post(PASSKEYS, {"csrf_token": csrf, "name": "x", "credential": credential})

    assert page.status == 400 and 'role="alert"' in page.text
    with app.app_context():
        assert db.session.scalar(select(WebAuthnCredential)) is None


def test_garbage_instead_of_a_credential_is_a_clear_error(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    browser = logged_in(client, citizen, portal)
    page = browser.get("/account/security")
    csrf = hidden_fields(page.text)["csrf_token"]
    for junk in ["", "{", json.dumps({"id": 5}), "x" * 20000]:
        browser.client.post("/account/security/passkeys/options", data={"csrf_token": csrf})
        page = browser.post(PASSKEYS, {"csrf_token": csrf, "name": "x", "credential": junk})
        assert page.status == 400
