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
    always = [
        ("Content-Security-Policy", CSP),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ]
    if https:
        always.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    lowered = [(name.lower(), name, value) for name, value in always]

    @app.after_request
    def add_headers(response: Response) -> Response:
        headers = response.headers
        # One pass over the few headers already set (a page may set its own CSP, e.g. front-channel
        # logout's frame-src), instead of a scan of them per header (Headers.setdefault).
        present = {name.lower() for name, _ in headers}
        for low, name, value in lowered:
            if low not in present:
                headers.add(name, value)
        if request.path.startswith(NO_STORE_PATHS):
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"
        return response
