"""Learners invited by email: the CSV upload, sending through a real SMTP server (aiosmtpd on
127.0.0.1), following the emailed links, reminders only to those who have not answered, what
a mail server failure leaves behind, and the command line."""

from __future__ import annotations

import csv
import html
import io
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlmodel import Session, select

from survey_app.config import Config, ConfigError
from survey_app.models import AuditAction, AuditEvent, Invitation, Response, Survey, User
from survey_app.services.mail import MailSettings, blank_addresses
from survey_app.services.mailing import (
    InvitationLetter,
    MailingReport,
    send_invitations,
    uk_date_and_time,
)
from survey_app.services.surveys import survey_by_slug
from tests.conftest import count_responses, count_submissions, csrf_token, release_held

ADMIN = "admin@example.nhs.uk"
PAGE = "/admin/surveys/placement-quality/invitations"
SENDER = "East Kent Training Hub <surveys@hub.example.nhs.uk>"
LEARNERS = ("ana.ng@student.example.ac.uk", "ben.ode@student.example.ac.uk", "cy.lu@example.nhs.uk")
INVITATION_ACTIONS = (
    AuditAction.LEARNERS_INVITED,
    AuditAction.INVITATIONS_SENT,
    AuditAction.REMINDERS_SENT,
)
LINK = re.compile(r"https?://\S+/s/placement-quality/(\S+)")


class Mailbox:
    """An aiosmtpd handler keeping each message it accepts; it can refuse chosen recipients
    and fail every message after a number of them, as a real server would."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()
        self.fail_after: int | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fail_after is not None and len(self.messages) >= self.fail_after:
            return "451 4.3.0 Mail server temporarily unavailable"
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mailbox(app: Flask) -> Iterator[Mailbox]:
    """An SMTP server on 127.0.0.1 the app sends through (no TLS: it is on this host)."""
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=controller.port,
        MAIL_USE_STARTTLS=False,
        MAIL_USE_SSL=False,
        MAIL_SENDER=SENDER,
        MAIL_TIMEOUT=5,
    )
    yield handler
    controller.stop()


@pytest.fixture
def admin(make_user: Callable[..., User], hubs: Any) -> User:
    return make_user(ADMIN, "admin", ())


@pytest.fixture
def as_admin(client: FlaskClient, admin: User, sign_in: Callable[..., Any]) -> FlaskClient:
    assert sign_in(ADMIN).status_code == 303
    return client


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None) -> Any:
    """POST with the CSRF token of the invitations page."""
    token = csrf_token(client.get(PAGE).text)
    return client.post(path, data={"csrf_token": token, **(data or {})})


def upload(client: FlaskClient, text: str, name: str = "learners.csv") -> Any:
    token = csrf_token(client.get(PAGE).text)
    return client.post(
        f"{PAGE}/learners",
        data={"csrf_token": token, "file": (io.BytesIO(text.encode("utf-8")), name)},
        content_type="multipart/form-data",
    )


def learners_csv(*rows: str) -> str:
    return "email,org_code\n" + "\n".join(rows) + "\n"


THREE = learners_csv(f"{LEARNERS[0]},P-EK1", f"{LEARNERS[1]},P-EK2", f"{LEARNERS[2]},N-EK1")


def text_of(response: Any) -> str:
    """A page's HTML with entities decoded and white space collapsed."""
    return re.sub(r"\s+", " ", html.unescape(response.text))


def invitations(db_session: Session) -> list[Invitation]:
    db_session.expire_all()
    return list(db_session.exec(select(Invitation).order_by(Invitation.id)).all())


def counts(page_html: str) -> dict[str, int]:
    """The invitations page's table of counts, by the row's data-count name."""
    return {
        name: int(value.replace(",", ""))
        for name, value in re.findall(r'data-count="([^"]+)">([\d,]+)<', page_html)
    }


def link_token(message: EmailMessage) -> str:
    match = LINK.search(message.get_content())
    assert match, message.get_content()
    return match.group(1)


