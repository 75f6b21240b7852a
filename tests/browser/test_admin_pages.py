"""The administrators' pages in Chromium, each checked with axe, including the pages that show a
problem: a bad organisations file, a user form sent empty, a bad survey definition, and the
survey preview."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from survey_app.models import Organisation, Survey, User
from tests.browser.conftest import sign_in_with_keyboard
from tests.conftest import STAFF_PASSWORD

if TYPE_CHECKING:  # Playwright may be absent: the tests are then skipped, not broken
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

ADMIN = "admin@example.nhs.uk"


@pytest.fixture
def admin_page(
    page: Page,
    axe: Callable[[], None],
    make_user: Callable[..., User],
    hubs: dict[str, Organisation],
) -> Page:
    """The browser signed in as an administrator, on the reports page."""
    make_user(ADMIN, "admin", ())
    page.goto("/login")
    axe()
    sign_in_with_keyboard(page, ADMIN, STAFF_PASSWORD)
    axe()
    return page


def test_organisation_pages(admin_page: Page, axe: Callable[[], None]) -> None:
    page = admin_page
    page.get_by_role("link", name="Admin").click()
    assert page.inner_text("h1") == "Administration"
    axe()
    page.get_by_role("link", name="Organisations").click()
    axe()
    page.get_by_label("Name or code").fill("surgery")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_role("row", name="Cathedral Surgery").is_visible()
    axe()
    page.goto("/admin/organisations")
    assert page.get_by_role("link", name="Next").is_visible()  # 61 organisations, 2 pages
    axe()
    page.get_by_role("link", name="Import organisations from a CSV file").click()
    axe()
    page.set_input_files(
        "input[type=file]",
        files=[
            {
                "name": "practices.csv",
                "mimeType": "text/csv",
                "buffer": b"Organisation Code,Name,PCN\nG1,Grange Surgery,NOPE\n",
            }
        ],
    )
    page.get_by_role("button", name="Import").click()
    summary = page.locator(".nhsuk-error-summary")
    assert "row 2, column PCN" in summary.inner_text()
    axe()


def test_user_pages(admin_page: Page, axe: Callable[[], None]) -> None:
    page = admin_page
    page.goto("/admin/users")
    axe()
    page.get_by_role("link", name="Add a user").click()
    axe()
    page.get_by_role("button", name="Add user").click()
    assert page.locator(".nhsuk-error-summary li").count() == 3  # email, scopes, password
    axe()
    page.get_by_label("Email address").fill("lead@example.nhs.uk")
    page.get_by_label("Quality lead: reports for their organisations only").check()
    page.get_by_label("Organisations this quality lead may see").fill("H-EK")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Add user").click()
    assert "lead@example.nhs.uk can now sign in" in page.inner_text("main")
    axe()
    page.get_by_role("link", name="Change lead@example.nhs.uk").click()
    assert page.get_by_role("button", name="Deactivate lead@example.nhs.uk").is_visible()
    axe()


def test_survey_pages(
    admin_page: Page, axe: Callable[[], None], surveys: dict[str, Survey]
) -> None:
    page = admin_page
    page.goto("/admin/surveys")
    axe()
    page.get_by_role("link", name="Primary care placement quality survey").click()
    axe()
    page.get_by_label("Opens at (UK time)").fill("2030-07-01T09:00")
    page.get_by_label("Closes at (UK time)").fill("2030-07-01T08:00")
    page.get_by_role("button", name="Save dates").click()
    assert "The closing time must be after the opening time" in page.inner_text(
        ".nhsuk-error-summary"
    )
    axe()
    page.get_by_role("link", name="Preview the survey as respondents see it").click()
    assert page.get_by_role("button", name="Send my answers").is_disabled()
    axe()
    page.goto("/admin/surveys/upload")
    axe()
    page.set_input_files(
        "input[type=file]",
        files=[{"name": "bad.yaml", "mimeType": "text/yaml", "buffer": b"slug: Not A Slug\n"}],
    )
    page.get_by_role("button", name="Upload and load").click()
    assert "bad.yaml: slug: String should match pattern" in page.inner_text(".nhsuk-error-summary")
    axe()
