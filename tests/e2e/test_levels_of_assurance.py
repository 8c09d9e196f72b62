"""A portal registered with minimum level 2, on a real OIDC client library (Authlib) against the
real server: the citizen types the password and the authenticator app's code, and the ID token —
verified against the JWKS with joserfc — says acr loa:2 and amr with otp. A level the citizen
cannot reach comes back to the portal as unmet_authentication_requirements."""

from __future__ import annotations

import secrets

from tests.e2e.test_rp_with_authlib import rp_session, verify_id_token
from tests.factors import LOA2, LOA3, code_now, enrol_totp
from tests.support import follow, hidden_fields, login, query_of


def second_step(browser, page, code: str, portal_prefix: str):
    data = {k: v for k, v in hidden_fields(page.text).items() if k in ("csrf_token", "interaction")}
    page = follow(browser, browser.post("/login/second-factor", {**data, "method": "totp", "code": code}),
                  portal_prefix)
    if 'name="decision"' in page.text:
        data = {k: v for k, v in hidden_fields(page.text).items() if k in ("csrf_token", "interaction")}
        page = follow(browser, browser.post("/consent", {**data, "decision": "allow"}), portal_prefix)
    return page


def start(live_server, browser, citizen, portal, rp):
    nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(live_server.discovery()["authorization_endpoint"], nonce=nonce,
                                             code_verifier=verifier)
    page = login(browser, query_of(url), citizen["citizen_id"], citizen["password"],
                 portal_prefix=portal["redirect_uri"])
    return page, state, nonce, verifier


def test_portal_with_minimum_level_2_gets_an_id_token_at_level_2(live_server, browser, app, make_citizen,
                                                                  make_portal):
    citizen, portal = make_citizen(), make_portal(minimum_acr=LOA2)
    factor = enrol_totp(app, citizen)
    rp = rp_session(portal)

    page, state, nonce, verifier = start(live_server, browser, citizen, portal, rp)
    assert page.status == 200 and 'autocomplete="one-time-code"' in page.text
    page = second_step(browser, page, code_now(factor["secret"]), portal["redirect_uri"])

    assert page.status == 302 and page.location.startswith(portal["redirect_uri"] + "?"), page.text[:300]
    token = rp.fetch_token(live_server.discovery()["token_endpoint"], authorization_response=page.location,
                           state=state, code_verifier=verifier)
    claims = verify_id_token(live_server, token["id_token"], client_id=portal["client_id"], nonce=nonce,
                             access_token=token["access_token"], alg="RS256")
    assert claims["acr"] == LOA2
    assert "otp" in claims["amr"] and "mfa" in claims["amr"] and "pwd" in claims["amr"]


def test_level_3_without_an_in_person_check_is_unmet_at_the_portal(live_server, browser, app, make_citizen,
                                                                   make_portal):
    citizen, portal = make_citizen(), make_portal(minimum_acr=LOA3)
    factor = enrol_totp(app, citizen)
    rp = rp_session(portal)

    page, state, _nonce, _verifier = start(live_server, browser, citizen, portal, rp)
    page = second_step(browser, page, code_now(factor["secret"]), portal["redirect_uri"])

    assert page.status == 302 and page.location.startswith(portal["redirect_uri"] + "?")
    answer = query_of(page.location)
    assert answer["error"] == "unmet_authentication_requirements"
    assert answer["state"] == state and answer["iss"] == live_server.issuer
    assert "code" not in answer