def answer(client: FlaskClient, token: str) -> Any:
    """Answer the placement survey through an invitation link."""
    url = f"/s/placement-quality/{token}"
    page = client.get(url)
    assert page.status_code == 200
    return client.post(
        url,
        data={
            "csrf_token": csrf_token(page.text),
            "profession": "pharmacist",
            "stage": "newly-qualified",
            "length": "1-to-3-months",
            "ind_welcome": "4",
            "overall": "5",
        },
    )


def backdate_messages(db_session: Session, hours: float) -> None:
    """Move every invitation's sent and reminded times `hours` into the past."""
    earlier = timedelta(hours=hours)
    for invitation in invitations(db_session):
        if invitation.sent_at:
            invitation.sent_at -= earlier
        if invitation.reminded_at:
            invitation.reminded_at -= earlier
        db_session.add(invitation)
    db_session.commit()


def close_in_july(db_session: Session, survey: Survey) -> None:
    wave = survey.current_wave
    wave.closes_at = datetime(2030, 7, 5, 16, 0, tzinfo=UTC)  # 5pm in London (BST)
    db_session.add(wave)
    db_session.commit()


# --- invite, send, answer, remind -------------------------------------------------------------


def test_invited_learners_get_their_own_link_and_only_those_who_have_not_answered_are_reminded(
    as_admin: FlaskClient,
    mailbox: Mailbox,
    db_session: Session,
    surveys: dict[str, Survey],
) -> None:
    close_in_july(db_session, surveys["placement-quality"])
    assert counts(as_admin.get(PAGE).text)["learners-invited-by-email"] == 0
    uploaded = upload(as_admin, THREE)
    assert uploaded.status_code == 303
    page = as_admin.get(PAGE).text
    assert "3 learners invited" in page and "Nothing has been sent yet" in page
    assert counts(page)["learners-invited-by-email"] == 3
    assert counts(page)["waiting-to-be-sent"] == 3
    assert mailbox.messages == []

    sent = post(as_admin, f"{PAGE}/send")
    assert sent.status_code == 303
    assert "3 invitations sent." in as_admin.get(PAGE).text
    assert sorted(message["To"] for message in mailbox.messages) == sorted(LEARNERS)
    tokens = {message["To"]: link_token(message) for message in mailbox.messages}
    assert len(set(tokens.values())) == 3
    invitation = mailbox.to(LEARNERS[0])[0]
    text = invitation.get_content()
    assert invitation["From"] == SENDER
    assert invitation["Subject"] == "Primary care placement quality survey: your invitation"
    assert "East Kent Training Hub is asking you to answer" in text
    assert "Cathedral Surgery" in text  # the placement the answers will be about
    assert "- Questions: 28, about 8 minutes." in text
    assert "- Anonymous: yes. Nothing we store links your answers to you" in text
    assert "- Closes: Friday 5 July 2030 at 5pm." in text
    assert "We delete it when the survey closes" in text
    # Every link opens its own invitation form.
    for token in tokens.values():
        form = as_admin.get(f"/s/placement-quality/{token}")
        assert form.status_code == 200 and 'name="csrf_token"' in form.text
    stored = invitations(db_session)
    assert all(row.sent_at is not None and row.reminded_at is None for row in stored)

    assert answer(as_admin, tokens[LEARNERS[0]]).status_code == 303
    # Stored, held to become a response with others (anonymous survey).
    assert count_submissions(db_session) == 1 and count_responses(db_session) == 0

    # Straight after the invitations, those who have not answered may be reminded.
    assert counts(as_admin.get(PAGE).text)["due-a-reminder-now"] == 2
    assert post(as_admin, f"{PAGE}/remind").status_code == 303
    reminders = mailbox.messages[3:]
    assert sorted(message["To"] for message in reminders) == sorted(LEARNERS[1:])
    assert mailbox.to(LEARNERS[0])[1:] == []
    for reminder in reminders:
        assert reminder["Subject"] == "Reminder: Primary care placement quality survey"
        assert "because you have not answered" in reminder.get_content()
        assert "- Closes: Friday 5 July 2030 at 5pm." in reminder.get_content()
        # The same link as the invitation, and it still works.
        assert link_token(reminder) == tokens[reminder["To"]]
        assert as_admin.get(f"/s/placement-quality/{link_token(reminder)}").status_code == 200

    # Reminded just now: another press reminds no one, until a day has passed.
    assert post(as_admin, f"{PAGE}/remind").status_code == 303
    assert "0 reminders sent." in as_admin.get(PAGE).text
    assert len(mailbox.messages) == 5
    backdate_messages(db_session, hours=25)
    assert counts(as_admin.get(PAGE).text)["due-a-reminder-now"] == 2
    backdate_messages(db_session, hours=-25)
    page = as_admin.get(PAGE).text
    assert counts(page) == {
        "learners-invited-by-email": 3,
        "sent": 3,
        "waiting-to-be-sent": 0,
        "answered": 1,
        "reminded": 2,
        "due-a-reminder-now": 0,
        "links-handed-out-without-an-address": 0,
        "those-links-used": 0,
    }
    # The answered link is spent; the response carries no trace of the invitation.
    assert as_admin.get(f"/s/placement-quality/{tokens[LEARNERS[0]]}").status_code == 410
    assert release_held(db_session) == 1
    response = db_session.exec(select(Response)).one()
    assert response.submitted_at.time().isoformat() == "00:00:00"

    # The audit log has each step, with counts and never an address.
    events = {
        event.action: event
        for event in db_session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    }
    assert events[AuditAction.LEARNERS_INVITED.value].details["learners"] == 3
    assert events[AuditAction.INVITATIONS_SENT.value].details["sent"] == 3
    assert events[AuditAction.REMINDERS_SENT.value].details["sent"] == 0  # the last press
    reminder_events = db_session.exec(
        select(AuditEvent).where(AuditEvent.action == AuditAction.REMINDERS_SENT.value)
    ).all()
    assert [event.details["sent"] for event in reminder_events] == [2, 0]
    mine = {action.value for action in INVITATION_ACTIONS}
    everything = json.dumps(
        [
            (event.target, event.details)
            for event in db_session.exec(select(AuditEvent)).all()
            if event.action in mine
        ]
    )
    assert "@" not in everything


