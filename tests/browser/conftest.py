"""Browser tests: Debian's headless Chromium, driven by Playwright, against a real ``idp serve``.

The server is started by the e2e suite's code (imported), so the browser talks to Granian over a
loopback port exactly as a citizen's phone would; it delivers codes by its real SMTP and SMS-webhook
back-ends to servers of the suite's own (tests/browser/outbox.py). Playwright's own browser
downloads are never used: we launch the system ``chromium`` by path, and skip with a clear message
when it is missing (``.ci/run`` installs it).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.looks import Looks
from tests.browser.outbox import Outbox, delivery_servers
from tests.browser.portal import Portal, serve_portal

# The real server's start-up and its "no errors in the server log" guard, shared with tests/e2e.
from tests.e2e.conftest import LiveServer, no_server_errors, running_server  # noqa: F401

CHROMIUM = shutil.which("chromium")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def delivery() -> Iterator[tuple[Outbox, dict[str, str]]]:
    with delivery_servers() as started:
        yield started


@pytest.fixture(scope="session")
def live_server(app, settings, tmp_path_factory, delivery) -> Iterator[LiveServer]:
    """tests/e2e's ``idp serve``, sending its emails and SMS to the suite's own outbox."""
    with running_server(settings, tmp_path_factory.mktemp("browser-server"), **delivery[1]) as server:
        yield server


@pytest.fixture
def outbox(delivery) -> Outbox:
    return delivery[0]


@pytest.fixture(scope="session")
def chromium():
    if CHROMIUM is None:
        pytest.skip("chromium not installed: apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright not installed: pip install -e '.[dev]'")
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium) -> Iterator:
    """A fresh browser profile (no cookies) per test, Vietnamese like most citizens' phones."""
    context = chromium.new_context(viewport=DESKTOP, locale="vi-VN")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    # A page answered with 400 or 401 on purpose is not a problem; a missing stylesheet or script is.
    tab.on("console", lambda msg: problems.append(f"console: {msg.text} ({msg.location.get('url')})")
           if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    tab.on("response", lambda r: problems.append(f"{r.status} for {r.request.resource_type} {r.url}")
           if r.status >= 400 and r.request.resource_type != "document"
           and not r.url.endswith("/favicon.ico") else None)
    try:
        yield tab
    finally:
        context.close()
    # A CSP violation, a broken script or a missing file: the page is not what we shipped.
    assert not problems, problems


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test says where the browser was and what it showed (text and screenshot)."""
    report = yield
    tab = item.funcargs.get("page") if report.when == "call" and report.failed else None
    if tab is not None and not tab.is_closed():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"FAILED--{item.name}.png"
        tab.screenshot(path=str(path), full_page=True)
        text = tab.inner_text("body")[:3000]
        report.sections.append(("browser", f"at {tab.url}, screenshot {path}\n{text}"))
    return report


@pytest.fixture
def looks(request) -> Looks:
    """looks.check(page, "name"): screenshots at 360 and 1280 px plus the accessibility basics."""
    return Looks(SCREENSHOTS, prefix=request.node.name.removeprefix("test_"))


@pytest.fixture
def portal(live_server, make_portal) -> Iterator[Portal]:
    """A portal of our own, registered through the same service as ``idp clients create``."""

    def register(redirect_uri: str) -> tuple[str, str]:
        made = make_portal(name="Cổng Dịch vụ công tỉnh (thử nghiệm)", redirect_uris=[redirect_uri])
        return made["client_id"], made["client_secret"]

    with serve_portal(live_server.issuer, register) as served:
        yield served
