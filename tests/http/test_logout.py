"""RP-initiated logout (end_session_endpoint): who may end a citizen's session, and where to after."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from idp import clock
from idp.extensions import db
from idp.models import BrowserSession
from tests.support import FlaskBrowser, authorize_params, hidden_fields, login, query_of, without_private

ISSUER = "http://127.0.0.1:5000"
SESSION_COOKIE = "tnid_session"
PORTAL_LOGOUT_URI = "https://portal.example/"  # make_portal's registered post_logout_redirect_uri


# --- helpers --------------------------------------------------------------------------------
@dataclass
class LoggedIn:
    portal: dict
    citizen: dict
    access_token: str
    id_token: str


def basic(portal: dict) -> dict:
    raw = f"{portal['client_id']}:{portal['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def log_in(client, citizen: dict, portal: dict) -> LoggedIn:
    """The real flow: login, consent, code, /token."""
    params = authorize_params(portal)
    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"])
    assert page.status == 302, page.text[:500]
    code = query_of(page.location)["code"]
    response = client.post("/token", headers=basic(portal), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": portal["redirect_uri"],
        "code_verifier": params["_verifier"]})
    assert response.status_code == 200, response.get_json()
    tokens = response.get_json()
    return LoggedIn(portal, citizen, tokens["access_token"], tokens["id_token"])


@pytest.fixture
def session(client, make_citizen, make_portal) -> LoggedIn:
    return log_in(client, make_citizen(), make_portal())


def userinfo_status(client, access_token: str) -> int:
    return client.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"}).status_code


def sso_is_live(client, portal: dict) -> bool:
    """Whether the browser's SSO session still gets a code without any page (prompt=none)."""
    response = client.get("/authorize", query_string=without_private(authorize_params(portal, prompt="none")))
    answer = query_of(response.headers["Location"])
    assert "code" in answer or answer["error"] == "login_required", answer
    return "code" in answer


def session_rows(app) -> list[BrowserSession]:
    with app.app_context():
        return list(db.session.scalars(select(BrowserSession)).all())


def assert_error_page(response) -> str:
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    assert "Location" not in response.headers
    return response.get_data(as_text=True)


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (json.loads(base64.urlsafe_b64decode(pad(header))),
            json.loads(base64.urlsafe_b64decode(pad(payload))), signature)


# --- a portal that proves which session it speaks for -----------------------------------------
def test_logout_with_id_token_hint_redirects_to_registered_uri_with_state(client, session):
    response = client.get("/logout", query_string={
        "id_token_hint": session.id_token, "state": "tro-ve-123",
        "post_logout_redirect_uri": session.portal["post_logout_redirect_uri"]})

    assert response.status_code == 302
    assert response.headers["Location"] == "https://portal.example/?state=tro-ve-123"


def test_logout_with_id_token_hint_ends_the_sso_session(client, session, app):
    assert sso_is_live(client, session.portal)

    client.get("/logout", query_string={"id_token_hint": session.id_token,
                                        "post_logout_redirect_uri": PORTAL_LOGOUT_URI})

    assert not sso_is_live(client, session.portal)
    assert all(row.ended_at is not None for row in session_rows(app))


def test_logout_revokes_the_access_tokens_of_the_session(client, session):
    assert userinfo_status(client, session.access_token) == 200

    client.get("/logout", query_string={"id_token_hint": session.id_token,
                                        "post_logout_redirect_uri": PORTAL_LOGOUT_URI})

    assert userinfo_status(client, session.access_token) == 401


def test_logout_clears_the_session_cookie(client, session):
    response = client.get("/logout", query_string={"id_token_hint": session.id_token})

    assert response.status_code == 200
    assert client.get_cookie(SESSION_COOKIE) is None


def test_logout_without_redirect_uri_shows_the_logged_out_page(client, session):
    response = client.get("/logout", query_string={"id_token_hint": session.id_token, "ui_locales": "en"})

    assert response.status_code == 200 and "Location" not in response.headers
    assert "You are logged out" in response.get_data(as_text=True)
    assert not sso_is_live(client, session.portal)


