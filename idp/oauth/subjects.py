"""The `sub` a portal receives: the citizen's public identifier, or a pairwise one (OIDC Core §8.1).

A pairwise `sub` is an HMAC of the portal's sector and the citizen's own identifier, under a key
derived from IDP_SECRET_KEY: nothing to store, the same value for every portal of one sector, and
no way for portals of two sectors to find out they serve the same citizen. (Changing
IDP_SECRET_KEY changes every pairwise `sub`: README says so where the setting is.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import urlsplit

import requests

from ..identity.server_keys import derive

_PURPOSE = "pairwise-subject-v1"
FETCH_TIMEOUT = 5
MAX_BYTES = 64 * 1024


def pairwise(sector: str, subject: str) -> str:
    digest = hmac.new(derive(_PURPOSE), f"{sector}|{subject}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def subject_for(client, citizen_subject: str) -> str:
    """What ``client`` calls the citizen whose public subject is ``citizen_subject``."""
    if client is not None and client.subject_type == "pairwise" and client.sector:
        return pairwise(client.sector, citizen_subject)
    return citizen_subject


# --- the sector of a pairwise portal (OIDC Registration §5) ---------------------------------------
class SectorError(ValueError):
    """The portal's sector cannot be established."""


def sector_of(redirect_uris: list[str], sector_identifier_uri: str | None) -> str:
    """The host of the sector_identifier_uri (whose JSON list must hold every redirect URI), or
    else the one host all redirect URIs share."""
    if sector_identifier_uri is None:
        hosts = {urlsplit(uri).hostname or urlsplit(uri).scheme for uri in redirect_uris}
        if len(hosts) != 1:
            raise SectorError("redirect URIs on several hosts need a sector_identifier_uri")
        return hosts.pop()
    parts = urlsplit(sector_identifier_uri)
    if parts.scheme != "https" and not (
        parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
    ):
        raise SectorError("sector_identifier_uri must be an https URL")
    listed = _fetch_list(sector_identifier_uri)
    missing = [uri for uri in redirect_uris if uri not in listed]
    if missing:
        raise SectorError(f"sector_identifier_uri does not list {', '.join(missing)}")
    return parts.hostname


def _fetch_list(uri: str) -> list[str]:
    try:
        with requests.get(uri, timeout=FETCH_TIMEOUT, allow_redirects=False, stream=True) as response:
            if response.status_code != 200:
                raise SectorError(f"sector_identifier_uri answered {response.status_code}")
            body = response.raw.read(MAX_BYTES + 1, decode_content=True)
    except requests.RequestException:
        raise SectorError("sector_identifier_uri could not be fetched") from None
    try:
        listed = json.loads(body)
    except ValueError:
        raise SectorError("sector_identifier_uri is not a JSON array of URIs") from None
    if len(body) > MAX_BYTES or not isinstance(listed, list) or not all(isinstance(u, str) for u in listed):
        raise SectorError("sector_identifier_uri is not a JSON array of URIs")
    return listed
