"""Discovery and the JWKS answered before Flask: they are a few precomputed bytes, asked for by
every portal and every library on start-up, and Flask's request machinery would cost ten times
what they do (../shared/SERVING.md). Same bytes, same headers, same 304s as the Flask routes."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from werkzeug.http import parse_etags

from ..security.headers import CSP

DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/jwks.json"


class StaticFastPath:
    def __init__(
        self, wsgi_app, discovery: tuple[bytes, str], keyring, jwks_max_age: int, https: bool
    ) -> None:
        self.wsgi_app = wsgi_app
        self.discovery = discovery
        self.keyring = keyring
        self.jwks_max_age = jwks_max_age
        self.common = [
            ("Content-Type", "application/json"),
            ("Access-Control-Allow-Origin", "*"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
            ("Content-Security-Policy", CSP),
        ]
        if https:
            self.common.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO")
        if method not in ("GET", "HEAD") or path not in (DISCOVERY, JWKS):
            return self.wsgi_app(environ, start_response)
        if path == DISCOVERY:
            (body, etag), max_age = self.discovery, 3600
        else:
            (body, etag), max_age = self.keyring.jwks(), self.jwks_max_age
        headers = [*self.common, ("ETag", etag), ("Cache-Control", f"public, max-age={max_age}")]
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match and parse_etags(if_none_match).contains_weak(etag.strip('"')):
            start_response("304 Not Modified", headers)
            return [b""]
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [b"" if method == "HEAD" else body]
