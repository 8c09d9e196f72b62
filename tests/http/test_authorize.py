"""The authorization endpoint (OIDC Core §3.1.2): who is redirected, who is shown a page, and when.

Until the portal and its redirect URI are verified, every error is a page for the person and never
a redirect (no open redirector). After that, errors go back to the portal with `state` and `iss`.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from idp import clock
from idp.extensions import db
from idp.models import AuthorizationCode, Consent, Interaction
from tests.support import (
    FlaskBrowser,
    authorize_params,
    follow,
    hidden_fields,
    login,
    query_of,
    submit,
    without_private,
)

ISSUER = "http://127.0.0.1:5000"
PORTAL = "https://portal.example"


# --- helpers --------------------------------------------------------------------------------
def get_authorize(client, params: dict, **kwargs):
    return client.get("/authorize", query_string=without_private(params), **kwargs)


def assert_error_page(response, status: int = 400) -> str:
    """A page shown to the person: the right status, HTML, and no redirect anywhere."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def portal_answer(response, portal: dict) -> dict:
    """The parameters of a redirect to the portal's registered redirect URI."""
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return answer_at(response.headers["Location"], portal)


def answer_at(location: str, portal: dict) -> dict:
    assert location.startswith(portal["redirect_uri"] + "?"), location
    return query_of(location)


def assert_error_answer(answer: dict, params: dict, error: str) -> dict:
    assert answer["error"] == error, answer
    assert answer["state"] == params["state"]
    assert answer["iss"] == ISSUER
    assert "code" not in answer
    return answer


def assert_portal_error(response, portal: dict, params: dict, error: str) -> dict:
    return assert_error_answer(portal_answer(response, portal), params, error)



def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def logged_in(client, citizen: dict, portal: dict, **extra) -> dict:
    """Log in and consent once (so the browser has an SSO session); returns the portal's answer."""
    page = login(FlaskBrowser(client), authorize_params(portal, **extra), citizen["citizen_id"],
                 citizen["password"])
    assert page.status == 302 and page.location.startswith(portal["redirect_uri"]), page.text[:500]
    return query_of(page.location)


def first_page(client, params: dict):
    """Where /authorize sends a browser, followed through the provider's own redirects."""
    browser = FlaskBrowser(client)
    return follow(browser, browser.get("/authorize", **without_private(params)), PORTAL)


def is_login_form(page) -> bool:
    return page.status == 200 and 'name="password"' in page.text


def is_consent_page(page) -> bool:
    return page.status == 200 and 'name="decision"' in page.text


# --- the client and its redirect URI ---------------------------------------------------------
def test_unknown_client_id_shows_error_page_and_never_redirects(client, make_portal):
    portal = make_portal()
    params = authorize_params(portal, client_id="tn-nobody-registered-this")

    body = assert_error_page(get_authorize(client, params))

    assert "invalid_client" in body
    assert portal["redirect_uri"] not in body  # not even offered as a link


def test_missing_client_id_shows_error_page(client, make_portal):
    portal = make_portal()
    params = authorize_params(portal, client_id=None)

    body = assert_error_page(get_authorize(client, params))

    assert "client_id" in body


def test_missing_redirect_uri_shows_error_page_even_with_one_registered(client, make_portal):
    portal = make_portal()
    params = authorize_params(portal, redirect_uri=None)

    assert_error_page(get_authorize(client, params))


