"""A long survey answered a section at a time: pages, Back, errors on one page, "check your
answers", save and come back with the same invitation link, and the closing page.

The client here behaves as a browser does: each post sends what the page's form holds (its
hidden fields, the radios checked, the option selected, the text in each box) with the
respondent's changes and the button pressed, and nothing else.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select
from werkzeug.datastructures import MultiDict

from survey_app.models import (
    Answer,
    Invitation,
    Organisation,
    Response,
    SavedAnswers,
    Survey,
)
from survey_app.models.surveys import new_definition_revision
from survey_app.services.definitions import load_definition_files
from survey_app.services.invitations import create_invitations
from survey_app.services.saved_answers import save_answers
from survey_app.services.waves import close_survey, forget_closed_wave_addresses
from tests.conftest import count_responses, release_held
from tests.test_respond import PLACEMENT

#: The placement survey's sections, in order: one page each.
PLACEMENT_SECTIONS = [
    "About you and your placement",
    "Induction",
    "Supervision",
    "Learning opportunities",
    "Facilities",
    "Teamwork and culture",
    "Support from educators",
    "Raising concerns",
    "Overall",
    "In your own words",
]
#: What a learner answers on each page of the placement survey (pages not named: nothing).
PLACEMENT_PAGES: dict[int, dict[str, str]] = {
    0: {"profession": "student-nurse", "stage": "pre-registration", "length": "2-to-4-weeks"},
    1: {"ind_welcome": "5", "ind_expectations": "2"},
    2: {"sup_named": "4"},
    4: {"fac_it": "1"},
    8: {"overall": "3", "recommend": "4"},
    9: {"worked_well": "The nurses' room was mine\r\non Tuesdays & Fridays <3"},
}


class FormOnPage(HTMLParser):
    """What the page's form would send, as a browser builds it: hidden inputs, checked radios,
    the selected option of each select (else its first), the text of each textarea; and the
    buttons' values of ACTION_FIELD."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[tuple[str, str]] = []
        #: The hidden fields, and the radios checked, by name.
        self.hidden: dict[str, str] = {}
        self.checked: dict[str, str] = {}
        self.buttons: list[str] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        name = attributes.get("name", "")
        if tag == "input" and name:
            kind, value = attributes.get("type", "text"), attributes.get("value", "")
            if kind == "hidden":
                self.hidden[name] = value
            elif kind == "radio" and "checked" in attributes:
                self.checked[name] = value
            else:
                return
            self.fields.append((name, value))
        elif tag == "button" and name == "_action":
            self.buttons.append(attributes.get("value", ""))
        elif tag == "select":
            self._select, self._options = name, []
        elif tag == "option" and self._select is not None:
            self._options.append((attributes.get("value", ""), "selected" in attributes))
        elif tag == "textarea":
            self._textarea, self._text = name, []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._options if selected]
            first = [value for value, _ in self._options[:1]]
            self.fields.append((self._select, (chosen or first or [""])[0]))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops the one line break that may follow <textarea>.
            self.fields.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None


def form_on(html: str) -> FormOnPage:
    reader = FormOnPage()
    reader.feed(html)
    reader.close()
    return reader


def press(client: FlaskClient, url: str, page: Any, action: str, **answers: str | None) -> Any:
    """Press the button sending `action` on `page` (a response), after giving `answers` (None
    clears an answer: a radio left unchecked, an empty box)."""
    form = form_on(page.text)
    assert action in form.buttons, f"no {action!r} button on the page; it has {form.buttons}"
    data = MultiDict([(name, value) for name, value in form.fields if name not in answers])
    for name, value in answers.items():
        if value is not None:
            data.add(name, value)
    data.add("_action", action)
    return client.post(url, data=data)


def heading(html: str) -> str:
    """The page's h1 as read aloud: its text with the white space squeezed."""
    match = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert match, "the page has no h1"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def progress(html: str) -> str | None:
    match = re.search(r'<p class="app-progress__text"[^>]*>(.*?)</p>', html, re.S)
    return " ".join(match.group(1).split()) if match else None


def hidden_answers(html: str) -> dict[str, str]:
    """The answers a page carries from other pages in hidden fields."""
    hidden = form_on(html).hidden
    return {
        name: value
        for name, value in hidden.items()
        if not name.startswith("_") and name not in ("csrf_token", "submission_key")
    }


