"""Headers on every response: no framing, no inline script, no sniffing, no caching of secrets."""

from __future__ import annotations

from flask import Flask, Response, request

# No form-action: Chrome applies it to the redirect chain after the login form, which ends at
# the portal's redirect URI on another origin.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)
NO_STORE_PATHS = (
    "/token",
    "/userinfo",
    "/introspect",
    "/revoke",
    "/authorize",
    "/login",
    "/consent",
    "/logout",
)


def init_app(app: Flask, https: bool) -> None:
    @app.after_request
    def add_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        if https:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.path.startswith(NO_STORE_PATHS):
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"
        return response
