"""A learner answers the placement survey in Chromium with the keyboard alone, by the open link
and by an invitation, and recovers from a missing answer through the error summary."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import Session, select

from survey_app.models import Answer, Invitation, Organisation, Response, Survey
from survey_app.services.invitations import create_invitations
from tests.browser.conftest import focused_matches, press_until_focused

if TYPE_CHECKING:  # Playwright may be absent: the tests are then skipped, not broken
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

COMMENT = "My supervisor made time for a debrief after every clinic."


def choose_radio(page: Page, name: str, value: str) -> None:
    """Tabs into the radio group `name`, arrows to `value` and selects it with Space."""
    press_until_focused(page, "Tab", f'input[name="{name}"]')
    choice = f'input[name="{name}"][value="{value}"]'
    if not focused_matches(page, choice):
        press_until_focused(page, "ArrowDown", choice, limit=15)
    page.keyboard.press("Space")
    assert page.is_checked(choice), f"{name} = {value} was not selected"


def send_answers(page: Page, key: str) -> None:
    """Tabs to the submit button and presses `key` on it, waiting for the next page."""
    press_until_focused(page, "Tab", "form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press(key)


def stored_answers(session: Session, survey: Survey) -> tuple[Response, dict[str, Any]]:
    """The one stored response and its answers by question code (scale value, option code or
    text)."""
    session.expire_all()
    response = session.exec(select(Response)).one()
    questions = {question.id: question for question in survey.questions}
    answers: dict[str, Any] = {}
    for answer in session.exec(select(Answer).where(Answer.response_id == response.id)):
        question = questions[answer.question_id]
        if answer.option_id is not None:
            option = next(o for o in question.options if o.id == answer.option_id)
            answers[question.code] = option.code
        else:
            answers[question.code] = answer.value if answer.value is not None else answer.text
    return response, answers


@pytest.mark.parametrize("link", ["open link", "invitation"])
def test_learner_answers_with_the_keyboard_alone(
    page: Page,
    axe: Callable[[], None],
    link: str,
    hubs: dict[str, Organisation],
    surveys: dict[str, Survey],
    db_session: Session,
) -> None:
    survey = surveys["placement-quality"]
    if link == "invitation":
        (issued,) = create_invitations(db_session, survey, hubs["P-WK1"], 1, "")
        page.goto(issued.url)
        assert "You are answering about Vine Surgery" in page.inner_text("main")
    else:
        page.goto("/s/placement-quality")
    axe()
    assert page.title().startswith("Primary care placement quality survey")

    if link == "open link":
        press_until_focused(page, "Tab", "#organisation")
        page.keyboard.type("Cathedral")  # a closed select's type-ahead, as on any keyboard
        assert page.input_value("#organisation") == "P-EK1"
    choose_radio(page, "profession", "pharmacist")
    choose_radio(page, "stage", "newly-qualified")
    choose_radio(page, "ind_welcome", "2")
    choose_radio(page, "sup_named", "5")
    choose_radio(page, "overall", "4")
    press_until_focused(page, "Tab", "#worked_well")
    page.keyboard.type(COMMENT)
    send_answers(page, "Enter")

    assert page.url.endswith("/s/placement-quality/thanks")
    assert "Thank you: your answers have been saved" in page.inner_text("h1")
    axe()
    response, answers = stored_answers(db_session, survey)
    place = "P-WK1" if link == "invitation" else "P-EK1"
    assert db_session.get(Organisation, response.organisation_id).code == place
    assert answers == {
        "profession": "pharmacist",
        "stage": "newly-qualified",
        "ind_welcome": 2,
        "sup_named": 5,
        "overall": 4,
        "worked_well": COMMENT,
    }
    if link == "invitation":
        assert db_session.exec(select(Invitation)).one().used_at is not None


def test_missing_answer_is_reached_from_the_focused_error_summary(
    page: Page,
    axe: Callable[[], None],
    hubs: dict[str, Organisation],
    surveys: dict[str, Survey],
    db_session: Session,
) -> None:
    page.goto("/s/placement-quality")
    axe()
    press_until_focused(page, "Tab", "#organisation")
    page.keyboard.type("Harbour")
    choose_radio(page, "profession", "gp-trainee")
    choose_radio(page, "stage", "postgraduate")
    send_answers(page, "Space")  # "overall", a required answer, left out

    assert page.title().startswith("Error: ")
    # NHS.UK frontend moves focus to the summary so a screen reader announces the problem.
    assert focused_matches(page, ".nhsuk-error-summary")
    summary = page.inner_text(".nhsuk-error-summary")
    assert "There is a problem" in summary
    axe()
    assert db_session.exec(select(Response)).all() == []
    # The answers already given are kept.
    assert page.input_value("#organisation") == "P-EK2"
    assert page.is_checked('input[name="stage"][value="postgraduate"]')

    press_until_focused(page, "Tab", '.nhsuk-error-summary a[href="#overall"]', limit=5)
    page.keyboard.press("Enter")
    assert focused_matches(page, 'input[name="overall"]'), "the link did not move focus"
    press_until_focused(page, "ArrowDown", 'input[name="overall"][value="3"]', limit=5)
    send_answers(page, "Enter")

    assert page.url.endswith("/s/placement-quality/thanks")
    axe()
    response, answers = stored_answers(db_session, surveys["placement-quality"])
    assert db_session.get(Organisation, response.organisation_id).code == "P-EK2"
    assert answers == {"profession": "gp-trainee", "stage": "postgraduate", "overall": 3}
