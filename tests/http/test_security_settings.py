"""/account/security: setting up the authenticator app (QR + a first code, then 10 recovery codes
shown once), new recovery codes, removing the app (a code or the password), and the rule that a
citizen with a second factor changes factors only from a session that used one."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import select

from idp.extensions import db
from idp.identity import totp
from idp.models import AuditEvent, RecoveryCode, TotpCredential
from tests.factors import code_now, enrol_totp, next_step
from tests.http.test_second_factor_login import second_step
from tests.support import FlaskBrowser, authorize_params, hidden_fields, login

CODE = re.compile(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>")


def logged_in(client, citizen, portal) -> FlaskBrowser:
    browser = FlaskBrowser(client)
    page = login(browser, authorize_params(portal), citizen["citizen_id"], citizen["password"])
    assert page.status == 302
    return browser


def csrf(browser) -> str:
    return hidden_fields(browser.get("/account/security").text)["csrf_token"]


def test_the_security_page_needs_a_login(client):
    response = client.get("/account/security")
    assert response.status_code == 303 and response.headers["Location"].endswith("/login")


def test_setting_up_the_app_shows_a_qr_code_then_ten_recovery_codes_once(
    client, app, make_citizen, make_portal
):
    citizen = make_citizen()
    browser = logged_in(client, citizen, make_portal())
    page = browser.get("/account/security")
    assert page.status == 200 and "totp/start" in page.text

    page = browser.post("/account/security/totp/start", {"csrf_token": csrf(browser)})
    assert page.status == 303
    response = browser.client.get("/account/security/totp")
    setup = response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert "<svg" in setup and 'role="img"' in setup and "<script" not in setup
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', setup).group(1).replace(" ", "")

    wrong = browser.post("/account/security/totp", {**hidden_fields(setup), "code": "000000"})
    assert wrong.status == 400
    with app.app_context():
        assert not totp.is_enrolled(citizen["pk"])

    done = browser.client.post("/account/security/totp", data={**hidden_fields(setup),
                                                               "code": pyotp.TOTP(secret).now()})
    shown = CODE.findall(done.get_data(as_text=True))
    assert done.status_code == 200 and len(set(shown)) == 10
    assert done.headers["Cache-Control"] == "no-store"
    with app.app_context():
        assert totp.is_enrolled(citizen["pk"])
        assert db.session.scalar(select(AuditEvent).filter_by(event_type="totp_enrolled")) is not None
    assert not CODE.findall(browser.get("/account/security").text)  # never shown again


def test_after_the_app_is_set_up_a_password_only_session_must_step_up_to_change_factors(
    client, app, make_citizen, make_portal
):
    citizen = make_citizen()
    browser = logged_in(client, citizen, make_portal())  # level 1
    factor = enrol_totp(app, citizen, with_recovery_codes=True)

    page = browser.post("/account/security/recovery-codes", {"csrf_token": csrf(browser)})
    assert page.status == 303 and page.location.endswith("/login/second-factor?then=security")

    page = browser.get(page.location)
    assert 'name="code"' in page.text
    data = {**hidden_fields(page.text), "method": "totp", "code": code_now(factor["secret"])}
    back = browser.post("/login/second-factor", data)
    assert back.status == 303 and back.location.endswith("/account/security")  # back where they were

    page = browser.post("/account/security/recovery-codes", {"csrf_token": csrf(browser)})
    assert page.status == 200 and len(CODE.findall(page.text)) == 10
    with app.app_context():
        from idp.identity import recovery_codes

        assert recovery_codes.use(citizen["pk"], factor["recovery_codes"][0]) is False  # the old ones


def test_removing_the_app_needs_a_current_code_or_the_password(client, app, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    factor = enrol_totp(app, citizen, with_recovery_codes=True)
    browser, params = FlaskBrowser(client), authorize_params(portal)
    page = login(browser, params, citizen["citizen_id"], citizen["password"])
    second_step(browser, page, method="totp", code=code_now(factor["secret"]))  # a level-2 session

    refused = browser.post("/account/security/totp/remove",
                           {"csrf_token": csrf(browser), "password": "sai-roi"})
    assert refused.status == 400
    with app.app_context():
        assert totp.is_enrolled(citizen["pk"])

    next_step()
    removed = browser.post("/account/security/totp/remove",
                           {"csrf_token": csrf(browser), "code": code_now(factor["secret"])})
    assert removed.status == 303
    with app.app_context():
        assert db.session.get(TotpCredential, citizen["pk"]) is None
        assert db.session.scalar(select(RecoveryCode).filter_by(citizen_pk=citizen["pk"])) is None


def test_removing_the_app_with_the_password(client, app, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    factor = enrol_totp(app, citizen)
    browser = FlaskBrowser(client)
    page = login(browser, authorize_params(portal), citizen["citizen_id"], citizen["password"])
    second_step(browser, page, method="totp", code=code_now(factor["secret"]))

    removed = browser.post("/account/security/totp/remove",
                           {"csrf_token": csrf(browser), "password": citizen["password"]})

    assert removed.status == 303
    with app.app_context():
        assert not totp.is_enrolled(citizen["pk"])


def test_a_passkey_of_another_citizen_cannot_be_removed(client, app, make_citizen, make_portal):
    from idp.models import WebAuthnCredential
    from tests.factors import SoftAuthenticator
    from tests.http.test_passkeys import add_passkey

    owner, other, portal = make_citizen(), make_citizen(), make_portal()
    add_passkey(logged_in(client, owner, portal), SoftAuthenticator())
    with app.app_context():
        key_id = db.session.scalar(select(WebAuthnCredential.id))
    browser = logged_in(app.test_client(), other, portal)

    browser.post(f"/account/security/passkeys/{key_id}/remove", {"csrf_token": csrf(browser)})

    with app.app_context():
        assert db.session.get(WebAuthnCredential, key_id) is not None


def test_the_page_works_in_english(client, make_citizen, make_portal):
    browser = logged_in(client, make_citizen(), make_portal())
    page = browser.get("/account/security?lang=en")
    assert "Login security" in page.text and "Authenticator app" in page.text


def test_guessing_the_password_on_the_remove_form_is_slowed(client, app, make_citizen, make_portal):
    from idp import clock

    clock.freeze()
    citizen, portal = make_citizen(), make_portal()
    factor = enrol_totp(app, citizen)
    browser = FlaskBrowser(client)
    page = login(browser, authorize_params(portal), citizen["citizen_id"], citizen["password"])
    second_step(browser, page, method="totp", code=code_now(factor["secret"]))

    def remove(password: str) -> int:
        form = {"csrf_token": csrf(browser), "password": password}
        return browser.post("/account/security/totp/remove", form).status

    assert [remove(f"doan-mo-{i}") for i in range(4)] == [400, 400, 400, 429]
    assert remove(citizen["password"]) == 429  # even the right password waits
    with app.app_context():
        assert totp.is_enrolled(citizen["pk"])


def test_the_owner_hears_of_a_factor_change_on_verified_contacts_only(
    client, app, make_citizen, make_portal, outbox
):
    from idp.models import Citizen

    citizen = make_citizen()
    with app.app_context():  # the phone was verified at registration; the email never was
        db.session.get(Citizen, citizen["pk"]).phone_verified = True
        db.session.commit()
    browser = logged_in(client, citizen, make_portal())
    browser.post("/account/security/totp/start", {"csrf_token": csrf(browser)})
    setup = browser.get("/account/security/totp").text
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', setup).group(1).replace(" ", "")

    browser.post("/account/security/totp", {**hidden_fields(setup), "code": pyotp.TOTP(secret).now()})

    sms = outbox.wait_for(citizen["phone"])
    assert len(sms) == 1 and "da them ung dung xac thuc" in sms[0] and secret not in sms[0]
    assert outbox.messages(citizen["email"]) == []
