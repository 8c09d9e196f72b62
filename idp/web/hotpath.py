"""The token endpoint's client_credentials grant, introspection and userinfo answered before
Flask, when the request is the ordinary valid one (idp/oauth/hotpath.py decides).

Flask's request machinery, Authlib's plumbing and the ORM cost five times what these requests
need (bench/RESULTS.md, "what each change bought"). Everything the full path gives a response is
given here too: the per-IP token limit, the request id, the security and no-store headers, the
metrics, the audit rows. Any request this layer does not fully recognise (a query string, another
content type, a repeated or unknown parameter, credentials it cannot read, a database error…) is
passed on untouched, its body put back, to the full endpoint, which answers it as before.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, unquote

from limits import parse_many

from .. import lean
from ..metrics import LATENCY, REQUESTS, series
from ..oauth import hotpath
from ..security.headers import CSP

log = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"
MAX_BODY = 64 * 1024  # MAX_CONTENT_LENGTH of the app
COUNTED = "idp.hotpath.rate_limit_counted"  # environ key: the token limit already counted this request
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f]")
_STATUS = {200: "200 OK"}
# client_credentials bodies, parsed: a portal sends the same bytes every time, and they hold no
# secret (grant_type and scope only). Bounded: other bodies are parsed every time.
_CC_FORMS: dict[bytes, dict[str, str]] = {}
_CC_FORMS_MAX = 256


class HotPath:
    def __init__(self, app, database: lean.LeanDatabase, settings, limiter) -> None:
        self.app = app  # its app context, for the signing keys of a refresh
        self.wsgi_app = app.wsgi_app
        self.database = database
        self.clients = hotpath.ClientCache()  # the token endpoint's portals (hotpath.ClientCache)
        self.settings = settings
        self.limiter = limiter if settings.ratelimit_enabled else None
        self.token_limits = sorted(parse_many(settings.ratelimit_token))
        self.key_prefix = settings.ratelimit_prefix
        self.routes: dict[tuple[str, str], Callable] = {
            ("POST", "/token"): self.token,
            ("POST", "/introspect"): self.introspect,
            ("GET", "/userinfo"): self.userinfo,
        }
        self.security = [
            ("Content-Security-Policy", CSP),
            ("X-Frame-Options", "DENY"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("Cache-Control", "no-store"),
            ("Pragma", "no-cache"),
        ]
        if settings.https:
            self.security.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
        handler = self.routes.get((method, path))
        if handler is None or environ.get("QUERY_STRING") or "HTTP_DPOP" in environ:
            # A DPoP proof is checked by the full endpoint (idp/oauth/dpop.py).
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        given = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = given if _SANE_REQUEST_ID.match(given) else secrets.token_hex(16)
        try:
            answer = handler(environ, request_id)
        except Exception as exc:  # the full endpoint answers (or reports) it; nothing was kept
            log.warning("hot path passed %s %s on after %s", method, path, exc.__class__.__name__)
            answer = None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        body = hotpath.dumps(answer)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        if answer.userinfo:
            headers.append(("Access-Control-Allow-Origin", "*"))
        headers += self.security
        headers.append(("X-Request-ID", request_id))
        start_response(_STATUS[answer.status], headers)
        self._observe(path, method, answer.status, time.perf_counter() - started)
        return [body]

    # --- the endpoints -------------------------------------------------------------------------
    def token(self, environ: dict, request_id: str) -> hotpath.Answer | None:
        form = _form(environ)
        if form is None:
            return None
        grant_type = form.get("grant_type")
        if grant_type == "client_credentials":
            if form.keys() - {"grant_type", "scope"}:
                return None
        elif grant_type == "refresh_token":
            if "refresh_token" not in form or form.keys() - {"grant_type", "refresh_token", "scope"}:
                return None
        elif grant_type == "authorization_code":
            if "code" not in form or form.keys() - {"grant_type", "code", "redirect_uri", "code_verifier"}:
                return None
        else:
            return None
        credentials = _basic(environ)
        if credentials is None or not self._within_token_limit(environ):
            return None
        with self.database.connect() as conn, lean.serving(self._request(conn, environ, request_id)):
            if grant_type == "client_credentials":
                return hotpath.client_credentials(
                    conn, self.settings, self.clients, *credentials, form.get("scope")
                )
            with self.app.app_context():
                if grant_type == "authorization_code":
                    return hotpath.code_exchange(conn, self.settings, self.clients, *credentials, form)
                return hotpath.refresh(
                    conn, self.settings, self.clients, *credentials, form["refresh_token"], form.get("scope")
                )

    def introspect(self, environ: dict, request_id: str) -> hotpath.Answer | None:
        form = _form(environ)
        if form is None or "token" not in form or form.keys() - {"token", "token_type_hint"}:
            return None
        credentials = _basic(environ)
        if credentials is None or not self._within_token_limit(environ):
            return None
        with self.database.connect() as conn:
            return hotpath.introspection(
                conn, self.settings, *credentials, form["token"], form.get("token_type_hint")
            )

    def userinfo(self, environ: dict, request_id: str) -> hotpath.Answer | None:
        scheme, _, value = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            return None
        with self.database.connect() as conn, lean.serving(self._request(conn, environ, request_id)):
            return hotpath.userinfo(conn, value)

    # --- what every answer carries ---------------------------------------------------------------
    def _request(self, conn: lean.LeanConnection, environ: dict, request_id: str) -> lean.LeanRequest:
        agent = environ.get("HTTP_USER_AGENT", "")[:300] or None
        actor = "citizen" if environ.get("PATH_INFO") == "/userinfo" else "portal"
        return lean.LeanRequest(conn, environ.get("REMOTE_ADDR"), agent, request_id, actor)

    def _within_token_limit(self, environ: dict) -> bool:
        """The token endpoints' shared per-IP limit, counted in the limiter's own storage under the
        key Flask-Limiter uses. A request refused here goes on to Flask uncounted, where the limit
        refuses it with the usual 429; one counted here and then passed on is marked, and Flask's
        limit exempts it (ratelimit.py), so no request is counted twice."""
        if self.limiter is None:
            return True
        ip = environ.get("REMOTE_ADDR")
        if not ip:
            return False
        args = [self.key_prefix, ip, "token"] if self.key_prefix else [ip, "token"]
        strategy = self.limiter.limiter
        if not all(strategy.test(item, *args) for item in self.token_limits):
            return False
        for item in self.token_limits:
            if not strategy.hit(item, *args):
                return False
        environ[COUNTED] = True
        return True

    def _observe(self, path: str, method: str, status: int, seconds: float) -> None:
        # The same series as metrics.observe (endpoint = the route's rule).
        series(REQUESTS, path, method, str(status)).inc()
        series(LATENCY, path).observe(seconds)


def _form(environ: dict) -> dict[str, str] | None:
    """The form body if it is one the full path would read the same way: form-encoded, under the
    size limit, valid UTF-8 (params.check_encoding), at most 100 fields, no name twice. The body is
    put back for the full path in every case."""
    if environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower() != FORM:
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < length <= MAX_BODY:
        return None
    raw = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(raw)
    if len(raw) != length:
        return None
    known = _CC_FORMS.get(raw)
    if known is not None:
        return dict(known)
    try:
        pairs = parse_qsl(
            raw.decode("ascii", "strict"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=100,
        )
    except ValueError:  # UnicodeDecodeError included
        return None
    form = dict(pairs)
    if len(form) != len(pairs):
        return None
    cacheable = form.get("grant_type") == "client_credentials" and form.keys() <= {"grant_type", "scope"}
    if cacheable and len(_CC_FORMS) < _CC_FORMS_MAX:
        _CC_FORMS[raw] = dict(form)
    return form


def _basic(environ: dict) -> tuple[str, str] | None:
    """(client_id, secret) from RFC 7617 Basic credentials, each part percent-decoded as Authlib
    does (extract_basic_authorization): RFC 6749 §2.3.1 has clients form-encode both before
    base64, and openid-client (oauth4webapi) encodes even "-" and "_" — "bench%2Dweb"."""
    scheme, _, value = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    client_id, colon, secret = decoded.partition(":")
    if "%" in decoded:
        try:
            client_id, secret = unquote(client_id, errors="strict"), unquote(secret, errors="strict")
        except UnicodeDecodeError:
            return None  # Authlib reads it with U+FFFD in place: its error, not ours
    if not colon or not client_id or not secret or _CONTROL.search(client_id + secret):
        return None
    return client_id, secret
