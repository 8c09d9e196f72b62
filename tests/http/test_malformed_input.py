"""Hostile and broken requests: a clear 4xx, never a 500, never a traceback, nothing written."""

from __future__ import annotations

import base64
import string
from urllib.parse import quote_from_bytes, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from idp.extensions import db
from idp.models import AuthorizationCode, BrowserSession, Consent, Interaction, Token
from tests.support import FlaskBrowser, authorize_params, hidden_fields, login, query_of

FORM = "application/x-www-form-urlencoded"
LIMIT = 64 * 1024
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/', "sqlalchemy.exc", "psycopg.",
                     "werkzeug.exceptions", "Error: ")


# --- helpers --------------------------------------------------------------------------------
def basic(portal: dict) -> dict:
    raw = f"{portal['client_id']}:{portal['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def assert_clean_refusal(response, status: int = 400) -> str:
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:500]
    assert "Location" not in response.headers
    for marker in TRACEBACK_MARKERS:
        assert marker not in body
    return body


def csrf_token(client) -> str:
    return hidden_fields(client.get("/login").get_data(as_text=True))["csrf_token"]


def issue_tokens(client, make_citizen, make_portal) -> dict:
    """A portal with live tokens (so the token table has rows to protect)."""
    citizen, portal = make_citizen(), make_portal()
    params = authorize_params(portal, scope="openid profile offline_access")
    page = login(FlaskBrowser(client), params, citizen["citizen_id"], citizen["password"])
    response = client.post("/token", headers=basic(portal), data={
        "grant_type": "authorization_code", "code": query_of(page.location)["code"],
        "redirect_uri": portal["redirect_uri"], "code_verifier": params["_verifier"]})
    assert response.status_code == 200, response.get_json()
    return {"portal": portal, "citizen": citizen, **response.get_json()}


# --- bad UTF-8 ------------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["client_id=%ff", "client_id=abc&scope=openid%c3%28",
                                   "state=%ed%a0%80", "%ff=x", "client_id=%c0%af"])
def test_bad_utf8_in_authorize_query_is_a_400_saying_so(client, query):
    body = assert_clean_refusal(client.get("/authorize?" + query))

    assert "UTF-8" in body


def test_bad_utf8_in_authorize_query_is_refused_even_with_a_valid_client(client, make_portal):
    portal = make_portal()
    query = urlencode({"client_id": portal["client_id"], "redirect_uri": portal["redirect_uri"],
                       "response_type": "code", "scope": "openid"}) + "&state=%ff%fe"

    body = assert_clean_refusal(client.get("/authorize?" + query))

    assert "UTF-8" in body


@pytest.mark.parametrize("body", [b"grant_type=authorization_code&code=%ff",
                                  b"grant_type=client_credentials&scope=%e9",
                                  b"grant_type=authorization_code&code=\xff\xfe"])
def test_bad_utf8_in_token_form_body_is_a_400_json_saying_so(client, make_portal, app, body):
    portal = make_portal()
    before = count(app, Token)

    response = client.post("/token", data=body, content_type=FORM, headers=basic(portal))

    assert_clean_refusal(response)
    assert response.get_json()["error"] == "invalid_request"
    assert "UTF-8" in response.get_json()["error_description"]
    assert count(app, Token) == before


@pytest.mark.parametrize("path", ["/revoke", "/introspect"])
def test_bad_utf8_in_revoke_and_introspect_bodies_is_a_400_json(client, make_portal, path):
    portal = make_portal()

    response = client.post(path, data=b"token=%ff%ff", content_type=FORM, headers=basic(portal))

    assert_clean_refusal(response)
    assert "UTF-8" in response.get_json()["error_description"]


def test_bad_utf8_in_login_form_is_a_400_saying_so_and_logs_nobody_in(client, make_citizen, app):
    citizen = make_citizen()
    token = csrf_token(client)
    body = urlencode({"csrf_token": token, "password": citizen["password"]}) + "&identifier=%ff" + \
        quote_from_bytes(citizen["citizen_id"].encode())

    response = client.post("/login", data=body.encode(), content_type=FORM)

    assert "UTF-8" in assert_clean_refusal(response)
    assert count(app, BrowserSession) == 0


def test_bad_utf8_in_logout_query_is_a_400(client):
    assert "UTF-8" in assert_clean_refusal(client.get("/logout?id_token_hint=%ff"))


# --- sizes, paths, methods --------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/token", "/revoke", "/introspect", "/userinfo", "/login", "/authorize",
                                  "/logout", "/consent", "/logout/confirm"])