def test_logout_by_post_works_like_get(client, session):
    response = client.post("/logout", data={
        "id_token_hint": session.id_token, "state": "s",
        "post_logout_redirect_uri": session.portal["post_logout_redirect_uri"]})

    assert response.status_code == 302 and response.headers["Location"] == "https://portal.example/?state=s"
    assert not sso_is_live(client, session.portal)


def test_expired_but_genuine_id_token_hint_is_still_accepted(client, session):
    clock.advance(60 * 60)  # the ID token lived 10 minutes; the SSO session lives 12 hours
    assert sso_is_live(client, session.portal)

    response = client.get("/logout", query_string={
        "id_token_hint": session.id_token, "state": "late",
        "post_logout_redirect_uri": session.portal["post_logout_redirect_uri"]})

    assert response.status_code == 302
    assert response.headers["Location"] == "https://portal.example/?state=late"
    assert not sso_is_live(client, session.portal)


def test_logout_with_id_token_hint_but_no_session_still_redirects(client, session, app):
    other_browser = app.test_client()

    response = other_browser.get("/logout", query_string={
        "id_token_hint": session.id_token,
        "post_logout_redirect_uri": session.portal["post_logout_redirect_uri"]})

    assert response.status_code == 302
    assert sso_is_live(client, session.portal)  # the citizen's own browser is untouched


# --- requests that must not redirect, and must not end anything -------------------------------
@pytest.mark.parametrize("uri", ["https://evil.example/", "https://portal.example/other",
                                 "https://portal.example", "https://portal.example/?next=x",
                                 "https://portal.example/callback"])
def test_unregistered_post_logout_redirect_uri_shows_error_page_and_keeps_the_session(
    client, session, uri
):
    response = client.get("/logout", query_string={"id_token_hint": session.id_token,
                                                    "post_logout_redirect_uri": uri})

    assert_error_page(response)
    assert sso_is_live(client, session.portal)
    assert userinfo_status(client, session.access_token) == 200


def test_post_logout_redirect_uri_without_id_token_hint_or_client_id_is_refused(client, session):
    response = client.get("/logout", query_string={
        "post_logout_redirect_uri": session.portal["post_logout_redirect_uri"]})

    assert_error_page(response)
    assert sso_is_live(client, session.portal)


def test_client_id_that_contradicts_the_id_token_hint_is_refused(client, session, make_portal):
    other = make_portal(name="Cổng khác", post_logout_redirect_uris=["https://other.example/"])

    response = client.get("/logout", query_string={
        "id_token_hint": session.id_token, "client_id": other["client_id"],
        "post_logout_redirect_uri": "https://other.example/"})

    assert_error_page(response)
    assert sso_is_live(client, session.portal)


def test_unknown_client_id_at_logout_is_refused(client, session):
    response = client.get("/logout", query_string={"client_id": "tn-nobody",
                                                   "post_logout_redirect_uri": "https://portal.example/"})

    assert_error_page(response)
    assert sso_is_live(client, session.portal)


def hs256_with_public_key(client, header: dict, claims: dict) -> str:
    """The algorithm-confusion forgery: HMAC keyed with our *public* RSA key."""
    jwk = next(k for k in client.get("/jwks.json").get_json()["keys"] if k["kid"] == header["kid"])
    public_pem = RSAKey.import_key(jwk).as_pem(private=False)
    signing_input = f"{b64({**header, 'alg': 'HS256'})}.{b64(claims)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def forged_tokens(client, genuine: str) -> dict[str, str]:
    header, claims, signature = parts(genuine)
    alien = RSAKey.generate_key(2048, parameters={"kid": header["kid"]})
    return {
        "garbage": "not-a-token",
        "three-garbage-parts": "aaa.bbb.ccc",
        "altered-subject": ".".join([b64(header), b64({**claims, "sub": "someone-else"}), signature]),
        "alg-none": ".".join([b64({"alg": "none", "typ": "JWT"}), b64(claims), ""]),
        "signed-by-another-key-with-our-kid": jwt.encode(header, claims, alien, algorithms=["RS256"]),
        "hs256-with-public-key-as-secret": hs256_with_public_key(client, header, claims),
    }


