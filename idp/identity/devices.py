"""A device name a citizen recognises ("Chrome trên Android"), read from a browser's User-Agent.

Only for showing a citizen their own sessions: the User-Agent is whatever the browser claims, so
nothing is decided on it. The order of the checks matters: Vietnamese phones often run Zalo's or
Cốc Cốc's browser, which also call themselves Chrome and Safari.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BROWSERS: tuple[tuple[str, str], ...] = (
    (r"\bZalo(App)?\b", "Zalo"),
    (r"\bcoc_coc_browser\b", "Cốc Cốc"),
    (r"FBA[NV]/", "Facebook"),
    (r"\bSamsungBrowser/", "Samsung Internet"),
    (r"\bEdg(e|A|iOS)?/", "Edge"),
    (r"\bOPR/|\bOpera\b", "Opera"),
    (r"\bFirefox/|\bFxiOS/", "Firefox"),
    (r"\bChrome/|\bCriOS/|\bChromium/", "Chrome"),
    (r"\bSafari/", "Safari"),
)
_SYSTEMS: tuple[tuple[str, str], ...] = (
    (r"\biPhone\b", "iPhone"),
    (r"\biPad\b", "iPad"),
    (r"\bAndroid\b", "Android"),
    (r"\bWindows\b", "Windows"),
    (r"\bCrOS\b", "Chromebook"),
    (r"\bMac OS X\b|\bMacintosh\b", "Mac"),
    (r"\bLinux\b", "Linux"),
)


@dataclass(frozen=True)
class Device:
    browser: str | None
    system: str | None
    mobile: bool


def _first(patterns: tuple[tuple[str, str], ...], text: str) -> str | None:
    return next((name for pattern, name in patterns if re.search(pattern, text)), None)


def parse(user_agent: str | None) -> Device:
    text = (user_agent or "")[:300]
    system = _first(_SYSTEMS, text)
    mobile = system in ("iPhone", "iPad", "Android") or "Mobile" in text
    return Device(_first(_BROWSERS, text), system, mobile)


def describe(user_agent: str | None, on: str = "trên", unknown: str = "Thiết bị không rõ") -> str:
    """'Chrome trên Android'; ``on`` and ``unknown`` are the words of the page's language."""
    device = parse(user_agent)
    if device.browser and device.system:
        return f"{device.browser} {on} {device.system}"
    return device.browser or device.system or unknown