def test_sending_twice_sends_each_invitation_once(
    as_admin: FlaskClient, mailbox: Mailbox, surveys: Any
) -> None:
    upload(as_admin, THREE)
    post(as_admin, f"{PAGE}/send")
    post(as_admin, f"{PAGE}/send")
    assert len(mailbox.messages) == 3
    assert "0 invitations sent." in as_admin.get(PAGE).text


def service_send(app: Flask, engine_session: Session, **kwargs: Any) -> MailingReport:
    """`send_invitations` as the page calls it, on a session of its own."""
    survey = survey_by_slug(engine_session, "placement-quality")
    assert survey is not None
    return send_invitations(
        engine_session,
        survey,
        MailSettings.from_config(app.config),
        app.config["PUBLIC_URL"],
        app.config["SECRET_KEY"],
        **kwargs,
    )


def test_a_sending_out_of_time_leaves_the_rest_for_the_next(
    app: Flask, as_admin: FlaskClient, mailbox: Mailbox, db_session: Session, surveys: Any
) -> None:
    upload(as_admin, THREE)
    report = service_send(app, db_session, deadline=time.monotonic() - 1)
    assert (report.sent, report.not_sent, report.failure) == (1, 2, None)
    assert len(mailbox.messages) == 1
    report = service_send(app, db_session)
    assert (report.sent, report.not_sent) == (2, 0)
    assert sorted(message["To"] for message in mailbox.messages) == sorted(LEARNERS)