def test_body_over_64_kib_is_a_413(client, path):
    body = b"state=" + b"a" * (LIMIT + 1)

    response = client.post(path, data=body, content_type=FORM)

    assert_clean_refusal(response, 413)


def test_body_over_64_kib_is_a_413_whatever_its_type(client):
    response = client.post("/token", data=b"{" + b" " * (LIMIT + 10) + b"}", content_type="application/json")

    assert_clean_refusal(response, 413)


def test_body_just_under_the_limit_is_not_a_413(client):
    body = b"grant_type=client_credentials&pad=" + b"a" * (LIMIT - 100)

    response = client.post("/token", data=body, content_type=FORM)

    assert response.status_code != 413 and response.status_code < 500


@pytest.mark.parametrize("path", ["/token", "/authorize", "/logout"])
def test_too_many_form_fields_is_refused_cleanly(client, path):
    body = "&".join(f"f{i}=v" for i in range(500)).encode()

    response = client.post(path, data=body, content_type=FORM)

    assert_clean_refusal(response)


@pytest.mark.parametrize("path", ["/nope", "/authorize/nope", "/static/../idp/config.py", "/.env",
                                  "/admin", "/login/", "/%ff"])
def test_unknown_path_is_a_404_page(client, path):
    response = client.get(path)

    body = assert_clean_refusal(response, 404)
    assert response.mimetype == "text/html"
    assert "Không tìm thấy trang này." in body


def test_unknown_api_path_is_a_404_json(client):
    response = client.get("/.well-known/not-here")

    assert_clean_refusal(response, 404)
    assert response.get_json()["error"] == "not_found"


@pytest.mark.parametrize("method, path", [
    ("GET", "/token"), ("PUT", "/token"), ("GET", "/revoke"), ("GET", "/introspect"),
    ("PUT", "/authorize"), ("DELETE", "/authorize"), ("DELETE", "/login"), ("PATCH", "/consent"),
    ("GET", "/logout/confirm"), ("DELETE", "/userinfo"), ("POST", "/jwks.json"),
    ("POST", "/.well-known/openid-configuration"), ("PUT", "/logout"),
])
def test_wrong_method_is_a_405(client, method, path):
    response = client.open(path, method=method)

    assert_clean_refusal(response, 405)


@pytest.mark.parametrize("method, path, allowed", [
    ("GET", "/token", {"POST"}),
    ("PUT", "/authorize", {"GET", "POST"}),
    ("DELETE", "/login", {"GET", "POST"}),
])
def test_405_names_the_allowed_methods_in_allow_header(client, method, path, allowed):
    response = client.open(path, method=method)

    assert response.status_code == 405
    # RFC 9110 §15.5.6: the origin server MUST generate an Allow header in a 405 response.
    assert allowed <= {m.strip() for m in response.headers.get("Allow", "").split(",")}


# --- NUL characters -------------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["client_id=abc%00def", "client_id=%00", "scope=openid%00"])
def test_nul_in_authorize_parameter_is_a_400_page(client, query):
    assert_clean_refusal(client.get("/authorize?" + query))


def test_nul_in_a_valid_request_is_refused_with_a_page_not_a_redirect(client, make_portal):
    portal = make_portal()
    params = {k: v for k, v in authorize_params(portal).items() if not k.startswith("_")}
    params["state"] = "abc\x00def"

    body = assert_clean_refusal(client.get("/authorize", query_string=params))

    assert "NUL" in body


@pytest.mark.parametrize("path", ["/login", "/consent", "/authorize/resume"])
def test_nul_in_interaction_id_is_a_400_page(client, path):
    assert_clean_refusal(client.get(path + "?interaction=abc%00def"))


@pytest.mark.parametrize("template", ["{phone}\x00", "\x00{phone}", "{email}\x00", "{cccd}\x00", "\x00"])
def test_nul_in_login_identifier_is_refused_not_stripped(client, make_citizen, app, template):
    citizen = make_citizen(phone="+84912345678")
    identifier = template.format(phone="0912345678", email=citizen["email"], cccd=citizen["citizen_id"])
    token = csrf_token(client)

    response = client.post("/login", data={"csrf_token": token, "identifier": identifier,
                                           "password": citizen["password"]})

    # The right password with a NUL-spliced identifier is still not that citizen's identifier.
    assert response.status_code in (400, 401), response.status_code
    assert count(app, BrowserSession) == 0


