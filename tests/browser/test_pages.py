"""Every other page people meet, checked with axe in Chromium: the landing and privacy pages, the
pages of a bad link, an expired form, and an administrator's reports for all of England (the
report preview is checked in test_staff_reports)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from sqlmodel import Session, select

from survey_app.models import Invitation, Organisation, Survey, User
from survey_app.services.invitations import create_invitations
from survey_app.services.responses import utcnow
from tests.browser.conftest import focused_matches, press_until_focused, sign_in_with_keyboard
from tests.conftest import STAFF_PASSWORD

if TYPE_CHECKING:  # Playwright may be absent: the tests are then skipped, not broken
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

ADMIN = "admin@example.nhs.uk"
LINK_NOT_VALID = "This link is not valid. It may have been used already, or mistyped."


def test_landing_and_privacy_pages(
    page: Page, axe: Callable[[], None], surveys: dict[str, Survey]
) -> None:
    page.goto("/")
    assert page.inner_text("h1") == "Primary care education surveys"
    survey_link = page.get_by_role("link", name="Primary care placement quality survey")
    assert survey_link.is_visible()
    axe()
    # The skip link is the first stop and takes keyboard users past the header.
    page.keyboard.press("Tab")
    assert focused_matches(page, "a.nhsuk-skip-link")
    page.keyboard.press("Enter")
    press_until_focused(page, "Tab", "main a", limit=2)
    assert page.evaluate("() => document.activeElement.textContent.trim()") == (
        "Primary care placement quality survey"
    )

    press_until_focused(page, "Tab", "footer a[href='/privacy']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.inner_text("h1") == "How we use your answers"
    axe()


def test_pages_of_a_bad_link(
    page: Page,
    axe: Callable[[], None],
    db_session: Session,
    surveys: dict[str, Survey],
    hubs: dict[str, Organisation],
) -> None:
    survey = surveys["placement-quality"]
    unknown = page.goto("/s/placement-quality/" + "x" * 43)
    assert unknown is not None and unknown.status == 404
    assert page.inner_text("h1") == "This survey is not available"
    assert LINK_NOT_VALID in page.inner_text("main")
    axe()

    (issued,) = create_invitations(db_session, survey, hubs["P-EK1"], 1, "")
    invitation = db_session.exec(select(Invitation)).one()
    invitation.used_at = utcnow()
    db_session.add(invitation)
    db_session.commit()
    used = page.goto(issued.url)
    assert used is not None and used.status == 410
    assert LINK_NOT_VALID in page.inner_text("main")
    axe()

    no_survey = page.goto("/s/no-such-survey")
    assert no_survey is not None and no_survey.status == 404
    assert "This survey is not open, or the address is wrong." in page.inner_text("main")
    axe()


def test_expired_form_page(
    page: Page,
    axe: Callable[[], None],
    make_user: Callable[..., User],
    hubs: dict[str, Organisation],
) -> None:
    make_user(ADMIN, "admin", ())
    page.goto("/login")
    axe()
    page.context.clear_cookies()  # the session, and with it the form's CSRF secret, is gone
    sign_in_with_keyboard(page, ADMIN, STAFF_PASSWORD)
    assert page.inner_text("h1") == "This form has expired"
    axe()


def test_administrators_reports_for_england(
    page: Page,
    axe: Callable[[], None],
    make_user: Callable[..., User],
    placement_responses: None,
) -> None:
    make_user(ADMIN, "admin", ())
    page.goto("/login")
    axe()
    sign_in_with_keyboard(page, ADMIN, STAFF_PASSWORD)
    assert "all of England" in page.inner_text("main")
    axe()

    page.goto("/reports/placement-quality?by=icb")
    assert "England, by icb" in page.inner_text("h1")
    assert "Kent and Medway" in page.inner_text("main")
    axe()


def test_icb_leader_form_and_the_too_large_page(
    app: Flask,
    page: Page,
    axe: Callable[[], None],
    db_session: Session,
    surveys: dict[str, Survey],
) -> None:
    kent = db_session.exec(select(Organisation).where(Organisation.code == "QKS")).one()
    (issued,) = create_invitations(db_session, surveys["icb-leaders"], kent, 1, "")
    page.goto(issued.url)
    assert "You are answering about NHS Kent and Medway Integrated Care Board" in page.inner_text(
        "main"
    )
    axe()
    # Four pages of statements (none required), then the free text and the on-record question.
    for _ in range(4):
        with page.expect_navigation():
            page.get_by_role("button", name="Continue").click()
        axe()
    assert "Yes, you may quote me and name my ICB" in page.inner_text("main")

    app.config["MAX_CONTENT_LENGTH"] = 1024
    page.locator("textarea").first.fill("The training hub has grown our nursing workforce. " * 30)
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    assert page.inner_text("h1") == "What you sent is too large"
    axe()
