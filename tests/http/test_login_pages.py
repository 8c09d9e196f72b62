"""The pages a citizen sees: the login form, its answers, the SSO cookie and the page headers."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from idp.extensions import db
from idp.identity import cccd
from idp.identity.passwords import Passwords
from idp.models import AuditEvent, AuthorizationCode, BrowserSession, Citizen, Consent
from idp.oauth import authorize, clients
from tests.support import (
    FlaskBrowser,
    authorize_params,
    follow,
    hidden_fields,
    login,
    query_of,
    without_private,
)

PORTAL = "https://portal.example"
SESSION_COOKIE = "tnid_session"
LOGIN_FAILED_VI = "Thông tin đăng nhập không đúng. Vui lòng kiểm tra và thử lại."


# --- helpers --------------------------------------------------------------------------------
def login_form(client, portal: dict, **extra):
    """The login page of a fresh authorization request (the browser now holds a CSRF cookie)."""
    browser = FlaskBrowser(client)
    page = follow(browser, browser.get("/authorize", **without_private(authorize_params(portal, **extra))),
                  PORTAL)
    assert page.status == 200 and 'name="password"' in page.text, page.text[:500]
    return page


def post_login(client, page, identifier: str, password: str):
    return client.post("/login", data={**hidden_fields(page.text), "identifier": identifier,
                                       "password": password})


def logs_in(client, portal: dict, identifier: str, password: str) -> bool:
    """True when these credentials get the browser past the login form to the portal."""
    page = login(FlaskBrowser(client), authorize_params(portal), identifier, password)
    return page.status == 302 and page.location.startswith(portal["redirect_uri"]) and \
        "code" in query_of(page.location)


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def set_status(app, citizen: dict, status: str) -> None:
    with app.app_context():
        db.session.get(Citizen, citizen["pk"]).status = status
        db.session.commit()


def session_cookie(client) -> str | None:
    cookie = client.get_cookie(SESSION_COOKIE)
    return cookie.value if cookie else None


def normalised(body: str, *echoed: str) -> str:
    """The page without what legitimately differs between two answers: CSRF token and echoed input."""
    body = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', body)
    for value in echoed:
        body = body.replace(value, "«identifier»")
    return body


class FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict] = []
        self.labels: list[str] = []
        self.scripts = 0
        self.inline_handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.inline_handlers += [name for name in attributes if name.startswith("on")]
        if tag == "input":
            self.inputs.append(attributes)
        elif tag == "label" and attributes.get("for"):
            self.labels.append(attributes["for"])
        elif tag == "script":
            self.scripts += 1


def parse(html: str) -> FormParser:
    parser = FormParser()
    parser.feed(html)
    return parser


# --- the identifiers a citizen can log in with ------------------------------------------------
def test_citizen_logs_in_with_cccd_number(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()

    assert logs_in(client, portal, citizen["citizen_id"], citizen["password"])


def test_citizen_logs_in_with_phone_number_in_local_form(client, make_citizen, make_portal):
    citizen, portal = make_citizen(phone="+84912345678"), make_portal()

    assert logs_in(client, portal, "0912345678", citizen["password"])


def test_citizen_logs_in_with_phone_number_in_local_form_with_spaces(client, make_citizen, make_portal):
    citizen, portal = make_citizen(phone="+84912345678"), make_portal()

    assert logs_in(client, portal, "0912 345 678", citizen["password"])


def test_citizen_logs_in_with_phone_number_in_e164(client, make_citizen, make_portal):
    citizen, portal = make_citizen(phone="+84912345678"), make_portal()

    assert logs_in(client, portal, "+84912345678", citizen["password"])


def test_citizen_logs_in_with_email_in_different_case(client, make_citizen, make_portal):
    citizen, portal = make_citizen(email="tran.binh@example.com"), make_portal()

    assert logs_in(client, portal, "Tran.Binh@EXAMPLE.com", citizen["password"])


def test_identifier_with_surrounding_spaces_still_logs_in(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()

    assert logs_in(client, portal, f"  {citizen['citizen_id']} ", citizen["password"])


def test_login_without_an_authorization_request_goes_to_the_home_page(client, make_citizen):
    citizen = make_citizen()
    page = client.get("/login")

    response = client.post("/login", data={**hidden_fields(page.get_data(as_text=True)),
                                           "identifier": citizen["citizen_id"],
                                           "password": citizen["password"]})

    assert response.status_code == 303 and response.headers["Location"].endswith("/")
    assert citizen["full_name"] in client.get("/").get_data(as_text=True)


# --- failed logins look the same whatever the reason -------------------------------------------
def test_wrong_password_and_unknown_account_get_identical_answers(client, make_citizen, make_portal, app):
    citizen, portal = make_citizen(), make_portal()
    unknown = cccd.synthetic(dt.date(1990, 5, 17), "male")  # valid-shaped, but nobody's
    assert unknown != citizen["citizen_id"]
    page = login_form(client, portal)

    wrong_password = post_login(client, page, citizen["citizen_id"], "not-the-password-at-all")
    unknown_account = post_login(client, page, unknown, "not-the-password-at-all")

    assert wrong_password.status_code == unknown_account.status_code == 401
    first = wrong_password.get_data(as_text=True)
    assert LOGIN_FAILED_VI in first
    assert normalised(first, citizen["citizen_id"]) == \
        normalised(unknown_account.get_data(as_text=True), unknown)
    assert count(app, BrowserSession) == 0


@pytest.mark.parametrize("unknown", ["0987654321", "nobody@example.com", "+84987654321"])
def test_unknown_phone_or_email_gets_the_same_answer_as_a_wrong_password(
    client, make_citizen, make_portal, unknown
):
    citizen, portal = make_citizen(), make_portal()
    page = login_form(client, portal)

    wrong_password = post_login(client, page, citizen["citizen_id"], "not-the-password-at-all")
    unknown_account = post_login(client, page, unknown, "not-the-password-at-all")

    assert wrong_password.status_code == unknown_account.status_code
    assert normalised(wrong_password.get_data(as_text=True), citizen["citizen_id"]) == \
        normalised(unknown_account.get_data(as_text=True), unknown)


@pytest.mark.parametrize("status", ["locked", "disabled"])
def test_locked_or_disabled_account_cannot_log_in_and_gets_the_same_message(
    client, make_citizen, make_portal, app, status
):
    citizen, portal = make_citizen(), make_portal()
    page = login_form(client, portal)
    wrong_password = post_login(client, page, citizen["citizen_id"], "not-the-password-at-all")
    set_status(app, citizen, status)

    right_password = post_login(client, page, citizen["citizen_id"], citizen["password"])

    assert right_password.status_code == wrong_password.status_code == 401
    assert "Location" not in right_password.headers
    assert normalised(right_password.get_data(as_text=True)) == \
        normalised(wrong_password.get_data(as_text=True))
    assert count(app, BrowserSession) == 0 and session_cookie(client) is None


@pytest.mark.parametrize("status", ["locked", "disabled"])
def test_locking_an_account_ends_its_single_sign_on(client, make_citizen, make_portal, app, status):
    citizen, portal = make_citizen(), make_portal()
    assert logs_in(client, portal, citizen["citizen_id"], citizen["password"])
    set_status(app, citizen, status)

    response = client.get("/authorize", query_string=without_private(authorize_params(portal, prompt="none")))

    assert query_of(response.headers["Location"])["error"] == "login_required"


def test_missing_password_is_a_400_with_the_form_again(client, make_citizen, make_portal, app):
    citizen, portal = make_citizen(), make_portal()
    page = login_form(client, portal)

    response = post_login(client, page, citizen["citizen_id"], "")

    assert response.status_code == 400 and 'name="password"' in response.get_data(as_text=True)
    assert count(app, BrowserSession) == 0


def test_failed_login_page_keeps_the_identifier_but_never_the_password(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    page = login_form(client, portal)

    response = post_login(client, page, citizen["email"], "a-secret-wrong-password")

    body = response.get_data(as_text=True)
    assert f'value="{citizen["email"]}"' in body
    assert "a-secret-wrong-password" not in body


# --- CSRF ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "", "forged-token"], ids=["absent", "empty", "forged"])
def test_login_post_without_valid_csrf_token_is_refused_and_writes_nothing(
    client, make_citizen, make_portal, app, token
):
    citizen, portal = make_citizen(), make_portal()
    fields = hidden_fields(login_form(client, portal).text)
    fields.pop("csrf_token")
    if token is not None:
        fields["csrf_token"] = token

    response = client.post("/login", data={**fields, "identifier": citizen["citizen_id"],
                                           "password": citizen["password"]})

    assert response.status_code == 400 and "Location" not in response.headers
    assert count(app, BrowserSession) == 0 and session_cookie(client) is None


def test_csrf_token_of_another_browser_is_refused_at_login(client, make_citizen, make_portal, app):
    citizen, portal = make_citizen(), make_portal()
    attacker_fields = hidden_fields(login_form(app.test_client(), portal).text)
    victim_fields = hidden_fields(login_form(client, portal).text)

    response = client.post("/login", data={**victim_fields, "csrf_token": attacker_fields["csrf_token"],
                                           "identifier": citizen["citizen_id"],
                                           "password": citizen["password"]})

    assert response.status_code == 400
    assert count(app, BrowserSession) == 0


def test_the_login_forms_token_is_spent_once_the_citizen_is_logged_in(client, make_citizen, make_portal, app):
    citizen, portal = make_citizen(), make_portal()
    before = hidden_fields(login_form(client, portal).text)["csrf_token"]
    page = login(FlaskBrowser(client), authorize_params(portal), citizen["citizen_id"], citizen["password"],
                 decision=None)
    fields = hidden_fields(page.text)
    assert fields["csrf_token"] != before  # a new browser state at login (no session fixation)

    response = client.post("/consent", data={**fields, "csrf_token": before, "decision": "allow"})

    assert response.status_code == 400
    assert count(app, Consent) == 0 and count(app, AuthorizationCode) == 0


def test_consent_post_without_csrf_token_is_refused_and_writes_nothing(
    client, make_citizen, make_portal, app
):
    citizen, portal = make_citizen(), make_portal()
    browser = FlaskBrowser(client)
    page = login(browser, authorize_params(portal), citizen["citizen_id"], citizen["password"], decision=None)
    assert 'name="decision"' in page.text
    fields = hidden_fields(page.text)
    token = fields.pop("csrf_token")

    response = client.post("/consent", data={**fields, "decision": "allow"})

    assert response.status_code == 400 and "Location" not in response.headers
    assert count(app, Consent) == 0 and count(app, AuthorizationCode) == 0
    # The same request with its token goes through: the refusal was the missing token.
    allowed = client.post("/consent", data={**fields, "csrf_token": token, "decision": "allow"})
    assert allowed.status_code == 302 and "code" in query_of(allowed.headers["Location"])


def test_a_consent_sent_twice_gets_one_code_and_the_second_writes_nothing(
    client, make_citizen, make_portal, app
):
    citizen, portal = make_citizen(), make_portal()
    page = login(FlaskBrowser(client), authorize_params(portal), citizen["citizen_id"], citizen["password"],
                 decision=None)
    fields = {**hidden_fields(page.text), "decision": "allow"}
    first = client.post("/consent", data=fields)
    audit_rows = count(app, AuditEvent)

    again = client.post("/consent", data=fields)  # a double click, or the browser's reload

    assert first.status_code == 302 and "code" in query_of(first.headers["Location"])
    assert again.status_code == 400 and "Location" not in again.headers
    assert count(app, AuthorizationCode) == 1 and count(app, AuditEvent) == audit_rows


def test_a_portal_removed_while_its_citizen_is_on_the_login_form_gets_nothing(
    client, make_citizen, make_portal, app
):
    citizen, portal = make_citizen(), make_portal()
    page = login_form(client, portal)
    with app.app_context():  # the operator removes the portal meanwhile (`idp clients delete`)
        clients.delete(clients.find(portal["client_id"]))
        db.session.commit()
    sessions_before = count(app, BrowserSession)

    answer = post_login(client, page, citizen["citizen_id"], citizen["password"])

    assert answer.status_code == 400 and "Location" not in answer.headers
    assert count(app, AuthorizationCode) == 0 and count(app, BrowserSession) == sessions_before


def test_a_redirect_uri_withdrawn_during_consent_is_not_redirected_to(client, make_citizen, make_portal, app):
    citizen, portal = make_citizen(), make_portal()
    page = login(FlaskBrowser(client), authorize_params(portal), citizen["citizen_id"], citizen["password"],
                 decision=None)
    with app.app_context():
        row = clients.find(portal["client_id"])
        row.redirect_uris = ["https://portal.example/elsewhere"]
        db.session.commit()

    answer = client.post("/consent", data={**hidden_fields(page.text), "decision": "allow"})

    assert answer.status_code == 400 and "Location" not in answer.headers
    assert count(app, AuthorizationCode) == 0


def test_the_password_is_answered_with_the_consent_page_itself(client, make_citizen, make_portal, app):
    citizen, portal = make_citizen(), make_portal()
    page = login_form(client, portal)

    answer = post_login(client, page, citizen["citizen_id"], citizen["password"])

    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'name="decision"' in text and citizen["full_name"] in text
    assert answer.headers["Cache-Control"].startswith("no-store")
    assert 'href="/consent?interaction=' in text  # the other language: GET /consent, not the login again
    again = client.get(re.search(r'href="(/consent\?[^"]+)"', text).group(1).replace("&amp;", "&"))
    assert again.status_code == 200 and 'name="decision"' in again.get_data(as_text=True)
    allowed = client.post("/consent", data={**hidden_fields(text), "decision": "allow"})
    assert allowed.status_code == 302 and "code" in query_of(allowed.headers["Location"])


def test_a_password_hashed_with_older_parameters_is_rehashed_at_login(client, make_citizen, make_portal, app):
    citizen, portal = make_citizen(), make_portal()
    with app.app_context():  # as an earlier version of the provider stored it (t=2 instead of t=1)
        row = db.session.get(Citizen, citizen["pk"])
        row.password_hash = Passwords(2, 8192, 1).hash(citizen["password"])
        db.session.commit()

    assert logs_in(client, portal, citizen["citizen_id"], citizen["password"])

    with app.app_context():
        stored = db.session.get(Citizen, citizen["pk"]).password_hash
    assert stored.startswith("$argon2id$") and "t=1" in stored
    assert Passwords(1, 8192, 1).verify(stored, citizen["password"]) == (True, None)


# --- the SSO cookie ------------------------------------------------------------------------------
def test_session_cookie_value_changes_at_every_login_and_the_old_session_ends(
    client, make_citizen, make_portal, app
):
    citizen, portal = make_citizen(), make_portal()
    assert logs_in(client, portal, citizen["citizen_id"], citizen["password"])
    first = session_cookie(client)

    page = login(FlaskBrowser(client), authorize_params(portal, prompt="login"), citizen["citizen_id"],
                 citizen["password"])

    assert page.status == 302
    second = session_cookie(client)
    assert first and second and first != second
    with app.app_context():
        rows = db.session.scalars(select(BrowserSession).order_by(BrowserSession.id)).all()
        assert len(rows) == 2
        assert rows[0].ended_at is not None and rows[1].ended_at is None
        # The same citizen again: the `sid` portals know carries on; the old row's is retired.
        assert rows[1].sid == rows[0].sid.split("~")[0] and rows[0].sid != rows[1].sid


def test_old_session_cookie_is_useless_after_a_new_login(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    assert logs_in(client, portal, citizen["citizen_id"], citizen["password"])
    old = session_cookie(client)
    login(FlaskBrowser(client), authorize_params(portal, prompt="login"), citizen["citizen_id"],
          citizen["password"])

    replay = client.application.test_client()
    replay.set_cookie(SESSION_COOKIE, old)
    response = replay.get("/authorize", query_string=without_private(authorize_params(portal, prompt="none")))

    assert query_of(response.headers["Location"])["error"] == "login_required"


def test_a_session_cookie_planted_before_login_is_replaced(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    planted = "tnid_ss_planted-by-an-attacker-0123456789abcdef"
    client.set_cookie(SESSION_COOKIE, planted)

    assert logs_in(client, portal, citizen["citizen_id"], citizen["password"])

    assert session_cookie(client) not in (None, planted)


def test_session_cookie_is_httponly_and_samesite_lax(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    page = login_form(client, portal)

    response = post_login(client, page, citizen["citizen_id"], citizen["password"])

    assert response.status_code == 200 and 'name="decision"' in response.get_data(as_text=True)
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(SESSION_COOKIE + "=")]
    assert len(cookies) == 1
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookies[0].split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=lax"
    assert attributes["path"] == "Path=/"


def test_csrf_cookie_is_httponly_and_samesite_lax(client):
    response = client.get("/login")

    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("tnid_csrf=")]
    assert len(cookies) == 1
    assert "HttpOnly" in cookies[0] and "SameSite=Lax" in cookies[0]


# --- headers and markup ----------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/login", "/", "/authorize", "/no-such-page", "/login?interaction=gone"])
def test_security_headers_are_on_every_page(client, path):
    response = client.get(path)

    csp = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";")}
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert directives["default-src"] == "default-src 'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_login_page_is_not_cached(client, make_portal):
    portal = make_portal()
    login_form(client, portal)

    response = client.get("/login")

    assert response.headers["Cache-Control"] == "no-store"


def test_login_page_works_without_javascript_and_labels_every_input(client, make_portal):
    portal = make_portal()
    page = login_form(client, portal)

    parsed = parse(page.text)

    assert parsed.scripts == 0 and "<script" not in page.text.lower()
    assert parsed.inline_handlers == []
    visible = [i for i in parsed.inputs if i.get("type") != "hidden"]
    assert {i["name"] for i in visible} == {"identifier", "password"}
    for field in visible:
        assert field.get("id") and field["id"] in parsed.labels, field
    assert re.search(r'<form method="post" action="/login"', page.text)


def test_failed_login_page_also_labels_every_input_and_has_no_script(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    page = login_form(client, portal)

    response = post_login(client, page, citizen["citizen_id"], "wrong-password-here")

    parsed = parse(response.get_data(as_text=True))
    assert parsed.scripts == 0
    for field in (i for i in parsed.inputs if i.get("type") != "hidden"):
        assert field["id"] in parsed.labels


def test_consent_page_works_without_javascript(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()

    page = login(FlaskBrowser(client), authorize_params(portal), citizen["citizen_id"], citizen["password"],
                 decision=None)

    assert 'name="decision"' in page.text
    parsed = parse(page.text)
    assert parsed.scripts == 0 and parsed.inline_handlers == []


def test_of_two_answers_to_one_pending_request_only_one_ends_it(app, make_portal):
    """Two consents for one request sent at the same moment both read it; the one whose DELETE
    finds no row must not answer (responses.already_answered)."""
    portal = make_portal()
    with app.test_request_context():
        req = authorize.validate_params(without_private(authorize_params(portal)))
        pending = authorize.park(req)
        db.session.commit()

        first, second = authorize.forget(pending), authorize.forget(pending)
        db.session.commit()

    assert (first, second) == (True, False)
