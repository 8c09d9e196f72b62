"""Logging in with a second factor: after the password, a citizen who has set one up is asked for
it (always), and the ID token says what happened (acr loa:2, amr pwd + otp + mfa)."""

from __future__ import annotations

from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.extensions import db
from idp.models import AuditEvent, BrowserSession
from tests.factors import LOA1, LOA2, code_now, enrol_totp, next_step
from tests.http.test_tokens import redeem
from tests.support import FlaskBrowser, authorize_params, follow, hidden_fields, login, query_of

PORTAL = "https://portal.example"


def second_step(browser, page, **fields):
    """Answer the second-factor page (one of its forms) and follow on to the portal."""
    data = {k: v for k, v in hidden_fields(page.text).items() if k in ("csrf_token", "interaction")}
    data.update(fields)
    page = follow(browser, browser.post("/login/second-factor", data), PORTAL)
    if 'name="decision"' in page.text:
        data = {k: v for k, v in hidden_fields(page.text).items() if k in ("csrf_token", "interaction")}
        page = follow(browser, browser.post("/consent", {**data, "decision": "allow"}), PORTAL)
    return page


def id_token_claims(client, portal, page, params) -> dict:
    answer = query_of(page.location)
    response = redeem(client, portal, answer["code"], params["_verifier"])
    assert response.status_code == 200, response.get_json()
    jwks = KeySet.import_key_set(client.get("/jwks.json").get_json())
    return jwt.decode(response.get_json()["id_token"], jwks, algorithms=["RS256"]).claims


def sessions_of(citizen: dict) -> list[BrowserSession]:
    return list(db.session.scalars(select(BrowserSession).where(BrowserSession.citizen_pk == citizen["pk"])))


def start_login(client, citizen, portal, **extra):
    browser, params = FlaskBrowser(client), authorize_params(portal, **extra)
    page = login(browser, params, citizen["citizen_id"], citizen["password"])
    return browser, params, page


