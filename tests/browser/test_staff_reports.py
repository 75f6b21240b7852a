"""A quality lead in Chromium: signs in with the keyboard, opens a report for their hub, chooses
its scope and grouping, previews it, downloads the PDF and signs out; watches the response
rates of their hub update as invitees answer, and pauses the updates."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlmodel import Session, select

from survey_app.models import Organisation, Survey, User
from survey_app.reporting import report_jobs
from survey_app.services.invitations import create_invitations
from survey_app.staff import response_rates
from tests.browser.conftest import (
    RENDER_TIMEOUT_MS,
    LoadedPages,
    focused_matches,
    press_until_focused,
    sign_in_with_keyboard,
)
from tests.conftest import STAFF_PASSWORD, csrf_token

if TYPE_CHECKING:  # Playwright may be absent: the tests are then skipped, not broken
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

LEAD = "lead@example.nhs.uk"


@pytest.fixture
def lead(make_user: Callable[..., User], hubs: dict[str, Organisation]) -> User:
    return make_user(LEAD, "lead", ("H-EK",))


def test_lead_signs_in_opens_a_report_and_downloads_its_pdf(
    page: Page,
    axe: Callable[[], None],
    lead: User,
    placement_responses: None,
    tmp_path: Path,
) -> None:
    page.goto("/reports")
    assert "/login" in page.url, "an anonymous visitor must be sent to sign in"
    axe()
    sign_in_with_keyboard(page, LEAD, STAFF_PASSWORD)

    assert page.url.endswith("/reports")
    assert page.inner_text("h1") == "Reports"
    axe()
    placement = page.locator("section", has=page.locator("#survey-placement-quality"))
    assert "West Kent" not in placement.inner_text(), "a lead sees only their own scope"
    with page.expect_navigation():
        placement.get_by_role("link", name="See the report for East Kent Training Hub").click()
    assert "East Kent Training Hub" in page.inner_text("h1")
    axe()

    page.select_option("#scope", "N-EK1")
    page.select_option("#by", "practice")
    with page.expect_navigation():
        page.get_by_role("button", name="Show report").click()
    assert "scope=N-EK1" in page.url and "by=practice" in page.url
    assert "Canterbury PCN, by practice" in page.inner_text("h1")
    groups = page.get_by_role("region", name="Groups compared by practice")
    assert "Cathedral Surgery" in groups.inner_text()
    assert "Harbour Surgery" in groups.inner_text()
    axe()

    with page.expect_navigation(timeout=RENDER_TIMEOUT_MS):
        page.get_by_role("link", name="Preview the full report in the browser").click()
    assert "/preview" in page.url
    assert page.get_by_role("heading", name="Executive summary").is_visible()
    # The report's own stylesheet applies: its bundled font, not the browser's default.
    assert "Report Sans" in page.evaluate("() => getComputedStyle(document.body).fontFamily")
    axe()
    # A contents link stays on the preview, at its chapter.
    page.get_by_role("link", name="Appendix A. Methodology").click()
    page.wait_for_url(re.compile(r"/reports/placement-quality/preview\?[^#]*#methodology$"))

    page.go_back()
    page.go_back()
    assert "/reports/placement-quality?" in page.url
    axe()
    with page.expect_download(timeout=RENDER_TIMEOUT_MS) as download_info:
        link = page.get_by_role("link", name="Download this report as PDF")
        link.click(timeout=RENDER_TIMEOUT_MS)
    download = download_info.value
    assert download.suggested_filename == "placement-quality-N-EK1-by-practice.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(saved).pages).split())
    assert "Primary care placement quality survey" in text
    assert "Canterbury PCN" in text and "10 responses" in text

    press_until_focused(page, "Tab", "form[action$='/logout'] button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "You have signed out." in page.inner_text("main")
    axe()
    page.goto("/reports")
    assert "/login" in page.url
    axe()


def test_failed_sign_in_focuses_the_error_summary(
    page: Page, axe: Callable[[], None], lead: User
) -> None:
    page.goto("/login")
    axe()
    sign_in_with_keyboard(page, LEAD, "not the password")
    assert page.title().startswith("Error: ")
    assert focused_matches(page, ".nhsuk-error-summary")
    assert "The email address or password is not right" in page.inner_text(".nhsuk-error-summary")
    axe()
    press_until_focused(page, "Tab", '.nhsuk-error-summary a[href="#email"]', limit=5)
    page.keyboard.press("Enter")
    assert focused_matches(page, "#email")


def test_a_large_report_shows_its_progress_then_downloads(
    app: Flask,
    page: Page,
    axe: Callable[[], None],
    loaded_pages: LoadedPages,
    lead: User,
    placement_responses: None,
) -> None:
    app.config["REPORT_BACKGROUND_MIN_RESPONSES"] = 1  # every report is "large"
    # The build queues behind this task, so the report stays pending until the test says.
    release = threading.Event()
    report_jobs._executor.submit(release.wait, 600)  # the bound only guards against a hang
    try:
        page.goto("/login")
        axe()
        sign_in_with_keyboard(page, LEAD, STAFF_PASSWORD)
        axe()
        page.goto("/reports/placement-quality")
        axe()
        with page.expect_navigation():
            page.get_by_role("link", name="Download this report as PDF").click()
        assert "/reports/placement-quality/progress" in page.url
        assert page.inner_text("h1") == "Preparing your report"
        assert "10 responses" in page.inner_text("[role=status]")
        axe()
        press_until_focused(page, "Tab", "main a")  # "check now"
    finally:
        release.set()
    # The build has finished once the queue has drained.
    report_jobs._executor.submit(lambda: None).result(timeout=RENDER_TIMEOUT_MS / 1000)

    loads = len(loaded_pages.urls)
    ready = page.get_by_role("heading", name="Your report is ready")
    ready.wait_for(timeout=RENDER_TIMEOUT_MS)
    assert len(loaded_pages.urls) == loads, "the page should update in place, not reload"
    assert focused_matches(page, "h1"), "focus was on the replaced link: it moves to the news"
    axe()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the PDF").click()
    assert download_info.value.suggested_filename == "placement-quality-H-EK.pdf"


def _answer_invitation(app: Flask, url: str) -> None:
    """A learner sends a complete answer through their invitation link, in their own browser
    (a test client of the same app)."""
    respondent = app.test_client()
    form = respondent.get(url)
    sent = respondent.post(
        url,
        data={
            "csrf_token": csrf_token(form.text),
            "profession": "pharmacist",
            "stage": "newly-qualified",
            "length": "1-to-3-months",
            "ind_welcome": "4",
            "overall": "5",
        },
    )
    assert sent.status_code == 303, sent.status_code


def test_response_rates_update_in_place_and_can_be_paused(
    app: Flask,
    page: Page,
    axe: Callable[[], None],
    loaded_pages: LoadedPages,
    lead: User,
    surveys: dict[str, Survey],
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(response_rates, "UPDATE_EVERY_SECONDS", 1)  # not 30: the test waits
    placement = surveys["placement-quality"]
    practice = db_session.exec(select(Organisation).where(Organisation.code == "P-EK1")).one()
    links = [issued.url for issued in create_invitations(db_session, placement, practice, 12, "")]
    for url in links[:5]:
        _answer_invitation(app, url)
    page.goto("/login")
    axe()
    sign_in_with_keyboard(page, LEAD, STAFF_PASSWORD)
    axe()
    with page.expect_navigation():
        placement_section = page.locator("section", has=page.locator("#survey-placement-quality"))
        placement_section.get_by_role("link", name="response rates in East Kent").click()
    assert page.inner_text("h1").endswith("Response rates in East Kent Training Hub")
    table = page.get_by_role("table")
    total = table.get_by_role("row", name=re.compile("All of East Kent Training Hub"))
    assert total.inner_text().split("\t")[1:] == ["12", "5", "42%"]
    pause = page.get_by_role("button", name="Pause automatic updates")
    assert pause.is_visible(), "with script, the updates can be paused (WCAG 2.2.2)"
    axe()

    loads = len(loaded_pages.urls)
    _answer_invitation(app, links[5])
    status = page.get_by_role("status").filter(has_text="Figures updated")
    status.wait_for()
    assert "6 of 12 invitations answered" in status.inner_text()
    assert total.inner_text().split("\t")[1:] == ["12", "6", "50%"]
    assert len(loaded_pages.urls) == loads, "the figures should update in place, not reload"
    axe()

    pause.click()
    resume = page.get_by_role("button", name="Resume automatic updates")
    assert resume.is_visible()
    assert "Automatic updates are paused." in page.inner_text("main")
    _answer_invitation(app, links[6])
    page.wait_for_timeout(3000)  # three update periods
    assert total.inner_text().split("\t")[1:] == ["12", "6", "50%"], "paused, yet updated"
    resume.click()
    page.get_by_role("status").filter(has_text="7 of 12").wait_for()
    assert total.inner_text().split("\t")[1:] == ["12", "7", "58%"]
    axe()
