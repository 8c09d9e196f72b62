"""A portal built on a real OIDC client library (Authlib's requests client) logs a citizen in
against the real production server, knowing nothing but the issuer URL."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time

import pytest
import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support import authorize_params, hidden_fields, login, query_of, without_private

SCOPE = "openid profile email phone offline_access"
TIMEOUT = 10


# --- helpers ----------------------------------------------------------------------------------
def jwks_of(live_server) -> dict:
    response = requests.get(live_server.discovery()["jwks_uri"], timeout=TIMEOUT)
    assert response.status_code == 200
    return response.json()


def at_hash(access_token: str, alg: str) -> str:
    """OIDC Core §3.1.3.6: left half of the hash named by the JOSE alg, base64url, no padding."""
    digest = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}[alg[-3:]]
    full = digest(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(full[: len(full) // 2]).rstrip(b"=").decode()


def verify_id_token(live_server, id_token: str, *, client_id: str, nonce: str | None,
                    access_token: str | None, alg: str) -> dict:
    """Check an ID token with joserfc alone, against the JWKS fetched from jwks_uri."""
    jwks = jwks_of(live_server)
    token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=[alg])
    assert token.header["alg"] == alg
    assert token.header.get("kid") in {key["kid"] for key in jwks["keys"]}
    expected = {"iss": {"essential": True, "value": live_server.issuer},
                "aud": {"essential": True, "value": client_id},
                "sub": {"essential": True}, "exp": {"essential": True}, "iat": {"essential": True}}
    if nonce is not None:
        expected["nonce"] = {"essential": True, "value": nonce}
    jwt.JWTClaimsRegistry(**expected).validate(token.claims)  # also checks exp, nbf, iat
    claims = token.claims
    assert claims["exp"] > time.time()
    if access_token is not None:
        assert claims["at_hash"] == at_hash(access_token, alg)
    return claims


def rp_session(portal: dict, **kwargs) -> OAuth2Session:
    session = OAuth2Session(portal["client_id"], portal["client_secret"], scope=SCOPE,
                            redirect_uri=portal["redirect_uri"], code_challenge_method="S256", **kwargs)
    session.timeout = TIMEOUT
    return session


def log_in_with_authlib(live_server, browser, citizen, portal, rp: OAuth2Session, **extra):
    """Authorization request built by Authlib, browser part by HttpBrowser; → (redirect page, ...)."""
    meta = live_server.discovery()
    nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(meta["authorization_endpoint"], nonce=nonce,
                                             code_verifier=verifier, **extra)
    assert url.startswith(live_server.issuer + "/authorize?")
    params = query_of(url)
    assert params["code_challenge_method"] == "S256" and params["nonce"] == nonce
    page = login(browser, params, citizen["citizen_id"], citizen["password"],
                 portal_prefix=portal["redirect_uri"])
    return page, state, nonce, verifier


# --- the full journey ---------------------------------------------------------------------------
def test_authlib_client_login_userinfo_refresh_revoke_introspect(live_server, browser, make_citizen,
                                                                 make_portal):
    citizen = make_citizen()
    portal = make_portal()
    meta = live_server.discovery()
    assert meta["issuer"] == live_server.issuer
    rp = rp_session(portal)

    page, state, nonce, verifier = log_in_with_authlib(live_server, browser, citizen, portal, rp)

    assert page.status == 302, page.text[:500]
    assert page.location.startswith(portal["redirect_uri"] + "?")
    answer = query_of(page.location)
    assert answer["state"] == state
    assert answer["iss"] == live_server.issuer  # RFC 9207

    token = rp.fetch_token(meta["token_endpoint"], authorization_response=page.location,
                           state=state, code_verifier=verifier)
    assert token["token_type"].lower() == "bearer"
    assert set(token["scope"].split()) == set(SCOPE.split())
    assert token["expires_in"] > 0 and token["refresh_token"]

    claims = verify_id_token(live_server, token["id_token"], client_id=portal["client_id"], nonce=nonce,
                             access_token=token["access_token"], alg="RS256")
    assert claims["sub"] == citizen["subject"]
    assert claims["amr"] == ["pwd"] and claims["auth_time"] <= time.time() + 5

    # userinfo through the client's own Bearer auth
    info = rp.get(meta["userinfo_endpoint"])
    assert info.status_code == 200
    body = info.json()
    assert body["sub"] == citizen["subject"]
    assert body["name"] == citizen["full_name"]
    assert body["email"] == citizen["email"]
    assert body["phone_number"] == citizen["phone"]

    # refresh: rotation — a new refresh token, the old one refused afterwards
    first_access, first_refresh = token["access_token"], token["refresh_token"]
    refreshed = rp.refresh_token(meta["token_endpoint"])
    assert refreshed["access_token"] != first_access
    assert refreshed["refresh_token"] and refreshed["refresh_token"] != first_refresh
    refreshed_claims = verify_id_token(live_server, refreshed["id_token"], client_id=portal["client_id"],
                                       nonce=None, access_token=refreshed["access_token"], alg="RS256")
    assert refreshed_claims["sub"] == citizen["subject"]
    assert refreshed_claims["auth_time"] == claims["auth_time"]
    assert rp.get(meta["userinfo_endpoint"]).status_code == 200

    replay = rp_session(portal)
    with pytest.raises(OAuthError) as refused:
        replay.refresh_token(meta["token_endpoint"], refresh_token=first_refresh)
    assert refused.value.error == "invalid_grant"

    # introspection of a live token of a fresh login (the replay above revoked the whole grant)
    rp2 = rp_session(portal)
    page, state, _nonce, verifier = log_in_with_authlib(live_server, browser, citizen, portal, rp2)
    assert page.status == 302 and page.location.startswith(portal["redirect_uri"] + "?"), page.text[:500]
    token2 = rp2.fetch_token(meta["token_endpoint"], authorization_response=page.location,
                             state=state, code_verifier=verifier)
    live = rp2.introspect_token(meta["introspection_endpoint"], token=token2["access_token"],
                                token_type_hint="access_token")
    assert live.status_code == 200
    described = live.json()
    assert described["active"] is True
    assert described["client_id"] == portal["client_id"]
    assert described["sub"] == citizen["subject"]
    assert described["iss"] == live_server.issuer
    assert isinstance(described["exp"], int) and described["exp"] > time.time()
    assert set(described["scope"].split()) == set(SCOPE.split())

    # revocation (RFC 7009): the access token stops working at once
    revoked = rp2.revoke_token(meta["revocation_endpoint"], token=token2["access_token"],
                               token_type_hint="access_token")
    assert revoked.status_code == 200
    after = requests.get(meta["userinfo_endpoint"], timeout=TIMEOUT,
                         headers={"Authorization": f"Bearer {token2['access_token']}"})
    assert after.status_code == 401
    assert "invalid_token" in after.headers.get("WWW-Authenticate", "")
    gone = rp2.introspect_token(meta["introspection_endpoint"], token=token2["access_token"])
    assert gone.status_code == 200 and gone.json() == {"active": False}

    # revoking the refresh token ends the grant: the refresh token is refused afterwards
    assert rp2.revoke_token(meta["revocation_endpoint"], token=token2["refresh_token"],
                            token_type_hint="refresh_token").status_code == 200
    with pytest.raises(OAuthError) as refused:
        rp2.refresh_token(meta["token_endpoint"], refresh_token=token2["refresh_token"])
    assert refused.value.error == "invalid_grant"


def test_authorization_code_is_single_use(live_server, browser, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    meta = live_server.discovery()
    rp = rp_session(portal)
    page, state, _nonce, verifier = log_in_with_authlib(live_server, browser, citizen, portal, rp)
    rp.fetch_token(meta["token_endpoint"], authorization_response=page.location, state=state,
                   code_verifier=verifier)
    with pytest.raises(OAuthError) as refused:
        rp_session(portal).fetch_token(meta["token_endpoint"], authorization_response=page.location,
                                       state=state, code_verifier=verifier)
    assert refused.value.error == "invalid_grant"


def test_es256_portal_gets_an_es256_id_token(live_server, browser, make_citizen, make_portal):
    citizen = make_citizen()
    portal = make_portal(id_token_signed_response_alg="ES256")
    meta = live_server.discovery()
    assert "ES256" in meta["id_token_signing_alg_values_supported"]
    rp = rp_session(portal)

    page, state, nonce, verifier = log_in_with_authlib(live_server, browser, citizen, portal, rp)
    token = rp.fetch_token(meta["token_endpoint"], authorization_response=page.location, state=state,
                           code_verifier=verifier)

    claims = verify_id_token(live_server, token["id_token"], client_id=portal["client_id"], nonce=nonce,
                             access_token=token["access_token"], alg="ES256")
    assert claims["sub"] == citizen["subject"]
    header = jwt.decode(token["id_token"], KeySet.import_key_set(jwks_of(live_server)),
                        algorithms=["ES256"]).header
    ec_kids = {k["kid"] for k in jwks_of(live_server)["keys"] if k["kty"] == "EC"}
    assert header["kid"] in ec_kids


def test_form_post_response_mode(live_server, browser, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    params = authorize_params(portal, response_mode="form_post")

    page = login(browser, params, citizen["citizen_id"], citizen["password"],
                 portal_prefix=portal["redirect_uri"])

    assert page.status == 200, page.location
    assert f'action="{portal["redirect_uri"]}"' in page.text
    assert 'method="post"' in page.text.lower()
    fields = hidden_fields(page.text)
    assert fields["state"] == params["state"]
    assert fields["iss"] == live_server.issuer
    assert fields["code"]
    # The code is real: the portal redeems it.
    response = requests.post(
        live_server.discovery()["token_endpoint"], timeout=TIMEOUT,
        auth=(portal["client_id"], portal["client_secret"]),
        data={"grant_type": "authorization_code", "code": fields["code"],
              "redirect_uri": portal["redirect_uri"], "code_verifier": params["_verifier"]})
    assert response.status_code == 200, response.text
    verify_id_token(live_server, response.json()["id_token"], client_id=portal["client_id"],
                    nonce=params["nonce"], access_token=response.json()["access_token"], alg="RS256")


def test_form_post_page_is_not_cached(live_server, browser, make_citizen, make_portal):
    citizen, portal = make_citizen(), make_portal()
    login(browser, authorize_params(portal), citizen["citizen_id"], citizen["password"],
          portal_prefix=portal["redirect_uri"])  # logged in and consented once
    params = authorize_params(portal, response_mode="form_post")
    response = browser.session.get(live_server.url + "/authorize", params=without_private(params),
                                   allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "code" in hidden_fields(response.text)


# --- metadata ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks.json"])
def test_conditional_get_answers_304(live_server, path):
    first = requests.get(live_server.url + path, timeout=TIMEOUT)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    again = requests.get(live_server.url + path, headers={"If-None-Match": etag}, timeout=TIMEOUT)
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    other = requests.get(live_server.url + path, headers={"If-None-Match": '"nope"'}, timeout=TIMEOUT)
    assert other.status_code == 200 and other.json() == first.json()


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks.json"])
@pytest.mark.parametrize("form", ["list", "star", "weak"])
def test_conditional_get_other_if_none_match_forms(live_server, path, form):
    """RFC 9110 §13.1.2: a list, `*`, and weak comparison (W/ prefix) all count as a match."""
    etag = requests.get(live_server.url + path, timeout=TIMEOUT).headers["ETag"]
    header = {"list": f'"other", {etag}', "star": "*", "weak": f"W/{etag}"}[form]
    again = requests.get(live_server.url + path, headers={"If-None-Match": header}, timeout=TIMEOUT)
    assert again.status_code == 304


def test_every_discovery_url_is_under_the_issuer_and_answers(live_server):
    meta = live_server.discovery()
    urls = {name: value for name, value in meta.items()
            if isinstance(value, str) and value.startswith(("http://", "https://")) and name != "issuer"}
    assert {"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
            "revocation_endpoint", "introspection_endpoint", "end_session_endpoint"} <= urls.keys()
    outside = {name: url for name, url in urls.items() if not url.startswith(live_server.issuer + "/")}
    assert outside == {}
    answers = {name: requests.get(url, timeout=TIMEOUT, allow_redirects=False).status_code
               for name, url in urls.items()}
    broken = {name: status for name, status in answers.items() if status == 404 or status >= 500}
    assert broken == {}, f"discovery advertises URLs that do not answer: {broken}"


def test_discovery_document_is_self_consistent(live_server):
    meta = live_server.discovery()
    jwks = jwks_of(live_server)
    algs = {key.get("alg") for key in jwks["keys"]}
    assert set(meta["id_token_signing_alg_values_supported"]) <= algs
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "form_post" in meta["response_modes_supported"]
    for key in jwks["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys(), "private key material in JWKS"


# --- robustness -------------------------------------------------------------------------------
def hostile_requests(portal: dict) -> list[tuple[str, str, dict]]:
    cid, redirect = portal["client_id"], portal["redirect_uri"]
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    claims = b'{"sub":"x","aud":"' + cid.encode() + b'"}'
    none_token = b64(b'{"alg":"none","typ":"JWT"}') + "." + b64(claims) + "."
    return [
        ("GET", "/authorize", {}),
        ("GET", "/authorize?client_id=%ff%fe&response_type=code", {}),
        ("GET", "/authorize?client_id=a%00b&redirect_uri=https://portal.example/callback", {}),
        ("GET", f"/authorize?client_id={cid}&client_id=other&response_type=code", {}),
        ("GET", "/authorize", {"params": {"client_id": cid, "redirect_uri": "javascript:alert(1)",
                                          "response_type": "code", "scope": "openid"}}),
        ("GET", "/authorize", {"params": {"client_id": cid, "redirect_uri": redirect, "response_type": "code",
                                          "scope": "openid", "state": "x" * 20000, "nonce": "n",
                                          "code_challenge": "c" * 43, "code_challenge_method": "S256"}}),
        ("GET", "/authorize", {"params": {"client_id": cid, "redirect_uri": redirect,
                                          "response_type": "code token", "scope": "openid",
                                          "max_age": "-1", "prompt": "none login", "ui_locales": "\u202e"}}),
        ("GET", "/authorize", {"params": {"client_id": cid, "redirect_uri": redirect, "response_type": "code",
                                          "scope": "openid", "max_age": "9" * 40, "code_challenge": "x",
                                          "code_challenge_method": "S256"}}),
        ("GET", "/authorize", {"params": {"client_id": "x" * 5000}}),
        ("GET", "/authorize", {"params": {f"p{i}": "v" for i in range(300)}}),
        ("GET", "/authorize", {"params": {"client_id": cid, "redirect_uri": redirect, "response_type": "code",
                                          "scope": "openid", "request": "eyJ.eyJ.x"}}),
        ("POST", "/authorize", {"data": b"client_id=%ff", "headers": {
            "Content-Type": "application/x-www-form-urlencoded"}}),
        ("POST", "/token", {"json": {"grant_type": "authorization_code", "code": "x"}}),
        ("POST", "/token", {"data": {"grant_type": "authorization_code", "code": "x"}}),
        ("POST", "/token", {"data": {"grant_type": "password", "username": "a", "password": "b"},
                            "auth": (cid, portal["client_secret"])}),
        ("POST", "/token", {"data": {"grant_type": "authorization_code", "code": "tnc_" + "A" * 80,
                                     "redirect_uri": redirect, "code_verifier": "v" * 43},
                            "auth": (cid, portal["client_secret"])}),
        ("POST", "/token", {"data": {"grant_type": "refresh_token", "refresh_token": "\x00" * 10},
                            "auth": (cid, portal["client_secret"])}),
        ("POST", "/token", {"data": {"grant_type": "authorization_code"},
                            "headers": {"Authorization": "Basic !!!not-base64!!!"}}),
        ("POST", "/token", {"data": {"grant_type": "authorization_code"},
                            "headers": {"Authorization": "Basic " + base64.b64encode(b"nocolon").decode()}}),
        ("POST", "/token", {"data": b"grant_type=authorization_code&code=%ff",
                            "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
        ("POST", "/token", {"data": {"grant_type": "client_credentials", "scope": "openid"},
                            "auth": (cid, portal["client_secret"])}),
        ("POST", "/token", {"data": b"x=" + b"a" * 100_000,
                            "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
        ("POST", "/token", {"files": {f"f{i}": ("a.txt", b"x") for i in range(300)}}),
        ("PUT", "/token", {}),
        ("GET", "/userinfo", {"headers": {"Authorization": "Bearer"}}),
        ("GET", "/userinfo", {"headers": {"Authorization": "Bearer a b c"}}),
        ("GET", "/userinfo", {"headers": {"Authorization": "Bearer " + "A" * 8000}}),
        ("POST", "/userinfo", {"data": {"access_token": ["a", "b"]}}),
        ("POST", "/introspect", {"data": {"token": "x"}}),
        ("POST", "/introspect", {"data": {"token": "x"}, "auth": (cid, "wrong-secret")}),
        ("POST", "/introspect", {"data": {}, "auth": (cid, portal["client_secret"])}),
        ("POST", "/revoke", {"data": {"token": "x", "token_type_hint": "nonsense"},
                             "auth": (cid, portal["client_secret"])}),
        ("POST", "/revoke", {"data": {"token": ["a", "b"]}, "auth": (cid, portal["client_secret"])}),
        ("GET", "/logout", {"params": {"id_token_hint": "garbage"}}),
        ("GET", "/logout", {"params": {"id_token_hint": none_token}}),
        ("GET", "/logout", {"params": {"id_token_hint": "a.b.c", "post_logout_redirect_uri": "https://evil.example/"}}),
        ("GET", "/logout", {"params": {"client_id": cid, "post_logout_redirect_uri": "https://evil.example/"}}),
        ("GET", "/logout", {"params": {"client_id": "no-such-portal"}}),
        ("POST", "/logout/confirm", {"data": {"client_id": cid}}),
        ("GET", "/login", {"params": {"interaction": "garbage"}}),
        ("GET", "/login?interaction=%00", {}),
        ("POST", "/login", {"data": {"identifier": "x", "password": "y"}}),
        ("GET", "/consent", {}),
        ("GET", "/consent", {"params": {"interaction": "x" * 3000}}),
        ("POST", "/consent", {"data": {"decision": "allow", "interaction": "garbage"}}),
        ("GET", "/authorize/resume", {"params": {"interaction": "garbage"}}),
        ("GET", "/authorize/resume", {}),
        ("GET", "/", {"headers": {"Cookie": "tnid_session=" + "%" * 500, "Accept-Language": ";;;q=x,*"}}),
        ("GET", "/authorize", {"params": {"client_id": cid, "redirect_uri": redirect, "response_type": "code",
                                          "scope": "openid", "code_challenge": "c" * 43,
                                          "code_challenge_method": "S256"},
                               "headers": {"Cookie": "tnid_session=forged; tnid_csrf=forged"}}),
        ("GET", "/jwks.json", {"headers": {"If-None-Match": "W/\"\x7f\""}}),
        ("GET", "/.well-known/../../etc/passwd", {}),
        ("GET", "/static/..%2f..%2fidp%2fconfig.py", {}),
        ("GET", "/no-such-page", {}),
        ("DELETE", "/userinfo", {}),
    ]


def test_hostile_requests_never_cause_a_server_error(live_server, make_portal):
    portal = make_portal()
    failures = []
    for method, path, kwargs in hostile_requests(portal):
        with requests.Session() as session:
            try:
                response = session.request(method, live_server.url + path, timeout=TIMEOUT,
                                           allow_redirects=False, **kwargs)
            except requests.RequestException as exc:
                failures.append(f"{method} {path[:60]}: no answer ({exc.__class__.__name__})")
                continue
        if response.status_code >= 500:
            failures.append(f"{method} {path[:60]} {str(kwargs)[:100]} → {response.status_code}")
    assert failures == [], "\n".join(failures)
    assert requests.get(live_server.url + "/.well-known/openid-configuration", timeout=TIMEOUT).ok


@pytest.mark.parametrize("endpoint", ["/token", "/introspect", "/revoke"])
def test_basic_credentials_that_are_not_utf8_are_refused_not_a_server_error(live_server, endpoint):
    """RFC 6749 §2.3.1: client_id:client_secret is UTF-8; anything else is a failed authentication."""
    garbage = base64.b64encode(b"\xff\xfe:\xff").decode()
    response = requests.post(live_server.url + endpoint, timeout=TIMEOUT,
                             data={"grant_type": "authorization_code", "token": "x"},
                             headers={"Authorization": f"Basic {garbage}"})
    assert response.status_code in (400, 401), response.text
    assert response.json()["error"] in ("invalid_client", "invalid_request")