def test_citizen_with_an_app_is_asked_for_a_code_after_the_password(client, app, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    app_factor = enrol_totp(app, citizen)

    browser, params, page = start_login(client, citizen, portal)
    assert page.status == 200 and 'name="code"' in page.text and 'autocomplete="one-time-code"' in page.text
    with app.app_context():  # no session before the second step
        assert sessions_of(citizen) == []

    page = second_step(browser, page, method="totp", code=code_now(app_factor["secret"]))

    assert page.status == 302 and page.location.startswith(portal["redirect_uri"] + "?")
    claims = id_token_claims(client, portal, page, params)
    assert claims["acr"] == LOA2
    assert claims["amr"] == ["pwd", "otp", "mfa"]


def test_citizen_without_a_second_factor_logs_in_with_the_password_at_level_1(
    client, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal()
    params = authorize_params(portal)
    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"])
    claims = id_token_claims(client, portal, page, params)
    assert claims["acr"] == LOA1 and claims["amr"] == ["pwd"]


def test_wrong_code_is_refused_and_nothing_is_logged_in(client, app, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    app_factor = enrol_totp(app, citizen)
    browser, _, page = start_login(client, citizen, portal)
    wrong = f"{(int(code_now(app_factor['secret'])) + 1) % 1_000_000:06d}"

    page = second_step(browser, page, method="totp", code=wrong)

    assert page.status == 401 and 'role="alert"' in page.text
    with app.app_context():
        assert sessions_of(citizen) == []
        failed = db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == "second_factor_failed"))
        assert [e.details["method"] for e in failed] == ["totp"]


def test_a_code_used_once_cannot_be_used_again(client, app, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    app_factor = enrol_totp(app, citizen)
    code = code_now(app_factor["secret"])
    browser, _, page = start_login(client, citizen, portal)
    assert second_step(browser, page, method="totp", code=code).status == 302

    other = FlaskBrowser(app.test_client())  # someone who watched the code being typed
    page = login(other, authorize_params(portal), citizen["citizen_id"], citizen["password"])
    replayed = second_step(other, page, method="totp", code=code)

    assert replayed.status == 401


def test_the_code_of_the_previous_step_is_still_accepted_but_not_one_further_back(
    client, app, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal()
    app_factor = enrol_totp(app, citizen)

    browser, _, page = start_login(client, citizen, portal)
    assert second_step(browser, page, method="totp", code=code_now(app_factor["secret"], -2)).status == 401
    assert second_step(browser, page, method="totp", code=code_now(app_factor["secret"], -1)).status == 302


def test_a_recovery_code_logs_in_once(client, app, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    factor = enrol_totp(app, citizen, with_recovery_codes=True)
    code = factor["recovery_codes"][3]

    browser, params, page = start_login(client, citizen, portal)
    assert "recovery_code" in page.text
    page = second_step(browser, page, method="recovery", recovery_code=code.lower().replace("-", " "))
    assert page.status == 302
    assert id_token_claims(client, portal, page, params)["acr"] == LOA2

    other = FlaskBrowser(app.test_client())
    page = login(other, authorize_params(portal), citizen["citizen_id"], citizen["password"])
    assert second_step(other, page, method="recovery", recovery_code=code).status == 401
    with app.app_context():
        used = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "second_factor_succeeded"))
        assert used.details["recovery_codes_left"] == 9
        assert code not in str(used.details)


def test_guessing_codes_is_slowed_then_locked_for_every_browser(client, app, make_citizen, make_portal):
    from idp import clock

    clock.freeze()
    citizen, portal = make_citizen(), make_portal()
    app_factor = enrol_totp(app, citizen)
    wrong = f"{(int(code_now(app_factor['secret'])) + 500_000) % 1_000_000:06d}"
    statuses = []
    for _ in range(4):
        browser = FlaskBrowser(app.test_client())  # a fresh browser each time: the count is per citizen
        page = login(browser, authorize_params(portal), citizen["citizen_id"], citizen["password"])
        statuses.append(second_step(browser, page, method="totp", code=wrong).status)
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3] == 429  # the 3rd failure imposed a wait; the right code would wait too

    browser = FlaskBrowser(app.test_client())
    page = login(browser, authorize_params(portal), citizen["citizen_id"], citizen["password"])
    refused = second_step(browser, page, method="totp", code=code_now(app_factor["secret"]))
    assert refused.status == 429


def test_the_second_step_without_a_password_first_is_refused(client, make_citizen):
    response = client.get("/login/second-factor")
    assert response.status_code == 400
    response = client.post("/login/second-factor", data={"method": "totp", "code": "123456"})
    assert response.status_code == 400  # no CSRF token, no pending login: nothing to do


def test_the_pending_password_expires(client, app, make_citizen, make_portal):
    from idp import clock

    citizen, portal = make_citizen(), make_portal()
    app_factor = enrol_totp(app, citizen)
    browser, _, page = start_login(client, citizen, portal)
    clock.advance(11 * 60)

    page = second_step(browser, page, method="totp", code=code_now(app_factor["secret"]))

    assert page.status == 400 and "hết hạn" in page.text


def test_direct_login_with_a_factor_lands_on_the_home_page_at_level_2(client, app, make_citizen):
    citizen = make_citizen()
    app_factor = enrol_totp(app, citizen)
    browser = FlaskBrowser(client)
    page = browser.get("/login")
    data = {**hidden_fields(page.text), "identifier": citizen["phone"], "password": citizen["password"]}
    page = browser.post("/login", data)
    assert page.status == 303 and "/login/second-factor" in page.location
    page = browser.get(page.location)
    data = {**hidden_fields(page.text), "method": "totp", "code": code_now(app_factor["secret"]),
            "then": "https://evil.example/"}  # only names of our own pages are followed
    page = browser.post("/login/second-factor", data)
    assert page.status == 303 and page.location == "/"
    with app.app_context():
        row = db.session.scalar(select(BrowserSession).where(BrowserSession.citizen_pk == citizen["pk"]))
        assert row.acr == LOA2 and row.amr == ["pwd", "otp", "mfa"]
    next_step()


def test_one_code_sent_twice_at_the_same_moment_logs_in_once(app, make_citizen, make_portal):
    from tests.http.test_tokens import run_together

    citizen, portal = make_citizen(), make_portal()
    app_factor = enrol_totp(app, citizen)
    browsers = [FlaskBrowser(app.test_client()) for _ in range(2)]
    pages = [login(b, authorize_params(portal), citizen["citizen_id"], citizen["password"]) for b in browsers]
    code = code_now(app_factor["secret"])

    def answer(browser, page):
        return lambda: second_step(browser, page, method="totp", code=code).status

    answers = run_together(*[answer(b, p) for b, p in zip(browsers, pages, strict=True)])

    assert sorted(answers) == [302, 401]
