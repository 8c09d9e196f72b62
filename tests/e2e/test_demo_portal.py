"""The demo portal (examples/demo_portal), which knows the provider only through discovery,
logs a citizen in and out against the real production server."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from werkzeug.serving import make_server

from examples.demo_portal import create_app as create_portal_app
from tests.e2e.environment import free_port
from tests.support import HttpBrowser, follow, hidden_fields, query_of, submit

TIMEOUT = 10
_LOGOUT_FORM = re.compile(r'<form[^>]*method="post"[^>]*action="([^"]*logout[^"]*)"[^>]*>(.*?)</form>', re.S)


@dataclass
class Portal:
    url: str
    client: dict


@pytest.fixture
def demo_portal(live_server, make_portal) -> Iterator[Portal]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    client = make_portal(name="Cổng dịch vụ công (demo e2e)", redirect_uris=[f"{url}/callback"],
                         post_logout_redirect_uris=[f"{url}/"])
    app = create_portal_app({
        "DEMO_ISSUER": live_server.issuer,
        "DEMO_CLIENT_ID": client["client_id"],
        "DEMO_CLIENT_SECRET": client["client_secret"],
        "DEMO_PORTAL_URL": url,
        "DEMO_SECRET_KEY": "demo-portal-e2e-secret",
    })
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="demo-portal", daemon=True)
    thread.start()
    try:
        yield Portal(url=url, client=client)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def test_demo_portal_login_and_logout(live_server, demo_portal, make_citizen, http):
    citizen = make_citizen(full_name="Hoàng Thị Thu Hà", gender="female")
    provider = HttpBrowser(http, live_server.url)

    # The portal's home page invites the citizen to log in.
    home = http.get(demo_portal.url + "/", timeout=TIMEOUT)
    assert home.status_code == 200
    assert 'href="/login"' in home.text

    # /login sends the browser to the provider's authorization endpoint, found by discovery.
    start = http.get(demo_portal.url + "/login", allow_redirects=False, timeout=TIMEOUT)
    assert start.status_code == 302, start.text[:500]
    authorize_url = start.headers["Location"]
    assert authorize_url.startswith(live_server.discovery()["authorization_endpoint"] + "?")
    request = query_of(authorize_url)
    assert request["client_id"] == demo_portal.client["client_id"]
    assert request["redirect_uri"] == demo_portal.url + "/callback"
    assert request["code_challenge_method"] == "S256" and request["nonce"] and request["state"]

    # The citizen logs in and consents at the provider.
    page = follow(provider, provider.get(authorize_url), demo_portal.url)
    assert 'name="password"' in page.text, page.text[:500]
    page = follow(provider, submit(provider, page, "/login", identifier=citizen["citizen_id"],
                                   password=citizen["password"]), demo_portal.url)
    assert 'name="decision"' in page.text, page.text[:500]
    page = follow(provider, submit(provider, page, "/consent", decision="allow"), demo_portal.url)
    assert page.status == 302 and page.location.startswith(demo_portal.url + "/callback?"), page.text[:500]
    answer = query_of(page.location)
    assert answer["state"] == request["state"] and answer["iss"] == live_server.issuer
    provider_cookie = http.cookies.get("tnid_session")
    assert provider_cookie

    # Back at the portal: the code is exchanged, the ID token checked, userinfo fetched.
    landed = http.get(page.location, timeout=TIMEOUT)
    assert landed.status_code == 200, landed.text[:1000]
    assert landed.url.rstrip("/") == demo_portal.url
    text = html.unescape(landed.text)
    assert f"Xin chào, {citizen['full_name']}" in text
    assert citizen["subject"] in text
    assert citizen["email"] in text
    assert citizen["phone"] in text
    assert live_server.issuer in text
    assert "Không lấy được thông tin từ userinfo" not in text  # userinfo worked
    assert citizen["citizen_id"] not in text  # never released to a portal without the scope

    # The portal's logout form (with its CSRF token) starts RP-initiated logout at the provider.
    form = _LOGOUT_FORM.search(landed.text)
    assert form, "no logout form on the portal page"
    fields = hidden_fields(form.group(2))
    assert fields.get("csrf_token")
    bye = http.post(demo_portal.url + html.unescape(form.group(1)), data=fields, allow_redirects=False,
                    timeout=TIMEOUT)
    assert bye.status_code == 302, bye.text[:500]
    end_session = bye.headers["Location"]
    assert end_session.startswith(live_server.discovery()["end_session_endpoint"] + "?")
    logout_request = query_of(end_session)
    assert logout_request["post_logout_redirect_uri"] == demo_portal.url + "/"
    assert logout_request["id_token_hint"]

    # The provider ends its session (the hint matches it) and sends the browser back.
    ended = http.get(end_session, allow_redirects=False, timeout=TIMEOUT)
    assert ended.status_code == 302, ended.text[:500]
    back = ended.headers["Location"]
    assert back.startswith(demo_portal.url + "/?")
    assert query_of(back)["state"] == logout_request["state"]
    assert not http.cookies.get("tnid_session")

    final = http.get(back, timeout=TIMEOUT)
    assert final.status_code == 200
    assert final.url.rstrip("/") == demo_portal.url
    assert "Bạn đã đăng xuất." in final.text
    assert 'href="/login"' in final.text
    assert citizen["full_name"] not in final.text

    # The provider's session is over on the server too: its old cookie no longer logs anyone in.
    with requests.Session() as replay:
        replay.cookies.set("tnid_session", provider_cookie, domain="127.0.0.1", path="/")
        again = HttpBrowser(replay, live_server.url)
        start = http.get(demo_portal.url + "/login", allow_redirects=False, timeout=TIMEOUT)
        page = follow(again, again.get(start.headers["Location"]), demo_portal.url)
        assert page.status == 200 and 'name="password"' in page.text
