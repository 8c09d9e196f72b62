"""A portal registers itself over HTTP (RFC 7591) with an operator's initial access token, then
logs a citizen in with Authlib's client, knowing only the issuer URL and what registration returned."""

from __future__ import annotations

import requests

from idp.extensions import db
from idp.oauth import registration
from tests.e2e.test_rp_with_authlib import TIMEOUT, log_in_with_authlib, rp_session, verify_id_token
from tests.support import query_of


def test_a_self_registered_portal_logs_a_citizen_in_with_authlib(app, live_server, browser, make_citizen):
    with app.app_context():
        initial = registration.issue_initial_token("e2e", 1, 600, ["openid", "profile", "email", "phone",
                                                                      "offline_access"])
        db.session.commit()
    endpoint = live_server.discovery()["registration_endpoint"]
    answer = requests.post(endpoint, timeout=TIMEOUT, headers={"Authorization": f"Bearer {initial}"}, json={
        "client_name": "Cổng tự đăng ký", "redirect_uris": ["https://portal.example/self/cb"],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile email phone offline_access", "id_token_signed_response_alg": "ES256"})
    assert answer.status_code == 201, answer.text
    registered = answer.json()
    portal = {"client_id": registered["client_id"], "client_secret": registered["client_secret"],
              "redirect_uri": "https://portal.example/self/cb"}
    rp = rp_session(portal)

    page, state, nonce, verifier = log_in_with_authlib(live_server, browser, make_citizen(), portal, rp)
    tokens = rp.fetch_token(live_server.discovery()["token_endpoint"], code=query_of(page.location)["code"],
                            code_verifier=verifier, state=state)

    claims = verify_id_token(live_server, tokens["id_token"], client_id=portal["client_id"], nonce=nonce,
                             access_token=tokens["access_token"], alg="ES256")
    assert claims["aud"] == portal["client_id"]
    read = requests.get(registered["registration_client_uri"], timeout=TIMEOUT,
                        headers={"Authorization": f"Bearer {registered['registration_access_token']}"})
    assert read.status_code == 200 and read.json()["id_token_signed_response_alg"] == "ES256"