@pytest.mark.parametrize("path", ["/token", "/revoke", "/introspect"])
@pytest.mark.parametrize("authorization", [
    "Basic /w==",  # base64 of a byte that is not UTF-8
    "Basic " + base64.b64encode(b"\xff:\xfe").decode(),
    "Basic \xa0",  # obs-text after the scheme: a server keeps it, str.split() eats it
])
def test_malformed_basic_credentials_are_a_401_not_a_server_error(client, make_portal, path, authorization):
    make_portal()
    data = {"grant_type": "client_credentials", "token": "tnid_at_x"}

    response = client.post(path, data=data, headers={"Authorization": authorization})

    assert response.status_code in (400, 401), response.get_data(as_text=True)
    assert response.get_json()["error"] in ("invalid_client", "invalid_request")


def test_nul_in_password_does_not_log_in(client, make_citizen, app):
    citizen = make_citizen()
    token = csrf_token(client)

    response = client.post("/login", data={"csrf_token": token, "identifier": citizen["citizen_id"],
                                           "password": citizen["password"] + "\x00"})

    assert response.status_code == 401
    assert count(app, BrowserSession) == 0


@pytest.mark.parametrize("field", ["code", "redirect_uri", "code_verifier", "client_id"])
def test_nul_in_token_request_is_a_4xx_json_and_issues_nothing(client, make_portal, app, field):
    portal = make_portal()
    data = {"grant_type": "authorization_code", "code": "tnid_ac_x", "redirect_uri": portal["redirect_uri"],
            "code_verifier": "v" * 50, "client_id": portal["client_id"]}
    data[field] += "\x00"

    response = client.post("/token", data=data, headers=basic(portal))

    assert 400 <= response.status_code < 500
    assert "error" in response.get_json()
    assert count(app, Token) == 0


@pytest.mark.parametrize("path", ["/revoke", "/introspect"])
def test_nul_in_token_to_revoke_or_introspect_is_harmless(client, make_citizen, make_portal, app, path):
    issued = issue_tokens(client, make_citizen, make_portal)

    response = client.post(path, data={"token": issued["access_token"] + "\x00"},
                           headers=basic(issued["portal"]))

    assert response.status_code < 500
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {issued['access_token']}"})
    assert info.status_code == 200


def test_nul_in_id_token_hint_is_a_400(client):
    assert_clean_refusal(client.get("/logout?id_token_hint=abc%00def"))


def test_nul_in_client_id_at_logout_is_a_400(client):
    assert_clean_refusal(client.get("/logout?client_id=abc%00&post_logout_redirect_uri=https://x.example/"))


# --- property: nothing a browser or client can send makes the provider fall over --------------------
ENDPOINTS = [
    ("GET", "/authorize"), ("POST", "/authorize"),
    ("GET", "/token"), ("POST", "/token"),
    ("GET", "/userinfo"), ("POST", "/userinfo"),
    ("GET", "/introspect"), ("POST", "/introspect"),
    ("GET", "/revoke"), ("POST", "/revoke"),
    ("GET", "/logout"), ("POST", "/logout"),
    ("GET", "/login"), ("POST", "/login"),
]
TOKEN_ENDPOINTS = ("/token", "/revoke", "/introspect")
PARAM_NAMES = [
    "client_id", "redirect_uri", "response_type", "response_mode", "scope", "state", "nonce",
    "code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint", "ui_locales",
    "id_token_hint", "request", "request_uri", "claims", "grant_type", "code", "code_verifier",
    "refresh_token", "token", "token_type_hint", "client_secret", "client_assertion", "access_token",
    "post_logout_redirect_uri", "interaction", "identifier", "password", "csrf_token", "decision", "lang",
]
HOSTILE = [
    "", " ", "\x00", "%00", "%ff", "\r\n", "'; DROP TABLE tokens; --", "<script>alert(1)</script>",
    "../../etc/passwd", "https://evil.example/", "javascript:alert(1)", "openid", "openid openid",
    "none", "login", "0", "-1", "99999999999999999999", "1e309", "NaN", "code", "S256", "plain",
    "authorization_code", "refresh_token", "client_credentials", "tnid_at_", "tnid_rt_", "tnid_ac_x",
    "tnid_ss_x", "a" * 3000, "ü" * 600, "😀" * 100, "\u202e", "\ufeff", "\\", '"', "{}", "[]",
    "eyJhbGciOiJub25lIn0.e30.", "aaa.bbb.ccc", "a@b", "0912345678", "+84912345678", "%",
]