def checked(html: str, name: str) -> str | None:
    """The value of the radio `name` the page shows checked."""
    return form_on(html).checked.get(name)


def walk_to_check_page(
    client: FlaskClient, url: str, pages: dict[int, dict[str, str]], count: int
) -> Any:
    """From the first page, give each page's answers and press Continue, to "check your
    answers"; every page must be the next section."""
    page = client.get(url)
    assert page.status_code == 200
    for index in range(count):
        assert progress(page.text) == f"Section {index + 1} of {count}"
        page = press(client, url, page, "continue", **pages.get(index, {}))
        assert page.status_code == 200, page.text
    assert "Check your answers before sending them" in heading(page.text)
    return page


def stored_by_code(session: Session, survey: Survey) -> dict[str, Any]:
    """The one stored response's answers by question code: the scale value, the option's code
    or the text, as stored; an invited answer to the placement survey is released from holding
    first."""
    release_held(session)
    response = session.exec(select(Response)).one()
    questions = {question.id: question for question in survey.questions}
    stored: dict[str, Any] = {}
    for answer in session.exec(select(Answer).where(Answer.response_id == response.id)):
        question = questions[answer.question_id]
        if answer.option_id is not None:
            stored[question.code] = next(
                o.code for o in question.options if o.id == answer.option_id
            )
        else:
            stored[question.code] = answer.value if answer.value is not None else answer.text
    return stored


def expected_by_code(pages: dict[int, dict[str, str]], survey: Survey) -> dict[str, Any]:
    """What storing `pages` must give, worked out from the answers alone: Likert answers as
    numbers, options as codes, texts trimmed."""
    types = {question.code: question.type for question in survey.questions}
    expected: dict[str, Any] = {}
    for answers in pages.values():
        for code, value in answers.items():
            if code in types:
                expected[code] = int(value) if types[code] == "likert" else value.strip()
    return expected


def saved_rows(session: Session) -> list[SavedAnswers]:
    session.expire_all()
    return list(session.exec(select(SavedAnswers)).all())


def invite(session: Session, survey: Survey, org_code: str) -> str:
    organisation = session.exec(select(Organisation).where(Organisation.code == org_code)).one()
    [issued] = create_invitations(session, survey, organisation, 1, "http://testserver")
    return f"/s/{survey.slug}/{issued.token}"


# --- walking the pages -------------------------------------------------------------------------


def test_walking_the_pages_stores_every_answer_given(
    client: FlaskClient, hubs: Any, db_session: Session, surveys: dict[str, Survey]
) -> None:
    survey = surveys["placement-quality"]
    first = client.get(PLACEMENT)
    assert progress(first.text) == "Section 1 of 10"
    assert heading(first.text) == f"{survey.title} – About you and your placement"
    assert (
        "<title>About you and your placement – Primary care placement quality survey" in first.text
    )
    submission_key = dict(form_on(first.text).fields)["submission_key"]
    pages = {**PLACEMENT_PAGES, 0: {"organisation": "P-EK2", **PLACEMENT_PAGES[0]}}

    page = first
    for index, section in enumerate(PLACEMENT_SECTIONS):
        assert heading(page.text).endswith(section)
        assert dict(form_on(page.text).fields)["submission_key"] == submission_key
        page = press(client, PLACEMENT, page, "continue", **pages.get(index, {}))
        assert page.status_code == 200
        assert count_responses(db_session) == 0  # nothing is stored before it is sent
    check = page.text
    assert "Check your answers before sending them" in heading(check)
    # Pages holding answers are kept by no cache (a shared computer's back button included).
    assert page.headers["Cache-Control"] == "no-store"
    assert first.headers["Cache-Control"] == "no-store"
    assert "Harbour Surgery (P-EK2)" in check and "Student nurse" in check
    assert "Strongly agree" in check  # ind_welcome = 5, shown by its label
    assert "Not answered" in check  # ind_orientation
    assert dict(form_on(check).fields)["submission_key"] == submission_key

    sent = press(client, PLACEMENT, page, "send")
    assert sent.status_code == 303
    assert sent.headers["Location"].endswith("/s/placement-quality/thanks")
    assert stored_by_code(db_session, survey) == expected_by_code(pages, survey)
    stored = db_session.exec(select(Response)).one()
    assert db_session.get(Organisation, stored.organisation_id).code == "P-EK2"
    # The key drawn for the first page is the one stored: sending again stores nothing more.
    assert stored.submission_key == submission_key
    assert press(client, PLACEMENT, page, "send").status_code == 303
    assert count_responses(db_session) == 1


