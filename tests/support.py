"""Acting like a citizen's browser: follow the provider's pages from /authorize to the portal.

The same steps drive Flask's test client (tests/http) and a real HTTP session against a running
server (tests/e2e), so both suites read the same way.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def hidden_fields(html: str) -> dict[str, str]:
    return {name: value.replace("&amp;", "&") for name, value in _HIDDEN.findall(html)}


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class Page:
    status: int
    location: str | None
    text: str
    url: str


class FlaskBrowser:
    """A browser over Flask's test client (keeps cookies between requests)."""

    base = "http://127.0.0.1:5000"

    def __init__(self, test_client) -> None:
        self.client = test_client

    def _page(self, response, url) -> Page:
        return Page(response.status_code, response.headers.get("Location"),
                    response.get_data(as_text=True), url)

    def get(self, url: str, **params) -> Page:
        path = url.replace(self.base, "") if url.startswith(self.base) else url
        return self._page(self.client.get(path, query_string=params or None), url)

    def post(self, url: str, data: dict) -> Page:
        path = url.replace(self.base, "") if url.startswith(self.base) else url
        return self._page(self.client.post(path, data=data), url)


class HttpBrowser:
    """A browser over a real HTTP connection (requests), redirects followed by hand."""

    def __init__(self, session, base: str) -> None:
        self.session, self.base = session, base

    def _page(self, response) -> Page:
        return Page(response.status_code, response.headers.get("Location"), response.text, response.url)

    def get(self, url: str, **params) -> Page:
        url = urljoin(self.base + "/", url)
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        return self._page(self.session.get(url, allow_redirects=False, timeout=10))

    def post(self, url: str, data: dict) -> Page:
        return self._page(self.session.post(urljoin(self.base + "/", url), data=data,
                                            allow_redirects=False, timeout=10))


def follow(browser, page: Page, portal_prefix: str, limit: int = 10) -> Page:
    """Follow the provider's own redirects; stop at a page, or at a redirect to the portal."""
    for _ in range(limit):
        if page.status not in (301, 302, 303) or page.location.startswith(portal_prefix):
            return page
        page = browser.get(page.location)
    raise AssertionError("redirect loop")


def submit(browser, page: Page, action: str, **fields) -> Page:
    data = hidden_fields(page.text)
    data.update(fields)
    return browser.post(action, data)


def login(browser, authorize_params: dict, identifier: str, password: str, *,
          decision: str | None = "allow", portal_prefix: str = "https://portal.example") -> Page:
    """/authorize → login form → consent → the redirect to the portal (or the last page seen)."""
    page = follow(browser, browser.get("/authorize", **without_private(authorize_params)), portal_prefix)
    if 'name="password"' in page.text:
        page = follow(browser, submit(browser, page, "/login", identifier=identifier, password=password),
                      portal_prefix)
    if 'name="decision"' in page.text and decision is not None:
        page = follow(browser, submit(browser, page, "/consent", decision=decision), portal_prefix)
    return page


def authorize_params(portal: dict, **extra) -> dict:
    """A valid authorization request for ``portal``, with PKCE; the verifier is in ``_verifier``."""
    verifier, challenge = pkce_pair()
    params = {"client_id": portal["client_id"], "redirect_uri": portal["redirect_uri"],
              "response_type": "code", "scope": "openid profile email", "state": secrets.token_urlsafe(8),
              "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
              "code_challenge_method": "S256"}
    params.update(extra)
    params = {k: v for k, v in params.items() if v is not None}
    params["_verifier"] = verifier
    return params


def without_private(params: dict) -> dict:
    return {k: v for k, v in params.items() if not k.startswith("_")}


class JsonDocumentServer:
    """A portal's own web server on loopback serving one JSON ``document`` at ``path`` (its JWKS, a
    sector identifier list); ``document`` may be replaced, ``fetches`` counts the GETs."""

    def __init__(self, document, path: str) -> None:
        self.document = document
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.fetches += 1
                body = json.dumps(owner.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
