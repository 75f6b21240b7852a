"""A new admin's first wave, in Chromium, from the demo data: closes the placement survey's
open wave, starts and opens a new one, invites three learners at one hub by email (through an
SMTP server on this host), one learner answers through the emailed link in their own browser,
the admin watches the response rate move, reminds the other two, closes the wave and downloads
the wave's report as a PDF. axe checks every page on the way."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pytest
from pypdf import PdfReader
from sqlmodel import Session, col, select

from survey_app.demo import DEMO_USERS, DemoSummary
from survey_app.models import Organisation, OrgLevel
from tests.browser.conftest import RENDER_TIMEOUT_MS, Visitor, sign_in_with_keyboard
from tests.test_invitations_mail import Mailbox

if TYPE_CHECKING:  # Playwright may be absent: the tests are then skipped, not broken
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

SURVEY = "placement-quality"
TITLE = "Primary care placement quality survey"
WAVE_NAME = "Spring 2027 rotation"
LEARNERS = (
    "amira.khan@student.example.ac.uk",
    "ben.osei@example.nhs.uk",
    "cara.lewis@student.example.ac.uk",
)


def practices_in_three_pcns(session: Session, hub_code: str) -> tuple[Organisation, ...]:
    """The first practice (by code) of each of the first three PCNs (by code) of the hub."""
    hub = session.exec(select(Organisation).where(Organisation.code == hub_code)).one()
    pcns = session.exec(
        select(Organisation)
        .where(Organisation.level == OrgLevel.PCN, Organisation.hub_id == hub.id)
        .order_by(col(Organisation.code))
        .limit(3)
    ).all()
    practices = tuple(
        session.exec(
            select(Organisation)
            .where(Organisation.level == OrgLevel.PRACTICE, Organisation.pcn_id == pcn.id)
            .order_by(col(Organisation.code))
            .limit(1)
        ).one()
        for pcn in pcns
    )
    assert len(practices) == 3, f"{hub_code} has fewer than three PCNs"
    return practices


def links_by_learner(messages: list[EmailMessage], subject: str) -> dict[str, str]:
    """Each message's recipient and the survey link in its text, for the messages with
    `subject`; fails if a message has no link or two."""
    found = {}
    for message in messages:
        if message["Subject"] != subject:
            continue
        links = re.findall(rf"https?://\S+/s/{SURVEY}/\S+", message.get_content())
        assert len(links) == 1, f"to {message['To']}: {links}"
        found[str(message["To"])] = links[0]
    return found


def counts(page: Page) -> dict[str, str]:
    """The invitations page's table of counts, by the row's data-count name."""
    return page.eval_on_selector_all(
        "td[data-count]",
        "cells => Object.fromEntries(cells.map(cell => [cell.dataset.count, cell.innerText]))",
    )


def rates_row(page: Page, name: str) -> list[str]:
    """The figures (invited, answered, rate) of the response-rate table's row named `name`."""
    row = page.get_by_role("row", name=re.compile(re.escape(name)))
    return row.inner_text().split("\t")[1:]


def click_and_wait(page: Page, name: str, role: Literal["button", "link"] = "button") -> None:
    """Clicks the button (or link) named exactly `name` and waits for the page it leads to."""
    with page.expect_navigation():
        page.get_by_role(role, name=name, exact=True).click()


def flash(page: Page) -> str:
    """The message the last action left at the top of the page."""
    return page.locator(".app-flash").inner_text()


def answer_as_learner(learner: Visitor, link: str, practice: Organisation) -> None:
    """The learner follows their emailed link and answers a section a page, by clicking, then
    checks their answers and sends them."""
    page, axe = learner.page, learner.axe
    page.goto(link)
    assert f"You are answering about {practice.name}" in page.inner_text("main")
    axe()
    page.check('input[name="profession"][value="physician-associate"]')
    page.check('input[name="stage"][value="postgraduate"]')
    answers = {2: "ind_welcome", 3: "sup_named", 9: "overall"}
    for section in range(1, 11):
        assert page.inner_text(".app-progress__text") == f"Section {section} of 10"
        if section in answers:
            page.check(f'input[name="{answers[section]}"][value="4"]')
        click_and_wait(page, "Continue")
        axe()
    assert page.inner_text("h1").endswith("Check your answers before sending them")
    assert "Physician associate" in page.inner_text("main")
    click_and_wait(page, "Send my answers")
    assert "Thank you: your answers have been saved" in page.inner_text("h1")
    axe()