def test_back_keeps_the_answers_of_every_page(client: FlaskClient, hubs: Any) -> None:
    first = client.get(PLACEMENT)
    second = press(client, PLACEMENT, first, "continue", organisation="P-WK1", **PLACEMENT_PAGES[0])
    assert progress(second.text) == "Section 2 of 10"
    assert "back" not in form_on(first.text).buttons  # the first page has nowhere to go back to
    # An answer given on this page, then Back (no validation: nothing required is missing).
    back = press(client, PLACEMENT, second, "back", ind_welcome="5")
    assert back.status_code == 200
    assert progress(back.text) == "Section 1 of 10"
    assert checked(back.text, "profession") == "student-nurse"
    assert checked(back.text, "stage") == "pre-registration"
    assert 'value="P-WK1" selected' in back.text or 'selected value="P-WK1"' in back.text
    assert hidden_answers(back.text) == {"ind_welcome": "5"}
    again = press(client, PLACEMENT, back, "continue")
    assert progress(again.text) == "Section 2 of 10"
    assert checked(again.text, "ind_welcome") == "5"


def test_continue_checks_only_this_page_and_refuses_with_a_message(
    client: FlaskClient, hubs: Any, db_session: Session
) -> None:
    first = client.get(PLACEMENT)
    refused = press(
        client, PLACEMENT, first, "continue", organisation="P-EK1", stage="postgraduate"
    )
    assert refused.status_code == 400
    assert progress(refused.text) == "Section 1 of 10"
    assert "<title>Error: About you and your placement" in refused.text
    assert "There is a problem" in refused.text
    assert 'href="#profession"' in refused.text
    assert "Select an answer to this question" in refused.text
    # The required "overall" on a later page is not judged yet.
    assert 'href="#overall"' not in refused.text
    assert checked(refused.text, "stage") == "postgraduate"  # the answers given are kept
    assert count_responses(db_session) == 0

    # On the last page: a text over the limit is refused there, with its length.
    page = press(client, PLACEMENT, refused, "continue", profession="pharmacist")
    for _ in range(8):
        page = press(client, PLACEMENT, page, "continue", overall="4")
    assert progress(page.text) == "Section 10 of 10"
    too_long = press(client, PLACEMENT, page, "continue", worked_well="x" * 5001)
    assert too_long.status_code == 400
    assert 'href="#worked_well"' in too_long.text and "it has 5,001" in too_long.text
    assert count_responses(db_session) == 0


def test_a_fault_found_when_sending_shows_its_own_page(
    client: FlaskClient, hubs: Any, db_session: Session
) -> None:
    pages = {0: {"organisation": "P-EK1", **PLACEMENT_PAGES[0]}, 8: {"overall": "4"}}
    check = walk_to_check_page(client, PLACEMENT, pages, len(PLACEMENT_SECTIONS))
    # The "overall" answer, carried in a hidden field, is lost on the way (or tampered with).
    refused = press(client, PLACEMENT, check, "send", overall=None)
    assert refused.status_code == 400
    assert progress(refused.text) == "Section 9 of 10"
    assert 'href="#overall"' in refused.text
    assert count_responses(db_session) == 0
    # Fixed there, Continue goes straight back to "check your answers".
    fixed = press(client, PLACEMENT, refused, "continue", overall="2")
    assert "Check your answers before sending them" in heading(fixed.text)
    assert press(client, PLACEMENT, fixed, "send").status_code == 303
    assert count_responses(db_session) == 1


def test_change_on_check_your_answers_returns_there(
    client: FlaskClient, hubs: Any, db_session: Session, surveys: dict[str, Survey]
) -> None:
    pages = {0: {"organisation": "P-EK1", **PLACEMENT_PAGES[0]}, 8: {"overall": "4"}}
    check = walk_to_check_page(client, PLACEMENT, pages, len(PLACEMENT_SECTIONS))
    assert "change-2" in form_on(check.text).buttons
    supervision = press(client, PLACEMENT, check, "change-2")
    assert progress(supervision.text) == "Section 3 of 10"
    back_to_check = press(client, PLACEMENT, supervision, "continue", sup_scope="1")
    assert "Check your answers before sending them" in heading(back_to_check.text)
    assert press(client, PLACEMENT, back_to_check, "send").status_code == 303
    stored = stored_by_code(db_session, surveys["placement-quality"])
    assert stored["sup_scope"] == 1 and stored["overall"] == 4


