"""Strict reading of request parameters: bad UTF-8 and repeated parameters are refused, not
silently repaired (Werkzeug replaces undecodable bytes, which would let two spellings of one
value through).
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl

from flask import g, request

from ..oauth.errors import BadRequest

FORM = "application/x-www-form-urlencoded"


def _decode(raw: bytes, where: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(
            raw.decode("ascii", "strict"),
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
            max_num_fields=100,
        )
    except UnicodeDecodeError:
        raise BadRequest(f"The {where} is not valid UTF-8.") from None
    except ValueError:
        raise BadRequest(f"The {where} has too many parameters.") from None


def check_encoding() -> None:
    """Run before every request: the query string and a form body must be valid UTF-8."""
    if request.query_string:
        _decode(request.query_string, "query string")
    if request.mimetype == FORM and request.content_length:
        pairs = _decode(request.get_data(cache=True), "form body")
        # Kept for repeated_parameter(): the body is parsed here once, not again per check.
        g.form_names = [name for name, _ in pairs]
        # And request.form is these pairs, as werkzeug's own parser sets it (_load_form_data):
        # the same parse_qsl of the same bytes, now known to be UTF-8, not done a second time.
        # get_data() has already refused a body over MAX_CONTENT_LENGTH (= MAX_FORM_MEMORY_SIZE).
        if "form" not in request.__dict__:
            request.__dict__["form"] = request.parameter_storage_class(pairs)
            request.__dict__["files"] = request.parameter_storage_class()


def multi_params() -> dict[str, list[str]]:
    """Every parameter with all its values: the query for GET, the form body for POST."""
    source = request.form if request.method == "POST" else request.args
    return {name: source.getlist(name) for name in source}


def malformed_basic_credentials() -> bool:
    """True when an Authorization header cannot be read as RFC 7617 Basic credentials where it
    claims to be (base64 of UTF-8 ``id:secret``), or cannot be split into scheme and value at all.
    Authlib lets such a header raise instead of answering invalid_client."""
    header = request.headers.get("Authorization", "")
    if " " not in header:
        return False
    parts = header.split(None, 1)
    if len(parts) != 2:
        return True
    scheme, value = parts
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return True
    return any(ord(c) < 32 for c in decoded)


def repeated_parameter() -> str | None:
    """The name of a parameter sent twice in the body, if any (RFC 6749 §3.2 forbids it)."""
    seen = set()
    for name in g.get("form_names", ()):
        if name in seen:
            return name
        seen.add(name)
    return None
