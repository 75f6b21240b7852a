"""Real-browser fixtures: the app served on 127.0.0.1, Debian's Chromium driven by Playwright, and
axe-core run on every page a test visits.

Tests marked `browser` are skipped, with the reason, where /usr/bin/chromium or Playwright is
absent (unless REQUIRE_BROWSER_TESTS=1, as in CI, which makes that an error). Playwright's own
browser download does not work here, so it drives the system Chromium.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from sqlmodel import Session
from werkzeug.serving import make_server

from survey_app.demo import DemoSummary, build_demo
from survey_app.models import Organisation, Survey
from survey_app.services.responses import import_responses
from tests.test_invitations_mail import Mailbox, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
#: How long a step that renders a report (preview, PDF) may take on a busy machine before the
#: test gives up; not a performance target.
RENDER_TIMEOUT_MS = 180_000
#: axe-core's tags for WCAG 2.0, 2.1 and 2.2 at levels A and AA (2.2 added no level A rule).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _why_no_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import axe_playwright_python  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"needs the dev extra's playwright and axe-playwright-python ({exc})"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = _why_no_browser()
    if reason is None:
        return
    if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
        # CI sets this, so a missing browser fails the run instead of passing it untested.
        raise pytest.UsageError(f"REQUIRE_BROWSER_TESTS=1, but a browser test {reason}")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.skip(reason=f"browser test {reason}"))


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test's app (on the test's database) served on a free port; yields its base URL.

    Threaded, so the browser's parallel requests (page, stylesheet, script) are served at once;
    the suite's SQLite databases are files, so every thread sees the same data."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One headless Chromium for all the browser tests, closed when they are done rather than
    kept through the rest of the suite; each test gets its own context."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@dataclass
class LoadedPages:
    """Every document the page loaded, and whether axe has checked it."""

    urls: list[str] = field(default_factory=list)
    checked: list[bool] = field(default_factory=list)

    def loaded(self, url: str) -> None:
        self.urls.append(url)
        self.checked.append(False)

    def unchecked(self) -> list[str]:
        return [url for url, done in zip(self.urls, self.checked, strict=True) if not done]


@pytest.fixture
def loaded_pages() -> LoadedPages:
    return LoadedPages()


@pytest.fixture
def page(browser: Browser, live_server: str, loaded_pages: LoadedPages) -> Iterator[Page]:
    """A fresh browser context (no cookies) on the live server; relative URLs go to it.

    Fails the test at teardown if a document it loaded was never checked with `axe`."""
    context = browser.new_context(base_url=live_server, accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.on("load", lambda loaded: loaded_pages.loaded(loaded.url))
    yield page
    context.close()
    unchecked = loaded_pages.unchecked()
    if unchecked:
        pytest.fail("pages loaded but never checked with axe: " + ", ".join(unchecked))


@dataclass
class Visitor:
    """Someone at another browser: their own context (no cookies shared with `page`), their
    page, and `axe` for it."""

    page: Page
    axe: Callable[[], None]
    loaded: LoadedPages


@pytest.fixture
def new_visitor(browser: Browser, live_server: str) -> Iterator[Callable[[], Visitor]]:
    """Opens a fresh browser context on the live server for someone else than `page`'s user
    (a learner following an emailed link while the admin stays signed in); each is closed at
    teardown, which fails the test if a document one loaded was never checked with axe."""
    visitors: list[Visitor] = []
    contexts = []

    def open_visitor() -> Visitor:
        context = browser.new_context(base_url=live_server, accept_downloads=True)
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        loaded = LoadedPages()
        page.on("load", lambda document: loaded.loaded(document.url))
        visitor = Visitor(page, axe_checker(page, loaded), loaded)
        visitors.append(visitor)
        return visitor

    yield open_visitor
    for context in contexts:
        context.close()
    unchecked = [url for visitor in visitors for url in visitor.loaded.unchecked()]
    if unchecked:
        pytest.fail("pages loaded but never checked with axe: " + ", ".join(unchecked))


@pytest.fixture
def axe(page: Page, loaded_pages: LoadedPages) -> Callable[[], None]:
    """Runs axe-core on the page's current document and fails listing every WCAG 2.0/2.1/2.2
    A or AA violation: its rule, impact, help text and the elements at fault."""
    return axe_checker(page, loaded_pages)


def axe_checker(page: Page, loaded_pages: LoadedPages) -> Callable[[], None]:
    """The `axe` check for `page`, marking the last document of `loaded_pages` checked."""
    from axe_playwright_python.sync_playwright import Axe

    checker = Axe()

    def check() -> None:
        page.wait_for_load_state("load")
        # Playwright evaluates over the devtools protocol, which the page's CSP does not govern,
        # so axe is injected without loosening the policy.
        results = checker.run(
            page,
            options={
                "runOnly": {"type": "tag", "values": WCAG_TAGS},
                "resultTypes": ["violations"],
            },
        )
        if loaded_pages.checked:
            loaded_pages.checked[-1] = True
        violations = results.response["violations"]
        if violations:
            pytest.fail(f"axe found on {page.url}:\n" + describe_violations(violations))

    return check


def describe_violations(violations: list[dict]) -> str:
    """One paragraph per axe violation: rule id, impact, help, and each node's selector."""
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            why = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {target}: {why}")
    return "\n".join(lines)