def test_the_whole_survey_in_one_post_is_still_stored(
    client: FlaskClient, hubs: Any, db_session: Session, surveys: dict[str, Survey]
) -> None:
    """As before pages, and as the load benchmark posts: every answer at once, with the first
    page's hidden fields (so a page is named) but no button."""
    survey = surveys["placement-quality"]
    answers = {
        "organisation": "P-SX1",
        **{k: v for p in PLACEMENT_PAGES.values() for k, v in p.items()},
    }
    first = form_on(client.get(PLACEMENT).text)
    sent = client.post(PLACEMENT, data={**dict(first.fields), **answers})
    assert sent.status_code == 303
    assert stored_by_code(db_session, survey) == expected_by_code(PLACEMENT_PAGES, survey)
    # With a fault, the page holding it is shown with the message; nothing more is stored.
    first = form_on(client.get(PLACEMENT).text)
    refused = client.post(PLACEMENT, data={**dict(first.fields), **answers, "fac_it": "9"})
    assert refused.status_code == 400
    assert progress(refused.text) == "Section 5 of 10"
    assert 'href="#fac_it"' in refused.text
    assert count_responses(db_session) == 1


def test_a_survey_of_one_section_is_one_page(
    client: FlaskClient, hubs: Any, db_session: Session, tmp_path: Any
) -> None:
    definition = tmp_path / "one.yaml"
    definition.write_text(
        """
slug: one-section
title: A survey of one section
anonymous: true
allow_open_link: true
organisation: {text: "Where was your placement?", levels: [practice]}
scales:
  agreement: [{value: 1, label: Disagree}, {value: 2, label: Neither}, {value: 3, label: Agree}]
themes: [{code: welcome, title: Welcome}]
sections:
  - title: Your placement
    questions:
      - {code: welcomed, type: likert, scale: agreement, theme: welcome, text: I was welcomed.}
      - {code: comments, type: text, text: "Anything else?"}
""",
        encoding="utf-8",
    )
    load_definition_files(db_session, [definition])
    survey = db_session.exec(select(Survey).where(Survey.slug == "one-section")).one()
    close_or_open = survey.current_wave
    close_or_open.open()
    db_session.add(close_or_open)
    db_session.commit()
    page = client.get("/s/one-section")
    assert progress(page.text) is None
    assert heading(page.text) == "A survey of one section"
    assert form_on(page.text).buttons == ["send"]
    sent = press(client, "/s/one-section", page, "send", organisation="P-EK1", welcomed="2")
    assert sent.status_code == 303
    assert stored_by_code(db_session, survey) == {"welcomed": 2}


def test_a_changed_definition_changes_a_later_page(
    client: FlaskClient, hubs: Any, db_session: Session, surveys: dict[str, Survey]
) -> None:
    """Blank pages are rendered once per process: a later page must still follow the
    definition as it is now."""
    survey = surveys["placement-quality"]
    first = client.get(PLACEMENT)
    second = press(client, PLACEMENT, first, "continue", organisation="P-EK1", **PLACEMENT_PAGES[0])
    question = next(q for q in survey.questions if q.code == "ind_welcome")
    assert question.text in second.text
    question.text = "I was welcomed warmly on my first day"
    survey.definition_revision = new_definition_revision()  # as loading a changed file does
    db_session.add_all([question, survey])
    db_session.commit()
    again = press(
        client,
        PLACEMENT,
        client.get(PLACEMENT),
        "continue",
        organisation="P-EK1",
        **PLACEMENT_PAGES[0],
    )
    assert "I was welcomed warmly on my first day" in again.text


# --- save and come back ------------------------------------------------------------------------