@pytest.mark.parametrize(
    "redirect_uri",
    [
        pytest.param("https://portal.example/callback/extra", id="extra-path"),
        pytest.param("https://portal.example/callbackx", id="registered-uri-as-prefix"),
        pytest.param("https://portal.example/", id="prefix-of-registered-uri"),
        pytest.param("https://portal.example/Callback", id="different-case-path"),
        pytest.param("HTTPS://PORTAL.EXAMPLE/callback", id="different-case-host"),
        pytest.param("https://portal.example/callback/", id="trailing-slash"),
        pytest.param("https://portal.example/callback#fragment", id="fragment"),
        pytest.param("https://portal.example@evil.example/callback", id="userinfo"),
        pytest.param("https://portal.example/callback?next=https://evil.example", id="extra-query"),
        pytest.param("http://portal.example/callback", id="http-instead-of-https"),
        pytest.param("https://portal.example:8443/callback", id="other-port"),
        pytest.param("https://evil.example/callback", id="other-host"),
    ],
)
def test_unregistered_redirect_uri_shows_error_page_and_never_redirects(client, make_portal, redirect_uri):
    portal = make_portal()
    params = authorize_params(portal, redirect_uri=redirect_uri)

    body = assert_error_page(get_authorize(client, params))

    assert f'href="{redirect_uri}' not in body and f'action="{redirect_uri}' not in body


def test_error_about_redirect_uri_is_shown_even_when_the_request_has_other_errors(client, make_portal):
    portal = make_portal()
    params = authorize_params(portal, redirect_uri="https://evil.example/cb", response_type="token",
                              scope="email")

    assert_error_page(get_authorize(client, params))


# --- errors returned to the portal -----------------------------------------------------------
@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "code token", "none"])
def test_response_type_other_than_code_redirects_unsupported_response_type_with_state_and_iss(
    client, make_portal, response_type
):
    portal = make_portal()
    params = authorize_params(portal, response_type=response_type)

    assert_portal_error(get_authorize(client, params), portal, params, "unsupported_response_type")


def test_missing_response_type_redirects_unsupported_response_type(client, make_portal):
    portal = make_portal()
    params = authorize_params(portal, response_type=None)

    assert_portal_error(get_authorize(client, params), portal, params, "unsupported_response_type")


@pytest.mark.parametrize(
    "scope",
    [
        pytest.param("profile email", id="without-openid"),
        pytest.param("openid profile shoe_size", id="unknown-scope"),
        pytest.param("openid address", id="not-registered-for-portal"),
        pytest.param("openid citizen", id="citizen-id-not-registered"),
    ],
)
def test_scope_problem_is_invalid_scope_and_never_silently_dropped(client, make_portal, app, scope):
    portal = make_portal()  # registered for openid profile email phone offline_access
    params = authorize_params(portal, scope=scope)

    assert_portal_error(get_authorize(client, params), portal, params, "invalid_scope")
    assert count(app, Interaction) == 0  # the request was not parked with a reduced scope


def test_missing_scope_is_invalid_scope(client, make_portal):
    portal = make_portal()
    params = authorize_params(portal, scope=None)

    assert_portal_error(get_authorize(client, params), portal, params, "invalid_scope")


def test_public_client_without_code_challenge_gets_invalid_request(client, make_portal):
    portal = make_portal(public=True, redirect_uris=["https://portal.example/callback"])
    params = authorize_params(portal, code_challenge=None, code_challenge_method=None)

    answer = assert_portal_error(get_authorize(client, params), portal, params, "invalid_request")
    assert "PKCE" in answer["error_description"] or "code_challenge" in answer["error_description"]


@pytest.mark.parametrize("public", [True, False], ids=["public", "confidential"])
def test_plain_code_challenge_method_is_refused(client, make_portal, public):
    portal = make_portal(public=public)
    params = authorize_params(portal)
    params["code_challenge"] = params["_verifier"]
    params["code_challenge_method"] = "plain"

    assert_portal_error(get_authorize(client, params), portal, params, "invalid_request")


@pytest.mark.parametrize("public", [True, False], ids=["public", "confidential"])
def test_code_challenge_without_method_is_refused_as_plain(client, make_portal, public):
    portal = make_portal(public=public)
    params = authorize_params(portal, code_challenge_method=None)

    assert_portal_error(get_authorize(client, params), portal, params, "invalid_request")


def test_unknown_code_challenge_method_is_refused(client, make_portal):
    portal = make_portal()
    params = authorize_params(portal, code_challenge_method="S512")

    assert_portal_error(get_authorize(client, params), portal, params, "invalid_request")


