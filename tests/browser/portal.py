"""A small relying party of our own, served on a loopback port, that the browser tests log in to.

It is a real portal as far as the provider can tell: it knows the provider only by discovery,
sends the browser to /authorize with PKCE, a nonce and (when asked) ``acr_values``, exchanges the
code with its secret, verifies the ID token against the JWKS, and keeps the tokens. Its
``/profile`` page calls userinfo with the access token it holds, so a test *sees* in the browser
whether the provider still honours that token. The tests read ``Portal.last`` for the verified
ID-token claims.
"""

from __future__ import annotations

import html
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode

import requests
from joserfc import jwt
from joserfc.jwk import KeySet
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.e2e.environment import free_port
from tests.support import pkce_pair

TIMEOUT = 10


@dataclass
class SignIn:
    """What the portal learnt from one completed login."""

    tokens: dict
    claims: dict


@dataclass
class Portal:
    url: str
    issuer: str
    client_id: str
    client_secret: str
    scope: str = "openid profile email offline_access"
    last: SignIn | None = None
    last_error: dict | None = None
    _pending: dict = field(default_factory=dict, repr=False)

    @property
    def redirect_uri(self) -> str:
        return self.url + "/callback"

    def start_url(self, **extra: str) -> str:
        """The portal's own "log in" link; ``extra`` goes into the authorization request."""
        return self.url + "/start?" + urlencode(extra)

    # --- the provider, as a portal sees it ---------------------------------------------------
    def _discovery(self) -> dict:
        response = requests.get(self.issuer + "/.well-known/openid-configuration", timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def _start(self, request: Request) -> Response:
        verifier, challenge = pkce_pair()
        state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        self._pending[state] = {"verifier": verifier, "nonce": nonce}
        params = {"client_id": self.client_id, "redirect_uri": self.redirect_uri, "response_type": "code",
                  "scope": request.args.get("scope", self.scope),
                  "state": state, "nonce": nonce, "code_challenge": challenge,
                  "code_challenge_method": "S256"}
        params.update({k: v for k, v in request.args.items() if k not in params})
        location = self._discovery()["authorization_endpoint"] + "?" + urlencode(params)
        return Response(status=302, headers={"Location": location})

    def _callback(self, request: Request) -> Response:
        answer = request.values  # the query, or the form of response_mode=form_post
        pending = self._pending.pop(answer.get("state", ""), None)
        if pending is None:
            return _page("Lỗi", "<p id='error'>unknown state</p>", 400)
        if "error" in answer:
            self.last_error = dict(answer)
            return _page("Lỗi", f"<p id='error'>{html.escape(answer['error'])}</p>", 200)
        discovery = self._discovery()
        exchanged = requests.post(discovery["token_endpoint"], timeout=TIMEOUT,
                                  auth=(self.client_id, self.client_secret),
                                  data={"grant_type": "authorization_code", "code": answer["code"],
                                        "redirect_uri": self.redirect_uri,
                                        "code_verifier": pending["verifier"]})
        if exchanged.status_code != 200:
            return _page("Lỗi", f"<p id='error'>token endpoint: {exchanged.status_code}</p>", 502)
        tokens = exchanged.json()
        keys = KeySet.import_key_set(requests.get(discovery["jwks_uri"], timeout=TIMEOUT).json())
        token = jwt.decode(tokens["id_token"], keys,
                           algorithms=discovery["id_token_signing_alg_values_supported"])
        claims = token.claims
        if (claims["iss"] != self.issuer or claims["aud"] != self.client_id
                or claims["nonce"] != pending["nonce"]):
            return _page("Lỗi", "<p id='error'>ID token does not match this request</p>", 502)
        self.last = SignIn(tokens=tokens, claims=claims)
        body = (f"<p id='signed-in'>{html.escape(claims['sub'])}</p>"
                f"<p id='acr'>{html.escape(str(claims.get('acr')))}</p>"
                "<p><a href='/profile'>profile</a></p>")
        return _page("Đã đăng nhập", body)

    def _profile(self, _request: Request) -> Response:
        """Uses the access token the portal holds: the citizen sees whether it still works."""
        if self.last is None:
            return _page("Chưa đăng nhập", "<p id='error'>not signed in</p>", 401)
        discovery = self._discovery()
        answer = requests.get(discovery["userinfo_endpoint"], timeout=TIMEOUT,
                              headers={"Authorization": "Bearer " + self.last.tokens["access_token"]})
        if answer.status_code == 200:
            return _page("Hồ sơ", f"<p id='userinfo'>{html.escape(answer.json().get('name', ''))}</p>")
        return _page("Hồ sơ", f"<p id='rejected'>userinfo {answer.status_code}</p>")

    def __call__(self, environ, start_response):
        request = Request(environ)
        routes = {"/start": self._start, "/callback": self._callback, "/profile": self._profile}
        handler = routes.get(request.path)
        response = handler(request) if handler else _page("Not found", "", 404)
        return response(environ, start_response)


def _page(title: str, body: str, status: int = 200) -> Response:
    return Response(f"<!doctype html><html lang='vi'><title>{title}</title><h1>{title}</h1>{body}",
                    status=status, mimetype="text/html")


@contextmanager
def serve_portal(issuer: str, register, **options) -> Iterator[Portal]:
    """Register a portal with ``register(redirect_uri) -> (client_id, secret)`` and serve it;
    ``options`` set Portal fields (``scope``)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    client_id, secret = register(url + "/callback")
    portal = Portal(url=url, issuer=issuer, client_id=client_id, client_secret=secret, **options)
    server = make_server("127.0.0.1", port, portal, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-portal", daemon=True)
    thread.start()
    try:
        yield portal
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