@pytest.mark.parametrize("kind", ["garbage", "three-garbage-parts", "altered-subject", "alg-none",
                                  "signed-by-another-key-with-our-kid", "hs256-with-public-key-as-secret"])
def test_forged_or_garbage_id_token_hint_is_refused_and_keeps_the_session(client, session, kind):
    forged = forged_tokens(client, session.id_token)[kind]

    response = client.get("/logout", query_string={
        "id_token_hint": forged, "post_logout_redirect_uri": session.portal["post_logout_redirect_uri"]})

    assert_error_page(response)
    assert sso_is_live(client, session.portal)
    assert userinfo_status(client, session.access_token) == 200


def test_id_token_from_another_issuer_is_refused(client, session, app):
    header, claims, _ = parts(session.id_token)
    keyring = app.extensions["idp"].keyring
    with app.app_context():
        key = keyring.signing_key(header["alg"])
    foreign = jwt.encode(header, {**claims, "iss": "https://evil.example"}, key, algorithms=[header["alg"]])

    response = client.get("/logout", query_string={"id_token_hint": foreign})

    assert_error_page(response)
    assert sso_is_live(client, session.portal)


# --- without proof: the citizen confirms ---------------------------------------------------------
def test_logout_without_id_token_hint_asks_the_citizen_to_confirm(client, session):
    response = client.get("/logout", query_string={
        "client_id": session.portal["client_id"], "state": "xac-nhan",
        "post_logout_redirect_uri": session.portal["post_logout_redirect_uri"]})

    assert response.status_code == 200 and "Location" not in response.headers
    body = response.get_data(as_text=True)
    assert 'action="/logout/confirm"' in body and "csrf_token" in body
    assert sso_is_live(client, session.portal)  # not yet ended
    assert userinfo_status(client, session.access_token) == 200


def test_confirming_logout_ends_the_session_and_redirects_with_state(client, session, app):
    page = client.get("/logout", query_string={
        "client_id": session.portal["client_id"], "state": "xac-nhan",
        "post_logout_redirect_uri": session.portal["post_logout_redirect_uri"]})

    response = client.post("/logout/confirm", data=hidden_fields(page.get_data(as_text=True)))

    assert response.status_code == 302
    assert response.headers["Location"] == "https://portal.example/?state=xac-nhan"
    assert not sso_is_live(client, session.portal)
    assert userinfo_status(client, session.access_token) == 401
    assert all(row.ended_at is not None for row in session_rows(app))


def test_confirming_a_bare_logout_shows_the_logged_out_page(client, session):
    page = client.get("/logout")
    assert page.status_code == 200

    response = client.post("/logout/confirm", data=hidden_fields(page.get_data(as_text=True)))

    assert response.status_code == 200 and "Location" not in response.headers
    assert not sso_is_live(client, session.portal)


def test_logout_confirmation_without_csrf_token_is_refused_and_keeps_the_session(client, session):
    page = client.get("/logout", query_string={"client_id": session.portal["client_id"]})
    fields = hidden_fields(page.get_data(as_text=True))
    fields.pop("csrf_token")

    response = client.post("/logout/confirm", data=fields)

    assert_error_page(response)
    assert sso_is_live(client, session.portal)


def test_id_token_hint_of_another_citizen_asks_for_confirmation(client, session, make_citizen, app):
    other = log_in(app.test_client(), make_citizen(), session.portal)

    response = client.get("/logout", query_string={"id_token_hint": other.id_token,
                                                   "post_logout_redirect_uri": PORTAL_LOGOUT_URI})

    assert response.status_code == 200 and 'action="/logout/confirm"' in response.get_data(as_text=True)
    assert sso_is_live(client, session.portal)


def test_confirmation_page_cannot_smuggle_an_unregistered_redirect(client, session):
    page = client.get("/logout", query_string={"client_id": session.portal["client_id"]})
    fields = hidden_fields(page.get_data(as_text=True))

    response = client.post("/logout/confirm", data={**fields, "post_logout_redirect_uri": "https://evil.example/"})

    assert_error_page(response)
    assert sso_is_live(client, session.portal)