def test_an_unsigned_request_object_is_refused_on_a_page(client, make_portal):
    portal = make_portal()
    params = authorize_params(portal, request="eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.")

    response = get_authorize(client, params)

    assert response.status_code == 400 and "Location" not in response.headers
    assert "invalid_request_object" in response.get_data(as_text=True)


def test_request_uri_is_refused_with_request_uri_not_supported(client, make_portal):
    portal = make_portal()
    params = authorize_params(portal, request_uri="https://portal.example/request.jwt")

    assert_portal_error(get_authorize(client, params), portal, params, "request_uri_not_supported")


@pytest.mark.parametrize(
    "extra, error",
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"prompt": "none"}, "login_required"),
        ({"prompt": "bogus"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"request_uri": "https://portal.example/r"}, "request_uri_not_supported"),
    ],
)
def test_every_error_redirect_carries_iss_and_state(client, make_portal, extra, error):
    portal = make_portal()
    params = authorize_params(portal, **extra)

    answer = assert_portal_error(get_authorize(client, params), portal, params, error)
    assert set(answer) <= {"error", "error_description", "state", "iss"}


def test_error_redirect_without_state_still_carries_iss_and_no_state(client, make_portal):
    portal = make_portal()
    params = authorize_params(portal, state=None, response_type="token")

    answer = portal_answer(get_authorize(client, params), portal)
    assert answer["error"] == "unsupported_response_type"
    assert answer["iss"] == ISSUER and "state" not in answer


@pytest.mark.parametrize("name", ["scope", "client_id", "redirect_uri", "state", "response_type",
                                  "code_challenge"])
def test_repeated_parameter_shows_error_page_and_never_redirects(client, make_portal, name):
    portal = make_portal()
    params = without_private(authorize_params(portal))
    query = [(k, v) for k, v in params.items()] + [(name, params[name])]

    response = client.get("/authorize", query_string=query)

    body = assert_error_page(response)
    assert name in body


def test_two_different_scope_parameters_are_not_merged(client, make_portal):
    portal = make_portal()
    params = without_private(authorize_params(portal, scope="openid"))
    query = [*params.items(), ("scope", "phone")]

    assert_error_page(client.get("/authorize", query_string=query))