def test_save_and_come_back_in_a_new_browser(
    app: Flask, hubs: Any, db_session: Session, surveys: dict[str, Survey]
) -> None:
    survey = surveys["placement-quality"]
    url = invite(db_session, survey, "P-WK1")
    browser = app.test_client()
    page = browser.get(url)
    assert "You are answering about <strong>Vine Surgery</strong>" in page.text
    assert "save" in form_on(page.text).buttons
    page = press(browser, url, page, "continue", **PLACEMENT_PAGES[0])
    page = press(browser, url, page, "continue", **PLACEMENT_PAGES[1])
    left_open = page
    saved = press(browser, url, page, "save", sup_named="4")
    assert saved.status_code == 200
    assert "Your answers have been saved" in saved.text
    assert "open the link you were sent again" in saved.text
    [row] = saved_rows(db_session)
    assert json.loads(row.answers) == {**PLACEMENT_PAGES[0], **PLACEMENT_PAGES[1], "sup_named": "4"}
    assert row.page == 2

    # A browser restart: a new cookie jar, nothing but the link.
    restarted = app.test_client()
    resumed = restarted.get(url)
    assert resumed.status_code == 200
    assert progress(resumed.text) == "Section 3 of 10"
    assert "Welcome back" in resumed.text
    assert checked(resumed.text, "sup_named") == "4"
    assert hidden_answers(resumed.text) == {**PLACEMENT_PAGES[0], **PLACEMENT_PAGES[1]}
    back = press(restarted, url, resumed, "back")
    assert checked(back.text, "ind_welcome") == "5"

    pages = {index: answers for index, answers in PLACEMENT_PAGES.items() if index > 1}
    page = press(restarted, url, back, "continue")
    for index in range(2, len(PLACEMENT_SECTIONS)):
        page = press(restarted, url, page, "continue", **pages.get(index, {}))
    assert len(saved_rows(db_session)) == 1  # kept as the pages went by
    sent = press(restarted, url, page, "send")
    assert sent.status_code == 303
    given = {**PLACEMENT_PAGES, 2: {"sup_named": "4"}}
    assert stored_by_code(db_session, survey) == expected_by_code(given, survey)

    # The saved answers went with the submission, and nothing stored points to the link.
    assert saved_rows(db_session) == []
    invitation = db_session.exec(select(Invitation)).one()
    assert invitation.used_at is not None
    assert not [
        c
        for c in Response.__table__.columns
        if c.foreign_keys and "invitation" in str(c.foreign_keys)
    ]
    # The page left open in the first browser is now of a used link.
    assert press(browser, url, left_open, "continue").status_code == 410
    assert saved_rows(db_session) == []


def test_every_page_change_is_saved_for_an_invitation(
    app: Flask, db_session: Session, surveys: dict[str, Survey]
) -> None:
    url = invite(db_session, surveys["icb-leaders"], "QKS")
    browser = app.test_client()
    page = browser.get(url)
    assert progress(page.text) == "Section 1 of 5"
    page = press(browser, url, page, "continue", fund_government="2")
    page = press(browser, url, page, "continue", rec_gps="4")
    page = press(browser, url, page, "back")
    [row] = saved_rows(db_session)
    assert json.loads(row.answers) == {"fund_government": "2", "rec_gps": "4"}
    assert row.page == 2  # the first page not completed, though Back showed the one before

    other = app.test_client().get(url)
    assert progress(other.text) == "Section 3 of 5"


def test_saved_answers_are_checked_again_when_resumed(
    app: Flask, hubs: Any, db_session: Session, surveys: dict[str, Survey]
) -> None:
    """The definition may have changed since: an option no longer offered is dropped and its
    page resumed; an answer to a question no longer asked is ignored."""
    url = invite(db_session, surveys["placement-quality"], "P-EK1")
    invitation = db_session.exec(select(Invitation)).one()
    saved = {"profession": "astronaut", "stage": "experienced", "retired_question": "5"}
    assert save_answers(db_session, invitation, saved, page=4)
    resumed = app.test_client().get(url)
    assert resumed.status_code == 200
    assert progress(resumed.text) == "Section 1 of 10"
    assert checked(resumed.text, "profession") is None
    assert checked(resumed.text, "stage") == "experienced"
    assert "retired_question" not in resumed.text
    assert "There is a problem" not in resumed.text


def test_saving_never_keeps_answers_a_question_refuses(
    app: Flask, db_session: Session, surveys: dict[str, Survey]
) -> None:
    url = invite(db_session, surveys["icb-leaders"], "QKS")
    browser = app.test_client()
    page = browser.get(url)
    for _ in range(4):
        page = press(browser, url, page, "continue")
    refused = press(browser, url, page, "save", icb_support="x" * 5001, one_change="Money")
    assert refused.status_code == 400
    assert 'href="#icb_support"' in refused.text
    assert json.loads(saved_rows(db_session)[0].answers) == {}
    assert press(browser, url, refused, "save", icb_support="Mentoring").status_code == 200
    assert json.loads(saved_rows(db_session)[0].answers) == {
        "icb_support": "Mentoring",
        "one_change": "Money",
    }