def focused_matches(page: Page, selector: str) -> bool:
    """Whether the element with keyboard focus matches the CSS `selector`."""
    return page.evaluate(
        "selector => !!document.activeElement && document.activeElement.matches(selector)",
        selector,
    )


def press_until_focused(page: Page, key: str, selector: str, limit: int = 120) -> None:
    """Presses `key` until the focused element matches `selector`: how a keyboard user moves to
    a control. Fails, naming the selector and where focus ended, after `limit` presses."""
    for _ in range(limit):
        page.keyboard.press(key)
        if focused_matches(page, selector):
            return
    ended = page.evaluate(
        "() => document.activeElement && document.activeElement.outerHTML.slice(0, 200)"
    )
    pytest.fail(f"{limit} presses of {key} never reached {selector}; focus is on {ended}")


@pytest.fixture
def placement_responses(
    db_session: Session, surveys: dict[str, Survey], hubs: dict[str, Organisation]
) -> None:
    """Five placement responses at each East Kent practice and six in West Kent, so every
    group of a report by practice or hub is shown."""
    rows = (
        ["P-EK1,gp-trainee,postgraduate,4,4"] * 5
        + ["P-EK2,pharmacist,experienced,2,3"] * 5
        + ["P-WK1,medical-student,pre-registration,5,5"] * 6
    )
    text = "org_code,profession,stage,sup_named,overall\n" + "\n".join(rows) + "\n"
    import_responses(db_session, surveys["placement-quality"], text, "seed.csv", 5000)


@pytest.fixture
def mailbox(app: Flask, live_server: str) -> Iterator[Mailbox]:
    """An SMTP server (aiosmtpd) on 127.0.0.1 that the live server sends through, keeping
    every message it accepts; the links in the messages lead to the live server."""
    from aiosmtpd.controller import Controller

    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=controller.port,
        # No TLS: the server is on this host, and aiosmtpd here offers none.
        MAIL_USE_STARTTLS=False,
        MAIL_USE_SSL=False,
        MAIL_SENDER="East Kent Training Hub <surveys@hub.example.nhs.uk>",
        MAIL_TIMEOUT=5,
        PUBLIC_URL=live_server,
    )
    yield handler
    controller.stop()


@pytest.fixture
def demo(db_session: Session) -> DemoSummary:
    """The demo data of `survey-app demo`, as a new admin finds it: its ICBs, hubs, PCNs and
    practices, about 2,000 placement responses in two waves (wave 2 open) and its sign-ins."""
    return build_demo(db_session)


def sign_in_with_keyboard(page: Page, email: str, password: str) -> None:
    """On the sign-in page: tabs to each field, types, and presses Enter to send."""
    press_until_focused(page, "Tab", "#email")
    page.keyboard.type(email)
    press_until_focused(page, "Tab", "#password", limit=3)
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