# --- the successful answer --------------------------------------------------------------------
def test_code_response_carries_code_state_and_iss_only(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    params = authorize_params(portal)

    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"])

    answer = query_of(page.location)
    assert set(answer) == {"code", "state", "iss"}
    assert answer["state"] == params["state"] and answer["iss"] == ISSUER


def test_post_to_authorize_works_like_get(client, make_citizen, make_portal, app):
    citizen, portal = make_citizen(), make_portal()
    logged_in(client, citizen, portal)
    params = authorize_params(portal)

    response = client.post("/authorize", data=without_private(params))

    answer = portal_answer(response, portal)
    assert answer["state"] == params["state"] and answer["iss"] == ISSUER and answer["code"]


def test_post_to_authorize_reports_errors_like_get(client, make_portal):
    portal = make_portal()
    params = authorize_params(portal, scope="openid address")

    assert_portal_error(client.post("/authorize", data=without_private(params)), portal, params,
                        "invalid_scope")
    bad = authorize_params(portal, redirect_uri="https://evil.example/cb")
    assert_error_page(client.post("/authorize", data=without_private(bad)))


def test_post_to_authorize_without_session_leads_to_login_form(client, make_portal):
    portal = make_portal()
    browser = FlaskBrowser(client)

    page = follow(browser, browser.post("/authorize", without_private(authorize_params(portal))), PORTAL)

    assert is_login_form(page)


# --- response_mode=form_post ------------------------------------------------------------------
def test_form_post_returns_an_html_form_posting_code_state_and_iss_to_the_redirect_uri(
    client, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal()
    params = authorize_params(portal, response_mode="form_post")

    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"])

    assert page.status == 200 and page.location is None
    form = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert form and form.group(1) == portal["redirect_uri"]
    fields = hidden_fields(page.text)
    assert set(fields) == {"code", "state", "iss"}
    assert fields["state"] == params["state"] and fields["iss"] == ISSUER
    assert fields["code"] not in page.url


def test_form_post_with_existing_session_answers_with_a_form_not_a_redirect(
    client, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal()
    logged_in(client, citizen, portal)
    params = authorize_params(portal, response_mode="form_post")

    response = get_authorize(client, params)

    assert response.status_code == 200 and "Location" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    fields = hidden_fields(response.get_data(as_text=True))
    assert fields["code"] and fields["state"] == params["state"] and fields["iss"] == ISSUER


def test_form_post_errors_are_posted_too(client, make_portal):
    portal = make_portal()
    params = authorize_params(portal, response_mode="form_post", prompt="none")

    response = get_authorize(client, params)

    assert response.status_code == 200 and "Location" not in response.headers
    fields = hidden_fields(response.get_data(as_text=True))
    assert fields["error"] == "login_required"
    assert fields["state"] == params["state"] and fields["iss"] == ISSUER


# --- prompt, max_age ---------------------------------------------------------------------------
def test_prompt_none_without_session_redirects_login_required(client, make_portal):
    portal = make_portal()
    params = authorize_params(portal, prompt="none")

    assert_portal_error(get_authorize(client, params), portal, params, "login_required")


def test_prompt_none_with_session_but_no_consent_redirects_consent_required(
    client, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal()
    other = make_portal(name="Cổng khác", redirect_uris=["https://portal.example/other"])
    logged_in(client, citizen, other)  # a session, but consent only for the other portal
    params = authorize_params(portal, prompt="none")

    assert_portal_error(get_authorize(client, params), portal, params, "consent_required")


def test_prompt_none_with_session_and_consent_answers_with_a_code_straight_away(
    client, make_citizen, make_portal, app
):
    citizen, portal = make_citizen(), make_portal()
    logged_in(client, citizen, portal)
    params = authorize_params(portal, prompt="none")

    answer = portal_answer(get_authorize(client, params), portal)

    assert answer["code"] and answer["state"] == params["state"] and answer["iss"] == ISSUER
    assert count(app, Interaction) == 0


def test_prompt_none_combined_with_another_prompt_is_invalid_request(client, make_portal):
    portal = make_portal()
    params = authorize_params(portal, prompt="none login")

    assert_portal_error(get_authorize(client, params), portal, params, "invalid_request")


def test_prompt_login_shows_the_login_form_even_with_a_session(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    logged_in(client, citizen, portal)

    page = first_page(client, authorize_params(portal, prompt="login"))

    assert is_login_form(page)


def test_prompt_login_is_satisfied_by_the_new_login(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    logged_in(client, citizen, portal)
    params = authorize_params(portal, prompt="login")

    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"])

    assert page.status == 302 and query_of(page.location)["code"]  # no login loop


def test_prompt_consent_shows_consent_again(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    logged_in(client, citizen, portal)

    page = first_page(client, authorize_params(portal, prompt="consent"))

    assert is_consent_page(page)


def test_without_prompt_a_session_with_consent_gets_a_code_without_any_page(
    client, make_citizen, make_portal
):
    citizen, portal = make_citizen(), make_portal()
    logged_in(client, citizen, portal)
    params = authorize_params(portal)

    answer = portal_answer(get_authorize(client, params), portal)

    assert answer["code"] and answer["state"] == params["state"]


def test_max_age_zero_forces_a_new_login_even_within_the_same_second(
    client, make_citizen, make_portal, monkeypatch
):
    citizen, portal = make_citizen(), make_portal()
    frozen = clock.now()
    monkeypatch.setattr(clock, "time", SimpleNamespace(time=lambda: frozen))
    logged_in(client, citizen, portal)

    page = first_page(client, authorize_params(portal, max_age="0"))

    assert is_login_form(page)


def test_max_age_shorter_than_the_time_since_login_forces_a_new_login(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    logged_in(client, citizen, portal)
    clock.advance(120)

    page = first_page(client, authorize_params(portal, max_age="60"))

    assert is_login_form(page)


def test_large_max_age_does_not_force_a_new_login(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    logged_in(client, citizen, portal)
    clock.advance(120)
    params = authorize_params(portal, max_age="86400")

    answer = portal_answer(get_authorize(client, params), portal)

    assert answer["code"]


def test_max_age_relogin_is_satisfied_by_the_new_login(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    logged_in(client, citizen, portal)
    clock.advance(120)
    params = authorize_params(portal, max_age="60")

    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"])

    assert page.status == 302 and query_of(page.location)["code"]


def test_max_age_with_prompt_none_and_an_old_login_is_login_required(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    logged_in(client, citizen, portal)
    clock.advance(120)
    params = authorize_params(portal, max_age="60", prompt="none")

    assert_portal_error(get_authorize(client, params), portal, params, "login_required")


# --- login_hint and language -------------------------------------------------------------------
def test_login_hint_prefills_the_identifier(client, make_portal):
    portal = make_portal()

    page = first_page(client, authorize_params(portal, login_hint="0912345678"))

    assert is_login_form(page)
    assert re.search(r'<input id="identifier"[^>]*value="0912345678"', page.text, re.S)


def test_login_hint_is_escaped_in_the_page(client, make_portal):
    portal = make_portal()

    page = first_page(client, authorize_params(portal, login_hint='"><script>alert(1)</script>'))

    assert is_login_form(page)
    assert "<script>alert(1)" not in page.text


def test_login_page_is_vietnamese_by_default(client, make_portal):
    portal = make_portal()

    page = first_page(client, authorize_params(portal))

    assert '<html lang="vi">' in page.text and "Đăng nhập" in page.text and "Log in" not in page.text


def test_ui_locales_en_renders_the_login_page_in_english(client, make_portal):
    portal = make_portal()

    page = first_page(client, authorize_params(portal, ui_locales="en-GB vi"))

    assert '<html lang="en">' in page.text and "Log in" in page.text and "Mật khẩu" not in page.text


def test_ui_locales_with_no_supported_language_falls_back_to_vietnamese(client, make_portal):
    portal = make_portal()

    page = first_page(client, authorize_params(portal, ui_locales="fr de"))

    assert '<html lang="vi">' in page.text


def test_accept_language_en_is_honoured(client, make_portal):
    portal = make_portal()

    page = get_authorize(client, authorize_params(portal), headers={"Accept-Language": "en-US,en;q=0.9"})

    text = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="en">' in text and "Password" in text


def test_each_browser_gets_the_language_of_its_own_accept_language_header(app, make_portal):
    portal = make_portal()
    headers = ["en-US,en;q=0.9", "vi-VN,vi;q=0.9,en;q=0.5", "fr-FR,en;q=0.8", "fr-FR", "en-US,en;q=0.9"]

    pages = [get_authorize(app.test_client(), authorize_params(portal), headers={"Accept-Language": h})
             for h in headers]

    langs = [re.search(r'<html lang="(\w+)">', p.get_data(as_text=True)).group(1) for p in pages]
    assert langs == ["en", "vi", "en", "vi", "en"]  # French falls back to English, or to Vietnamese


def test_ui_locales_outranks_accept_language(client, make_portal):
    portal = make_portal()

    page = get_authorize(client, authorize_params(portal, ui_locales="vi"), headers={"Accept-Language": "en"})

    assert '<html lang="vi">' in page.get_data(as_text=True)


def test_authorize_shows_the_login_form_itself_and_its_language_link_keeps_the_login(client, make_portal):
    portal = make_portal()

    page = get_authorize(client, authorize_params(portal))

    text = page.get_data(as_text=True)
    interaction = hidden_fields(text)["interaction"]
    assert page.status_code == 200 and 'name="password"' in text
    assert f'href="/login?interaction={interaction}&amp;lang=en"' in text
    assert page.headers["Cache-Control"] == "no-store"


def test_consent_page_speaks_the_requested_language(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    params = authorize_params(portal, ui_locales="en")

    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"], decision=None)

    assert is_consent_page(page)
    assert "Allow" in page.text and "Your email address" in page.text


# --- consent -----------------------------------------------------------------------------------
def test_consent_is_remembered_for_the_next_login_with_the_same_scopes(
    client, make_citizen, make_portal, app
):
    citizen, portal = make_citizen(), make_portal()
    logged_in(client, citizen, portal)
    fresh = app.test_client()  # another browser: a new login, no SSO session
    browser = FlaskBrowser(fresh)

    page = login(browser, authorize_params(portal), citizen["citizen_id"], citizen["password"], decision=None)

    assert page.status == 302 and query_of(page.location)["code"]  # no consent page on the way


def test_asking_for_more_scopes_asks_for_consent_again(client, make_citizen, make_portal, app):
    citizen, portal = make_citizen(), make_portal()
    logged_in(client, citizen, portal, scope="openid profile")

    page = first_page(client, authorize_params(portal, scope="openid profile phone"))

    assert is_consent_page(page)
    submitted = follow(FlaskBrowser(client), submit(FlaskBrowser(client), page, "/consent", decision="allow"),
                       PORTAL)
    assert query_of(submitted.location)["code"]
    with app.app_context():
        row = db.session.scalar(select(Consent).where(Consent.client_id == portal["client_id"]))
        assert set(row.scopes) == {"openid", "profile", "phone"}


def test_asking_for_fewer_scopes_than_agreed_needs_no_consent(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    logged_in(client, citizen, portal, scope="openid profile email")
    params = authorize_params(portal, scope="openid email")

    assert portal_answer(get_authorize(client, params), portal)["code"]


def test_consent_for_one_portal_does_not_cover_another(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    other = make_portal(name="Cổng khác", redirect_uris=["https://portal.example/other"])
    logged_in(client, citizen, portal)

    page = first_page(client, authorize_params(other))

    assert is_consent_page(page)


def test_deny_at_consent_redirects_access_denied_with_state_and_iss(client, make_citizen, make_portal, app):
    citizen, portal = make_citizen(), make_portal()
    params = authorize_params(portal)

    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"], decision="deny")

    assert page.status == 302
    assert_error_answer(answer_at(page.location, portal), params, "access_denied")
    assert count(app, Consent) == 0 and count(app, AuthorizationCode) == 0


def test_denied_consent_is_asked_again_next_time(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    login(FlaskBrowser(client), authorize_params(portal), citizen["citizen_id"], citizen["password"],
          decision="deny")

    page = first_page(client, authorize_params(portal))

    assert is_consent_page(page)


# --- interactions ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/login", "/consent", "/authorize/resume"])
def test_unknown_interaction_id_shows_error_page(client, path):
    body = assert_error_page(client.get(path, query_string={"interaction": "no-such-interaction"}))

    assert "invalid_request" in body


def test_expired_interaction_shows_error_page_and_never_redirects(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    page = first_page(client, authorize_params(portal))
    assert is_login_form(page)
    clock.advance(31 * 60)  # IDP_INTERACTION_TTL is 30 minutes

    response = client.post("/login", data={**hidden_fields(page.text), "identifier": citizen["citizen_id"],
                                           "password": citizen["password"]})

    body = assert_error_page(response)
    assert "hết hạn" in body  # "expired", in the page's language


def test_expired_interaction_on_the_login_page_itself_shows_error_page(client, make_portal):
    portal = make_portal()
    page = get_authorize(client, authorize_params(portal))
    interaction = hidden_fields(page.get_data(as_text=True))["interaction"]
    clock.advance(31 * 60)

    assert_error_page(client.get("/login", query_string={"interaction": interaction}))


def test_interaction_is_used_once(client, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    browser = FlaskBrowser(client)
    page = follow(browser, browser.get("/authorize", **without_private(authorize_params(portal))), PORTAL)
    page = follow(browser, submit(browser, page, "/login", identifier=citizen["citizen_id"],
                                  password=citizen["password"]), PORTAL)
    consent_fields = hidden_fields(page.text)
    first = browser.post("/consent", {**consent_fields, "decision": "allow"})
    assert first.status == 302

    again = client.post("/consent", data={**consent_fields, "decision": "allow"})

    assert_error_page(again)