def test_a_used_invitation_keeps_no_answers(
    client: FlaskClient, db_session: Session, surveys: dict[str, Survey]
) -> None:
    """Saving after the link was used, as a tab left open would, keeps nothing: kept, the
    answers would tie the stored response to its invitation."""
    url = invite(db_session, surveys["icb-leaders"], "QKS")
    invitation = db_session.exec(select(Invitation)).one()
    assert save_answers(db_session, invitation, {"fund_government": "2"}, page=1)
    page = client.get(url)
    assert progress(page.text) == "Section 2 of 5"
    check = page
    for _ in range(4):
        check = press(client, url, check, "continue", on_record="no")
    assert press(client, url, check, "send").status_code == 303
    assert saved_rows(db_session) == []
    db_session.refresh(invitation)
    assert save_answers(db_session, invitation, {"fund_government": "3"}, page=2) is False
    assert saved_rows(db_session) == []


@pytest.mark.parametrize("closed", ["by hand", "by its closing date"])
def test_a_closed_wave_keeps_no_saved_answers(
    client: FlaskClient, db_session: Session, surveys: dict[str, Survey], closed: str
) -> None:
    survey = surveys["icb-leaders"]
    url = invite(db_session, survey, "QKS")
    invitation = db_session.exec(select(Invitation)).one()
    assert save_answers(db_session, invitation, {"fund_government": "2"}, page=1)
    if closed == "by hand":
        close_survey(db_session, survey)
    else:
        wave = survey.current_wave
        wave.closes_at = datetime.now(UTC) - timedelta(minutes=1)
        db_session.add(wave)
        db_session.commit()
        assert saved_rows(db_session) != []  # nothing happens at the closing moment itself
        forget_closed_wave_addresses(db_session, datetime.now(UTC))  # as `purge` runs it
    assert saved_rows(db_session) == []
    assert client.get(url).status_code == 404


def test_an_open_link_offers_no_saving_and_keeps_nothing(
    client: FlaskClient, hubs: Any, db_session: Session
) -> None:
    first = client.get(PLACEMENT)
    assert "save" not in form_on(first.text).buttons
    second = press(client, PLACEMENT, first, "continue", organisation="P-EK1", **PLACEMENT_PAGES[0])
    assert press(client, PLACEMENT, second, "back").status_code == 200
    assert saved_rows(db_session) == []


# --- the closing page --------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["placement-quality", "icb-leaders"])
def test_the_closing_page_says_what_happens_next(
    app: Flask, client: FlaskClient, surveys: dict[str, Survey], slug: str
) -> None:
    app.config["SUPPRESSION_MIN_N"] = 7
    page = client.get(f"/s/{slug}/thanks")
    assert page.status_code == 200
    text = " ".join(re.sub(r"<[^>]+>", " ", page.text).split())
    assert "Thank you: your answers have been saved" in text
    assert "What happens next" in text
    assert "groups of at least 7 people" in text
    assert "When this round of the survey closes" in text
    assert "You can now close this page." in text
    if slug == "placement-quality":
        assert "stored anonymously" in text
        assert "raise it now with your placement's educational lead" in text
        assert "quality lead reviews the results" in text
    else:
        # Not anonymous: the page must not say it is.
        assert "anonymous" not in text.lower()
        assert "only quote you and name your ICB if you said we may" in text


def test_each_section_page_shows_its_introduction(client: FlaskClient, hubs: Any) -> None:
    """The definition's section intros (the free-text section asks learners not to name
    patients or staff) stand under their page's heading, and on no other page."""
    page = client.get(PLACEMENT)
    seen = {}
    for index in range(len(PLACEMENT_SECTIONS)):
        seen[heading(page.text)] = page.text
        answers = PLACEMENT_PAGES.get(index, {}) | ({"organisation": "P-EK1"} if index == 0 else {})
        page = press(client, PLACEMENT, page, "continue", **answers)
        assert page.status_code == 200, heading(page.text)
    own_words = next(text for title, text in seen.items() if "In your own words" in title)
    assert "Please do not name patients or members of staff." in own_words
    induction = next(text for title, text in seen.items() if "Induction" in title)
    assert "How far do you agree with each statement about the start of your" in induction
    assert "Please do not name patients" not in induction
