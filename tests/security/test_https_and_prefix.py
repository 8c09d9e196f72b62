"""Behind a TLS reverse proxy, at a path prefix: cookies, HSTS, and every URL from the issuer."""

from __future__ import annotations

import pytest

from tests.security.conftest import login_page
from tests.support import hidden_fields

ISSUER = "https://id.thainguyen.gov.vn/idp"


@pytest.fixture
def web(make_app):
    return make_app(issuer=ISSUER).test_client()


def test_under_https_cookies_are_secure_host_prefixed_and_hsts_is_sent(web, make_citizen):
    citizen = make_citizen()
    base = "https://id.thainguyen.gov.vn"
    fields = login_page(web, f"{base}/idp/login")
    response = web.post(f"{base}/idp/login", data={**fields, "identifier": citizen["citizen_id"],
                                                   "password": citizen["password"]})
    cookies = response.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("__Host-tnid_session="))
    assert "Secure" in session and "HttpOnly" in session and "SameSite=Lax" in session
    assert "Path=/" in session and "Domain" not in session
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("path", ["/idp/.well-known/openid-configuration",
                                  "/.well-known/openid-configuration"])
def test_the_provider_answers_at_its_prefix_whether_or_not_the_proxy_strips_it(web, path):
    metadata = web.get(path, base_url="https://id.thainguyen.gov.vn").get_json()
    assert metadata["issuer"] == ISSUER
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                 "end_session_endpoint", "revocation_endpoint", "introspection_endpoint"):
        assert metadata[name].startswith(ISSUER + "/")


def test_links_and_redirects_inside_the_provider_keep_the_prefix(web, make_portal, make_citizen):
    portal, citizen = make_portal(), make_citizen()
    base = "https://id.thainguyen.gov.vn"
    form = web.get("/idp/authorize", base_url=base, query_string={
        "client_id": portal["client_id"], "redirect_uri": portal["redirect_uri"], "response_type": "code",
        "scope": "openid", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256"})
    text = form.get_data(as_text=True)
    assert form.status_code == 200 and 'action="/idp/login"' in text
    assert 'href="/idp/login?interaction=' in text  # the other language, for this login

    answer = web.post(f"{base}/idp/login", data={**hidden_fields(text), "identifier": citizen["citizen_id"],
                                                 "password": citizen["password"]})
    consent = answer.get_data(as_text=True)  # the consent page is the answer to the password itself
    assert answer.status_code == 200 and 'action="/idp/consent"' in consent
    assert 'href="/idp/consent?interaction=' in consent  # the other language, for this consent
