"""OpenID Connect Front-Channel Logout 1.0: for portals that cannot be called by our server, the
logout page loads each participating portal's frontchannel_logout_uri in an invisible frame."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from ..models import Client
from ..services import services
from .backchannel import participants


def frames(sid: str | None) -> list[str]:
    """The frame URLs for the portals that took part in session ``sid`` (§2: iss and sid added)."""
    if not sid:
        return []
    urls = []
    for portal in participants(sid, Client.frontchannel_logout_uri):
        uri = portal.frontchannel_logout_uri
        query = urlencode({"iss": services().settings.issuer, "sid": sid})
        urls.append(uri + ("&" if "?" in uri else "?") + query)
    return urls


def frame_sources(urls: list[str]) -> str:
    """The origins the page's Content-Security-Policy must let it frame."""
    origins = []
    for url in urls:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in origins:
            origins.append(origin)
    return " ".join(origins)
