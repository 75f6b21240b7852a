"""A learner answers the placement survey in Chromium with the keyboard alone (Tab, the arrow
keys, Space and Enter), a section a page, by the open link and by an invitation; goes back a
page; recovers from a missing answer through the error summary; saves and carries on in a new
browser; and answers without JavaScript. axe checks every page on the way."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import Session, select

from survey_app.models import Answer, Invitation, Organisation, Response, SavedAnswers, Survey
from survey_app.services.invitations import create_invitations
from tests.browser.conftest import focused_matches, press_until_focused
from tests.conftest import release_held

if TYPE_CHECKING:  # Playwright may be absent: the tests are then skipped, not broken
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

COMMENT = "My supervisor made time for a debrief after every clinic."
#: The placement survey's pages: one section each.
SECTIONS = 10


def choose_radio(page: Page, name: str, value: str) -> None:
    """Tabs into the radio group `name`, arrows to `value` and selects it with Space."""
    press_until_focused(page, "Tab", f'input[name="{name}"]')
    choice = f'input[name="{name}"][value="{value}"]'
    if not focused_matches(page, choice):
        press_until_focused(page, "ArrowDown", choice, limit=15)
    page.keyboard.press("Space")
    assert page.is_checked(choice), f"{name} = {value} was not selected"


def press_button(page: Page, action: str, key: str = "Enter") -> None:
    """Tabs to the button sending `action` ("continue", "back", "save", "send", "change-N")
    and presses `key` on it, waiting for the next page."""
    press_until_focused(page, "Tab", f'form button[name="_action"][value="{action}"]')
    with page.expect_navigation():
        page.keyboard.press(key)


def on_section(page: Page, number: int, title: str) -> None:
    """The page is section `number` of the survey, titled `title`, as the progress line and
    the heading say."""
    assert page.inner_text(".app-progress__text") == f"Section {number} of {SECTIONS}"
    assert page.inner_text("h1").endswith(title)
    assert page.title().startswith(f"{title} – Primary care placement quality survey")


def continue_through(
    page: Page, axe: Callable[[], None], first: int, last: int, titles: dict[int, str]
) -> None:
    """Presses Continue on sections `first` to `last` (numbered from 1), answering nothing,
    checking each page it reaches with axe."""
    for number in range(first, last + 1):
        if number in titles:
            on_section(page, number, titles[number])
        press_button(page, "continue")
        axe()


def stored_answers(session: Session, survey: Survey) -> tuple[Response, dict[str, Any]]:
    """The one stored response and its answers by question code (scale value, option code or
    text); an invited answer to the placement survey is released from holding first."""
    release_held(session)
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


def check_and_send(page: Page, axe: Callable[[], None]) -> None:
    """On "check your answers": checked with axe, then sent with Enter on its button."""
    assert page.inner_text("h1").endswith("Check your answers before sending them")
    axe()
    press_button(page, "send")
    assert page.url.endswith("/s/placement-quality/thanks")
    assert "Thank you: your answers have been saved" in page.inner_text("h1")
    assert "What happens next" in page.inner_text("main")
    axe()


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
    on_section(page, 1, "About you and your placement")

    if link == "open link":
        press_until_focused(page, "Tab", "#organisation")
        page.keyboard.type("Cathedral")  # a closed select's type-ahead, as on any keyboard
        assert page.input_value("#organisation") == "P-EK1"
    choose_radio(page, "profession", "pharmacist")
    choose_radio(page, "stage", "newly-qualified")
    press_button(page, "continue")
    axe()
    on_section(page, 2, "Induction")
    choose_radio(page, "ind_welcome", "2")
    press_button(page, "continue", key="Space")
    axe()

    # Back to Induction with Space, and the answer given there is still chosen.
    on_section(page, 3, "Supervision")
    press_button(page, "back", key="Space")
    axe()
    on_section(page, 2, "Induction")
    assert page.is_checked('input[name="ind_welcome"][value="2"]')
    press_button(page, "continue")
    axe()
    choose_radio(page, "sup_named", "5")
    press_button(page, "continue")
    axe()
    continue_through(page, axe, 4, 8, {8: "Raising concerns"})
    on_section(page, 9, "Overall")
    choose_radio(page, "overall", "4")
    press_button(page, "continue")
    axe()
    on_section(page, 10, "In your own words")
    press_until_focused(page, "Tab", "#worked_well")
    page.keyboard.type(COMMENT)
    press_button(page, "continue")

    summary = page.inner_text("main")
    assert "Pharmacist" in summary and "Disagree" in summary and COMMENT in summary
    check_and_send(page, axe)
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
        assert db_session.exec(select(SavedAnswers)).all() == []


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
    choose_radio(page, "stage", "postgraduate")
    press_button(page, "continue", key="Space")  # "profession", a required answer, left out

    assert page.title().startswith("Error: ")
    # NHS.UK frontend moves focus to the summary so a screen reader announces the problem.
    assert focused_matches(page, ".nhsuk-error-summary")
    summary = page.inner_text(".nhsuk-error-summary")
    assert "There is a problem" in summary
    axe()
    assert page.inner_text(".app-progress__text") == f"Section 1 of {SECTIONS}"
    # The answers already given are kept.
    assert page.input_value("#organisation") == "P-EK2"
    assert page.is_checked('input[name="stage"][value="postgraduate"]')

    press_until_focused(page, "Tab", '.nhsuk-error-summary a[href="#profession"]', limit=5)
    page.keyboard.press("Enter")
    assert focused_matches(page, 'input[name="profession"]'), "the link did not move focus"
    press_until_focused(page, "ArrowDown", 'input[name="profession"][value="gp-trainee"]')
    page.keyboard.press("Space")
    press_button(page, "continue")
    axe()
    continue_through(page, axe, 2, 8, {})
    on_section(page, 9, "Overall")
    press_button(page, "continue")  # "overall", required, left out: refused on its page
    assert page.title().startswith("Error: Overall")
    assert focused_matches(page, ".nhsuk-error-summary")
    axe()
    assert db_session.exec(select(Response)).all() == []
    press_until_focused(page, "Tab", '.nhsuk-error-summary a[href="#overall"]', limit=5)
    page.keyboard.press("Enter")
    press_until_focused(page, "ArrowDown", 'input[name="overall"][value="3"]', limit=5)
    page.keyboard.press("Space")
    press_button(page, "continue")
    axe()
    press_button(page, "continue")  # "In your own words", left blank
    check_and_send(page, axe)
    response, answers = stored_answers(db_session, surveys["placement-quality"])
    assert db_session.get(Organisation, response.organisation_id).code == "P-EK2"
    assert answers == {"profession": "gp-trainee", "stage": "postgraduate", "overall": 3}


def test_saved_answers_carry_on_in_a_new_browser(
    page: Page,
    axe: Callable[[], None],
    browser: Browser,
    live_server: str,
    hubs: dict[str, Organisation],
    surveys: dict[str, Survey],
    db_session: Session,
) -> None:
    survey = surveys["placement-quality"]
    (issued,) = create_invitations(db_session, survey, hubs["P-EK1"], 1, "")
    page.goto(issued.url)
    axe()
    choose_radio(page, "profession", "medical-student")
    choose_radio(page, "stage", "pre-registration")
    press_button(page, "continue")
    axe()
    choose_radio(page, "ind_welcome", "4")
    press_button(page, "save")
    assert page.inner_text("h1") == "Your answers have been saved"
    axe()

    # A new browser (no cookies, nothing but the link) carries on at Induction.
    restarted = browser.new_context(base_url=live_server)
    try:
        again = restarted.new_page()
        again.goto(issued.url)
        assert again.inner_text(".app-progress__text") == f"Section 2 of {SECTIONS}"
        assert "Welcome back" in again.inner_text("main")
        assert again.is_checked('input[name="ind_welcome"][value="4"]')
        # The same page the first browser showed, so the axe run there stands for it; this
        # context is not the checked page's, so walk it to the end with the keyboard alone.
        for _ in range(2, SECTIONS + 1):
            if again.inner_text("h1").endswith("Overall"):
                choose_radio(again, "overall", "5")
            press_button(again, "continue")
        assert again.inner_text("h1").endswith("Check your answers before sending them")
        press_button(again, "send")
        assert again.url.endswith("/s/placement-quality/thanks")
    finally:
        restarted.close()
    _, answers = stored_answers(db_session, survey)
    assert answers == {
        "profession": "medical-student",
        "stage": "pre-registration",
        "ind_welcome": 4,
        "overall": 5,
    }
    assert db_session.exec(select(SavedAnswers)).all() == []


def test_the_survey_works_without_javascript(
    browser: Browser,
    live_server: str,
    hubs: dict[str, Organisation],
    surveys: dict[str, Survey],
    db_session: Session,
) -> None:
    """Every button is a form's submit button: nothing needs a script. (axe, itself a script,
    checks these same pages in the tests above.)"""
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/s/placement-quality")
        assert not page.evaluate("document.body.classList.contains('js-enabled')")
        press_until_focused(page, "Tab", "#organisation")
        page.keyboard.type("Vine")
        choose_radio(page, "profession", "paramedic")
        choose_radio(page, "stage", "experienced")
        press_button(page, "continue")
        press_button(page, "back")
        assert page.inner_text(".app-progress__text") == f"Section 1 of {SECTIONS}"
        assert page.is_checked('input[type="radio"][name="profession"][value="paramedic"]')
        for _ in range(SECTIONS):
            if page.inner_text("h1").endswith("Overall"):
                choose_radio(page, "overall", "2")
            press_button(page, "continue")
        press_button(page, "send")
        assert page.url.endswith("/s/placement-quality/thanks")
    finally:
        context.close()
    response, answers = stored_answers(db_session, surveys["placement-quality"])
    assert db_session.get(Organisation, response.organisation_id).code == "P-WK1"
    assert answers == {"profession": "paramedic", "stage": "experienced", "overall": 2}