def test_new_admin_runs_a_wave_from_invitations_to_report(
    page: Page,
    axe: Callable[[], None],
    new_visitor: Callable[[], Visitor],
    mailbox: Mailbox,
    demo: DemoSummary,
    db_session: Session,
    tmp_path: Path,
) -> None:
    admin = next(login for login in DEMO_USERS if login.role.value == "admin")
    hub = db_session.exec(
        select(Organisation).where(Organisation.name == "East Kent Training Hub")
    ).one()
    practices = practices_in_three_pcns(db_session, hub.code)
    pcns = [db_session.get(Organisation, practice.pcn_id) for practice in practices]

    page.goto("/login")
    axe()
    sign_in_with_keyboard(page, admin.email, admin.password)
    axe()

    # An admin opens and closes a wave: the demo's wave 2 closed, wave 3 started and opened.
    click_and_wait(page, "Admin", role="link")
    axe()
    click_and_wait(page, "Surveys", role="link")
    axe()
    click_and_wait(page, TITLE, role="link")
    axe()
    click_and_wait(page, "Close wave 2 now")
    assert "wave 2 (" in flash(page) and "is closed: it takes no more answers" in flash(page)
    axe()
    page.get_by_label("Name of the new wave").fill(WAVE_NAME)
    click_and_wait(page, "Start wave 3")
    assert f"Wave 3 of {TITLE} ({WAVE_NAME}) is started." in flash(page)
    axe()
    click_and_wait(page, "Open wave 3 now")
    assert f"wave 3 ({WAVE_NAME}), is open" in flash(page)
    waves = page.get_by_role("table", name=re.compile("Waves of this survey"))
    assert re.search(rf"3: {WAVE_NAME}\s+Open", waves.inner_text())
    assert re.search(r"2: .*\s+Closed", waves.inner_text())
    assert page.get_by_role("button", name="Close wave 3 now").is_visible()
    axe()

    # Three learners at practices of one hub, invited from a CSV file, then emailed.
    click_and_wait(page, "Invite learners and send reminders for the current wave", role="link")
    assert page.inner_text("h1").endswith(f"Invitations to {WAVE_NAME}")
    axe()
    learners_file = tmp_path / "east-kent-learners.csv"
    learners_file.write_text(
        "email,org_code\n"
        + "".join(f"{email},{p.code}\n" for email, p in zip(LEARNERS, practices, strict=True))
    )
    page.set_input_files("input[type=file]", learners_file)
    click_and_wait(page, "Invite these learners")
    assert f"3 learners invited to {WAVE_NAME}" in flash(page)
    assert counts(page)["learners-invited-by-email"] == "3"
    assert counts(page)["waiting-to-be-sent"] == "3"
    assert mailbox.messages == [], "uploading sends nothing"
    axe()
    click_and_wait(page, "Send the invitations")
    assert "3 invitations sent." in flash(page)
    assert counts(page)["sent"] == "3" and counts(page)["answered"] == "0"
    axe()
    invitations = links_by_learner(mailbox.messages, f"{TITLE}: your invitation")
    assert sorted(invitations) == sorted(LEARNERS)
    assert len(set(invitations.values())) == 3, "each learner has their own link"

    # The response rates of the hub before anyone answers: 3 invited, none answered.
    page.goto("/reports")
    axe()
    placement = page.locator("section", has=page.locator(f"#survey-{SURVEY}"))
    with page.expect_navigation():
        placement.get_by_role("link", name="response rates in England").click()
    axe()
    page.select_option("#scope", hub.code)
    click_and_wait(page, "Show response rates")
    rates_url = page.url
    assert page.inner_text("h1").endswith(f"Response rates in {hub.name}")
    assert WAVE_NAME in page.inner_text("main")
    assert rates_row(page, f"All of {hub.name}") == ["3", "0", "0%"]
    for pcn in pcns:
        assert rates_row(page, pcn.name) == ["1", "0", "0%"]
    axe()

    # The first learner answers in their own browser, not signed in.
    learner = new_visitor()
    answer_as_learner(learner, invitations[LEARNERS[0]], practices[0])

    # The rate moves; one answer is fewer than 5, so the dashboard withholds the number and
    # the rate, for the hub and for the learner's PCN; none answered is shown as 0.
    page.goto(rates_url)
    assert rates_row(page, f"All of {hub.name}") == ["3", "fewer than 5", "withheld"]
    assert rates_row(page, pcns[0].name) == ["1", "fewer than 5", "withheld"]
    for pcn in pcns[1:]:
        assert rates_row(page, pcn.name) == ["1", "0", "0%"]
    assert page.inner_text("[data-rates-responses]") == "fewer than 5"
    axe()
    # The admin's own invitations page counts invitations, not responses, and shows them all.
    page.goto(f"/admin/surveys/{SURVEY}/invitations")
    assert counts(page)["answered"] == "1"
    assert counts(page)["due-a-reminder-now"] == "2"
    axe()

    # Reminders go to the two who have not answered, with the links they were sent.
    before = len(mailbox.messages)
    click_and_wait(page, "Send reminders")
    assert "2 reminders sent." in flash(page)
    assert counts(page)["reminded"] == "2" and counts(page)["due-a-reminder-now"] == "0"
    axe()
    reminders = links_by_learner(mailbox.messages[before:], f"Reminder: {TITLE}")
    assert len(mailbox.messages) - before == 2
    assert reminders == {email: invitations[email] for email in LEARNERS[1:]}

    # The wave closes; the links stop working.
    click_and_wait(page, TITLE, role="link")
    axe()
    click_and_wait(page, "Close wave 3 now")
    assert f"wave 3 ({WAVE_NAME}), is closed" in flash(page)
    axe()
    learner.page.goto(invitations[LEARNERS[1]])
    assert learner.page.inner_text("h1") == "This survey is not available"
    assert learner.page.locator("input[name='profession']").count() == 0
    learner.axe()

    # The wave's report, for the hub, as a PDF.
    page.goto("/reports")
    axe()
    placement = page.locator("section", has=page.locator(f"#survey-{SURVEY}"))
    with page.expect_navigation():
        placement.get_by_role("link", name="See the report for England").click()
    axe()
    page.select_option("#scope", hub.code)
    page.select_option("#wave", "3")
    click_and_wait(page, "Show report")
    assert f"{hub.name}, wave 3: {WAVE_NAME}" in page.inner_text("h1")
    axe()
    with page.expect_download(timeout=RENDER_TIMEOUT_MS) as download_info:
        page.get_by_role("link", name="Download this report as PDF").click()
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(saved).pages).split())
    assert f"Wave 3: {WAVE_NAME}" in text
    assert hub.name in text
