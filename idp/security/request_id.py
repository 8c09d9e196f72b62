"""A request id on every request: the caller's X-Request-ID if it is sane, else a new one. It is
returned in the response and written into audit events and logs, to follow one request across
the proxy, the provider and the portal."""

from __future__ import annotations

import re
import secrets

from flask import Flask, Response, g, request

_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def init_app(app: Flask) -> None:
    @app.before_request
    def assign() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _SANE.match(given) else secrets.token_hex(16)

    @app.after_request
    def echo(response: Response) -> Response:
        if "request_id" in g:
            response.headers["X-Request-ID"] = g.request_id
        return response