def test_two_sendings_at_once_send_each_invitation_once(
    app: Flask, as_admin: FlaskClient, mailbox: Mailbox, db_session: Session, surveys: Any
) -> None:
    upload(as_admin, learners_csv(*(f"learner{n}@example.nhs.uk,P-EK1" for n in range(12))))
    engine = app.extensions["survey_app.engine"]
    reports: list[MailingReport] = []
    start = threading.Barrier(2)

    def sending() -> None:
        with Session(engine, expire_on_commit=False) as session:
            start.wait()
            reports.append(service_send(app, session))

    threads = [threading.Thread(target=sending) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(report.sent for report in reports) == 12
    addresses = [message["To"] for message in mailbox.messages]
    assert len(addresses) == 12 and len(set(addresses)) == 12


# --- the learners file ------------------------------------------------------------------------


def test_a_learners_file_with_mistakes_is_refused_whole_naming_row_and_column(
    as_admin: FlaskClient, mailbox: Mailbox, db_session: Session, surveys: Any
) -> None:
    assert upload(as_admin, learners_csv(f"{LEARNERS[0]},P-EK1")).status_code == 303
    refused = upload(
        as_admin,
        learners_csv(
            f"{LEARNERS[1]},P-EK2",  # fine
            "not-an-address,P-EK1",
            f"{LEARNERS[2]},NOPE",
            f"{LEARNERS[2].upper()},P-WK1",
            "dee@example.nhs.uk,QKS",
            f"{LEARNERS[0]},P-EK2",
            "eve@example.nhs.uk",
        ),
        name="cohort.csv",
    )
    assert refused.status_code == 400
    page = text_of(refused)
    for problem in (
        "cohort.csv, row 3, column email: 'not-an-address' is not an email address",
        "cohort.csv, row 4, column org_code: no organisation has code 'NOPE'",
        "cohort.csv, row 5, column email: the same address as row 4",
        "cohort.csv, row 6, column org_code: QKS is at the icb level; placement-quality takes "
        "responses about a practice, pcn or hub",
        "cohort.csv, row 7, column email: already invited to wave 1 of placement-quality",
        "cohort.csv, row 8: expected 2 columns (email,org_code), found 1",
    ):
        assert problem in page, problem
    assert "No one was invited" in page
    assert "row 2" not in page
    # Nothing stored: only the first file's learner is invited.
    assert [row.email for row in invitations(db_session)] == [LEARNERS[0]]

    for text, problem in (
        ("address,code\nx@example.nhs.uk,P-EK1\n", "row 1: the header must be email,org_code"),
        ("email,org_code\n", "has no learners below its header"),
    ):
        response = upload(as_admin, text)
        assert response.status_code == 400 and problem in response.text
    assert len(invitations(db_session)) == 1


def test_a_learners_file_over_the_row_cap_is_refused(
    app: Flask, as_admin: FlaskClient, db_session: Session, surveys: Any
) -> None:
    app.config["MAX_IMPORT_ROWS"] = 2
    response = upload(
        as_admin, learners_csv(*(f"learner{n}@example.nhs.uk,P-EK1" for n in range(3)))
    )
    assert response.status_code == 400
    assert "more than 2 learners, the most one file takes" in response.text
    assert invitations(db_session) == []


# --- when the mail server fails -----------------------------------------------------------------


def test_a_mail_server_that_cannot_be_reached_leaves_every_invitation_waiting(
    app: Flask,
    as_admin: FlaskClient,
    db_session: Session,
    surveys: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()  # nothing listens there
    app.config.update(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_STARTTLS=False, MAIL_SENDER=SENDER
    )
    upload(as_admin, THREE)
    with caplog.at_level(logging.DEBUG):
        response = post(as_admin, f"{PAGE}/send")
    assert response.status_code == 503
    page = re.sub(r"\s+", " ", response.text)
    assert f"could not connect to the mail server 127.0.0.1:{port}: connection refused" in page
    assert "Nothing was sent" in page and "Still waiting: 3 invitations" in page
    assert all(row.sent_at is None for row in invitations(db_session))
    assert not any(address in caplog.text for address in LEARNERS)


def test_a_mail_server_failing_part_way_keeps_what_was_sent_and_nothing_else(
    as_admin: FlaskClient, mailbox: Mailbox, db_session: Session, surveys: Any
) -> None:
    upload(as_admin, THREE)
    mailbox.fail_after = 1
    response = post(as_admin, f"{PAGE}/send")
    assert response.status_code == 503
    page = re.sub(r"\s+", " ", response.text)
    assert "Sending stopped after 1 invitation:" in page
    assert "451 4.3.0 Mail server temporarily unavailable" in page
    assert "Still waiting, not sent: 2 invitations" in page
    assert [row.sent_at is not None for row in invitations(db_session)] == [True, False, False]

    mailbox.fail_after = None
    assert post(as_admin, f"{PAGE}/send").status_code == 303
    assert sorted(message["To"] for message in mailbox.messages) == sorted(LEARNERS)
    assert all(row.sent_at is not None for row in invitations(db_session))


def test_an_address_the_server_refuses_is_shown_to_the_admin_and_left_unsent(
    as_admin: FlaskClient, mailbox: Mailbox, db_session: Session, surveys: Any
) -> None:
    upload(as_admin, THREE)
    mailbox.refuse = {LEARNERS[1]}
    response = post(as_admin, f"{PAGE}/send")
    assert response.status_code == 200
    assert "1 address refused" in response.text and LEARNERS[1] in response.text
    assert sorted(message["To"] for message in mailbox.messages) == [LEARNERS[0], LEARNERS[2]]
    by_address = {row.email: row for row in invitations(db_session)}
    assert by_address[LEARNERS[1]].sent_at is None
    assert by_address[LEARNERS[0]].sent_at is not None


def test_starttls_required_but_not_offered_is_refused_before_sending(
    app: Flask, as_admin: FlaskClient, mailbox: Mailbox, db_session: Session, surveys: Any
) -> None:
    app.config["MAIL_USE_STARTTLS"] = True
    upload(as_admin, THREE)
    response = post(as_admin, f"{PAGE}/send")
    assert response.status_code == 503
    assert "does not offer STARTTLS" in response.text
    assert mailbox.messages == []
    assert all(row.sent_at is None for row in invitations(db_session))


def test_sending_without_mail_settings_says_which_are_missing(
    app: Flask, as_admin: FlaskClient, surveys: Any
) -> None:
    app.config.update(MAIL_SERVER=None, MAIL_SENDER=None)
    upload(as_admin, THREE)
    assert "Email cannot be sent yet" in as_admin.get(PAGE).text
    response = post(as_admin, f"{PAGE}/send")
    assert response.status_code == 400
    assert "set MAIL_SERVER and MAIL_SENDER" in response.text


def test_server_replies_are_quoted_without_addresses() -> None:
    assert blank_addresses("550 5.1.1 <ana@x.nhs.uk>: rejected; bob@y.uk too") == (
        "550 5.1.1 [address]: rejected; [address] too"
    )


# --- the wave ---------------------------------------------------------------------------------


def test_closing_the_wave_deletes_the_addresses_and_stops_sending(
    as_admin: FlaskClient, mailbox: Mailbox, db_session: Session, surveys: Any
) -> None:
    upload(as_admin, THREE)
    post(as_admin, f"{PAGE}/send")
    upload(as_admin, learners_csv("late@example.nhs.uk,P-WK1"))  # invited, never sent
    closed = post(as_admin, "/admin/surveys/placement-quality/close")
    assert closed.status_code == 303
    assert [row.email for row in invitations(db_session)] == [None, None, None, None]
    page = as_admin.get(PAGE).text
    assert "the learners' addresses have been deleted" in text_of(as_admin.get(PAGE))
    # The three sent still count as invited; the one never sent is a link no one holds.
    assert counts(page)["learners-invited-by-email"] == 3
    assert counts(page)["sent"] == 3
    for action in ("send", "remind"):
        response = post(as_admin, f"{PAGE}/{action}")
        assert response.status_code == 400
        assert "wave 1 of placement-quality is closed, so its links do not work" in response.text
    refused = upload(as_admin, learners_csv("later@example.nhs.uk,P-WK1"))
    assert refused.status_code == 400 and "start a new wave" in refused.text
    assert len(mailbox.messages) == 3


def test_sending_waits_for_the_wave_to_open(
    as_admin: FlaskClient, mailbox: Mailbox, db_session: Session, surveys: dict[str, Survey]
) -> None:
    wave = surveys["placement-quality"].current_wave
    wave.opens_at = datetime.now(UTC) + timedelta(days=7)
    db_session.add(wave)
    db_session.commit()
    assert upload(as_admin, THREE).status_code == 303  # inviting ahead of the opening is fine
    response = post(as_admin, f"{PAGE}/send")
    assert response.status_code == 400 and "is draft, so its links do not work" in response.text
    assert mailbox.messages == []


# --- links to hand out --------------------------------------------------------------------------


def test_links_for_an_organisation_are_downloaded_once_as_csv(
    as_admin: FlaskClient, db_session: Session, surveys: Any
) -> None:
    response = post(as_admin, f"{PAGE}/links", {"org_code": "p-ek1", "count": "3"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 3 and len({row["token"] for row in rows}) == 3
    for row in rows:
        assert row["url"] == f"http://127.0.0.1:5000/s/placement-quality/{row['token']}"
        assert as_admin.get(f"/s/placement-quality/{row['token']}").status_code == 200
    assert all(row.email is None for row in invitations(db_session))
    page = as_admin.get(PAGE).text
    assert counts(page)["links-handed-out-without-an-address"] == 3
    assert counts(page)["learners-invited-by-email"] == 0
    event = db_session.exec(
        select(AuditEvent).where(AuditEvent.action == AuditAction.INVITATION_LINKS_CREATED.value)
    ).one()
    assert event.details == {"wave": 1, "organisation": "P-EK1", "links": 3}

    for data, problem in (
        ({"org_code": "NOPE", "count": "3"}, "no organisation has the code NOPE"),
        ({"org_code": "Y59", "count": "3"}, "Y59 is a region"),
        ({"org_code": "P-EK1", "count": "0"}, "Enter a number of links from 1 to 10,000"),
    ):
        refused = post(as_admin, f"{PAGE}/links", data)
        assert refused.status_code == 400 and problem in refused.text, problem
        assert "No links were made" in refused.text
    assert len(invitations(db_session)) == 3


# --- the command line ---------------------------------------------------------------------------


def run(runner: FlaskCliRunner, *args: str) -> Any:
    return runner.invoke(args=list(args))


def test_the_command_line_imports_sends_and_reminds(
    runner: FlaskCliRunner,
    mailbox: Mailbox,
    db_session: Session,
    surveys: Any,
    hubs: Any,
    tmp_path: Any,
) -> None:
    learners = tmp_path / "learners.csv"
    learners.write_text(THREE, encoding="utf-8")
    imported = run(runner, "invitations", "import", "placement-quality", str(learners))
    assert imported.exit_code == 0, imported.output
    assert "invited 3 learners to wave 1 of placement-quality" in imported.output

    again = run(runner, "invitations", "import", "placement-quality", str(learners))
    assert again.exit_code == 1
    assert "row 2, column email: already invited to wave 1 of placement-quality" in again.output
    assert len(invitations(db_session)) == 3

    sent = run(runner, "invitations", "send", "placement-quality")
    assert sent.exit_code == 0, sent.output
    assert "placement-quality: sent 3 invitations" in sent.output
    assert not any(address in sent.output for address in LEARNERS)
    tokens = {message["To"]: link_token(message) for message in mailbox.messages}

    answer(runner.app.test_client(), tokens[LEARNERS[2]])
    backdate_messages(db_session, hours=25)
    reminded = run(runner, "invitations", "remind", "placement-quality")
    assert reminded.exit_code == 0, reminded.output
    assert "placement-quality: sent 2 reminders" in reminded.output
    assert sorted(message["To"] for message in mailbox.messages[3:]) == sorted(LEARNERS[:2])

    # `invitations create` is as the spec has it: CSV token,url of working links.
    created = run(
        runner,
        "invitations",
        "create",
        "placement-quality",
        "--org",
        "P-EK1",
        "--count",
        "2",
        "--format",
        "csv",
    )
    assert created.exit_code == 0, created.output
    lines = created.output.splitlines()
    assert lines[0] == "token,url" and len(lines) == 3


def test_the_command_line_reports_a_mail_server_failure_with_what_was_sent(
    app: Flask, runner: FlaskCliRunner, db_session: Session, surveys: Any, hubs: Any, tmp_path: Any
) -> None:
    port = free_port()
    app.config.update(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_STARTTLS=False, MAIL_SENDER=SENDER
    )
    learners = tmp_path / "learners.csv"
    learners.write_text(THREE, encoding="utf-8")
    run(runner, "invitations", "import", "placement-quality", str(learners))
    result = run(runner, "invitations", "send", "placement-quality")
    assert result.exit_code == 1
    assert f"could not connect to the mail server 127.0.0.1:{port}" in result.output
    assert "Nothing was sent" in result.output and "Still waiting: 3 invitations" in result.output
    assert all(row.sent_at is None for row in invitations(db_session))


# --- the wording --------------------------------------------------------------------------------


def test_the_icb_leaders_invitation_says_answers_are_not_anonymous(
    db_session: Session, surveys: dict[str, Survey]
) -> None:
    survey = surveys["icb-leaders"]
    letter = InvitationLetter.for_wave(survey, survey.current_wave, "NHS England South East")
    subject, text = letter.render("NHS Kent and Medway ICB", "https://x/s/icb-leaders/t")
    assert subject == "ICB primary care leaders survey: your invitation"
    assert "NHS England South East is asking you to answer" in text
    assert "- Anonymous: no. Your answers are kept with the name NHS Kent and Medway ICB" in text
    assert "choose whether we may quote you by name" in text
    assert "Anonymous: yes" not in text
    assert "Closes:" not in text  # the wave has no closing date


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2030, 7, 5, 16, 0, tzinfo=UTC), "Friday 5 July 2030 at 5pm"),
        (datetime(2030, 3, 1, 9, 30, tzinfo=UTC), "Friday 1 March 2030 at 9:30am"),
        (datetime(2030, 3, 1, 12, 0, tzinfo=UTC), "Friday 1 March 2030 at midday"),
    ],
)
def test_closing_times_are_written_in_uk_time(moment: datetime, expected: str) -> None:
    assert uk_date_and_time(moment) == expected


