"""One error vocabulary for the authorization and logout endpoints.

Each error carries the spec's code, a public description, and whether it may be sent to the
client's redirect URI. It may only when the client and the redirect URI have both been verified:
an error about either of them is shown to the person, never redirected (an open redirect).
"""

from __future__ import annotations


class ProtocolError(Exception):
    status = 400

    def __init__(self, error: str, description: str, *, redirect: bool = True) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.redirect = redirect


class BadRequest(ProtocolError):
    """The request is malformed before any client is known: a page, never a redirect."""

    def __init__(self, description: str) -> None:
        super().__init__("invalid_request", description, redirect=False)


def invalid_request(description: str) -> ProtocolError:
    return ProtocolError("invalid_request", description)