text_values = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=80),
                        st.text(alphabet=string.printable, max_size=300))
names = st.one_of(st.sampled_from(PARAM_NAMES), st.text(min_size=1, max_size=20))
pairs = st.lists(st.tuples(names, text_values), max_size=12)
# Repeat some of the pairs, so repeated parameters are common rather than rare.
repeated_pairs = pairs.flatmap(lambda ps: st.just(ps + ps[: len(ps) // 2]))
raw_bytes = st.binary(max_size=400)


@st.composite
def requests(draw, real: dict):
    """(query bytes, body bytes, content type, headers) – readable, repeated, or binary junk."""
    kind = draw(st.sampled_from(["pairs", "repeated", "binary", "real-client"]))
    if kind == "binary":
        query = quote_from_bytes(draw(raw_bytes), safe="=&").encode() if draw(st.booleans()) else b""
        body = draw(raw_bytes)
    else:
        ps = draw(repeated_pairs if kind == "repeated" else pairs)
        if kind == "real-client":  # get past the client check, so the deeper checks are exercised
            ps = [("client_id", real["client_id"]), ("redirect_uri", real["redirect_uri"]),
                  ("response_type", "code"), *ps]
        if draw(st.booleans()):
            ps = [*ps, ("csrf_token", real["csrf_token"])]
        encoded = urlencode(ps).encode()
        query, body = (encoded, b"") if draw(st.booleans()) else (b"", encoded)
    content_type = draw(st.sampled_from([FORM, FORM, "application/json", "multipart/form-data",
                                         "text/plain", "application/x-www-form-urlencoded; charset=latin1"]))
    headers = {}
    auth = draw(st.sampled_from(["none", "basic-real", "basic-garbage", "bearer-junk", "bearer-real",
                                 "text"]))
    if auth == "basic-real":
        headers["Authorization"] = real["basic"]
    elif auth == "basic-garbage":
        raw = draw(st.binary(max_size=60))
        headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
    elif auth == "bearer-junk":
        headers["Authorization"] = "Bearer " + draw(st.text(alphabet=string.printable.strip(), max_size=80))
    elif auth == "bearer-real":
        headers["Authorization"] = "Bearer " + real["access_token"]
    elif auth == "text":
        headers["Authorization"] = draw(st.text(alphabet=string.ascii_letters + " :=", max_size=40))
    if draw(st.booleans()):
        headers["Accept-Language"] = draw(st.text(alphabet=string.ascii_letters + "-,;=.* ", max_size=40))
    return query, body, content_type, headers


@pytest.mark.parametrize("method, path", ENDPOINTS, ids=[f"{m} {p}" for m, p in ENDPOINTS])
def test_hostile_requests_never_cause_a_server_error(client, make_citizen, make_portal, app, method, path):
    issued = issue_tokens(client, make_citizen, make_portal)
    real = {"client_id": issued["portal"]["client_id"], "redirect_uri": issued["portal"]["redirect_uri"],
            "basic": basic(issued["portal"])["Authorization"], "access_token": issued["access_token"],
            "csrf_token": csrf_token(client)}

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(request=requests(real))
    def hostile(request):
        query, body, content_type, headers = request
        tokens_before = count(app, Token)
        url = path + ("?" + query.decode("ascii") if query else "")
        kwargs = {"headers": headers}
        if method == "POST":
            kwargs.update(data=body, content_type=content_type)

        response = client.open(url, method=method, **kwargs)

        text = response.get_data(as_text=True)
        assert response.status_code < 500, (response.status_code, text[:300])
        for marker in ("Traceback (most recent call last)", 'File "/'):
            assert marker not in text
        if path in TOKEN_ENDPOINTS:
            assert count(app, Token) == tokens_before

    hostile()


def test_hostile_requests_leave_no_session_consent_or_code_behind(client, make_portal, app):
    """A sample of the property above, checked against every table a browser could write to."""
    portal = make_portal()
    token = csrf_token(client)
    for value in HOSTILE:
        client.get("/authorize", query_string={"client_id": portal["client_id"], "scope": value})
        client.post("/login", data={"csrf_token": token, "identifier": value, "password": value or "x"})
        client.post("/consent", data={"csrf_token": token, "interaction": value, "decision": "allow"})

    assert count(app, BrowserSession) == 0 and count(app, Consent) == 0
    assert count(app, AuthorizationCode) == 0 and count(app, Interaction) == 0