# --- the settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, (587, True, False)),
        ({"MAIL_USE_SSL": "true"}, (465, False, True)),
        ({"MAIL_USE_STARTTLS": "false"}, (25, False, False)),
        ({"MAIL_USE_STARTTLS": "no", "MAIL_PORT": "2525"}, (2525, False, False)),
    ],
)
def test_mail_settings_default_to_tls_on_its_usual_port(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: tuple[Any, ...]
) -> None:
    for name in ("MAIL_PORT", "MAIL_USE_SSL", "MAIL_USE_STARTTLS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    config = Config()
    settings = (config.MAIL_PORT, config.MAIL_USE_STARTTLS, config.MAIL_USE_SSL)
    assert settings == expected


@pytest.mark.parametrize(
    ("environment", "problem"),
    [
        ({"MAIL_USE_SSL": "true", "MAIL_USE_STARTTLS": "true"}, "choose one"),
        ({"MAIL_USE_STARTTLS": "perhaps"}, "MAIL_USE_STARTTLS must be true or false"),
        ({"MAIL_USERNAME": "hub"}, "MAIL_USERNAME and MAIL_PASSWORD must be set together"),
    ],
)
def test_contradictory_mail_settings_refuse_to_start(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], problem: str
) -> None:
    for name in ("MAIL_USE_SSL", "MAIL_USE_STARTTLS", "MAIL_USERNAME", "MAIL_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=problem):
        Config()
