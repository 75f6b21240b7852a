"""Mailing the learners invited by email: what is due (invitations not yet sent, reminders to
those who have not answered), sending each its own link through the mail server, what the
invitations page counts, and the wording of the messages."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, update
from sqlmodel import Session, col, select

from survey_app.models import (
    AuditAction,
    Invitation,
    Organisation,
    QuestionType,
    Survey,
    SurveyStatus,
    Wave,
)
from survey_app.services import ServiceError
from survey_app.services.audit import COMMAND_LINE, Actor, record
from survey_app.services.invitations import emailed_token, token_digest
from survey_app.services.mail import MailError, MailSettings, RecipientRefused, compose, connect
from survey_app.services.responses import utcnow

#: No one gets a reminder sooner than this after their last reminder, however often reminders
#: are sent. The invitation itself does not count: a hub that sends invitations in the morning
#: may remind in the afternoon those who have not answered.
REMINDER_INTERVAL = timedelta(hours=24)


@dataclass(slots=True)
class MailingReport:
    """What one sending of invitations or reminders did."""

    sent: int = 0
    #: Addresses the mail server refused; left unsent. Shown to the administrator who sent
    #: them and nowhere else: never logged, never in the audit log.
    refused: list[str] = field(default_factory=list)
    #: Messages due but not sent: the time given ran out, or sending failed.
    not_sent: int = 0
    #: Why sending stopped before the end (the mail server's failure), or None.
    failure: str | None = None

    def stopped(self, what: str) -> str:
        """What the person sending is told when the server failed: why, how many `what`
        ("invitation", "reminder") were sent before, and that the rest are still waiting."""
        waiting = number_of(self.not_sent, what)
        if not self.sent:
            return (
                f"Nothing was sent: {self.failure}. Still waiting: {waiting}. Try again "
                "later, or ask whoever runs the mail server."
            )
        return (
            f"Sending stopped after {number_of(self.sent, what)}: {self.failure}. Those were "
            f"sent and are marked sent. Still waiting, not sent: {waiting}. Try again later "
            "to send them."
        )


def number_of(count: int, noun: str) -> str:
    """The count and its noun: "1 invitation", "1,200 invitations"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def send_invitations(
    session: Session,
    survey: Survey,
    settings: MailSettings,
    public_url: str,
    link_key: str,
    actor: Actor = COMMAND_LINE,
    deadline: float | None = None,
) -> MailingReport:
    """Email every invitation of the survey's current wave that has an address and has not
    been sent: one message each, with its own link; each is marked sent (`sent_at`) as it goes.

    An invitation is claimed (marked sent) before its message goes and unmarked if the server
    refuses it, so two sendings at once never send one twice and a failure leaves unsent
    exactly the ones not sent. Stops at `deadline` (a `time.monotonic()` value) after at least
    one message, leaving the rest for the next sending. A server failure stops the sending
    and is returned in the report (`failure`), with what was sent before it kept as sent.
    Commits as it goes, and an audit event with the counts at the end.

    Refuses (ServiceError) a wave that is not open now (its links would not work yet, or no
    more), and (MailError) mail settings that are incomplete, before anything is sent.
    """
    return _send_due(
        session, survey, settings, public_url, link_key, actor, deadline, reminder=False
    )


def send_reminders(
    session: Session,
    survey: Survey,
    settings: MailSettings,
    public_url: str,
    link_key: str,
    actor: Actor = COMMAND_LINE,
    deadline: float | None = None,
) -> MailingReport:
    """Remind, by email with the same link, every invitee of the survey's current wave who
    has not answered: invitations with an address, sent, not used, and not reminded in the
    last REMINDER_INTERVAL (24 hours). An invitee
    who has answered is never reminded: the claim of each reminder checks `used_at` again.

    Sends, stops, commits and audits as `send_invitations` does; refuses what it refuses.
    """
    return _send_due(
        session, survey, settings, public_url, link_key, actor, deadline, reminder=True
    )


def _send_due(
    session: Session,
    survey: Survey,
    settings: MailSettings,
    public_url: str,
    link_key: str,
    actor: Actor,
    deadline: float | None,
    reminder: bool,
) -> MailingReport:
    """Send the invitations (or reminders) now due on the survey's current wave, as
    `send_invitations` and `send_reminders` describe; returns the report."""
    wave = _ready_to_send(survey, settings, "send reminders" if reminder else "send invitations")
    due = session.exec(
        select(Invitation)
        .where(_due_message(wave, reminder, utcnow()))
        .order_by(col(Invitation.id))
    ).all()
    report = _mail_each(
        session,
        survey,
        wave,
        list(due),
        settings,
        public_url,
        link_key,
        reminder=reminder,
        deadline=deadline,
    )
    action = AuditAction.REMINDERS_SENT if reminder else AuditAction.INVITATIONS_SENT
    _record_mailing(session, action, actor, survey, wave, report)
    return report


def _ready_to_send(survey: Survey, settings: MailSettings, doing: str) -> Wave:
    """The survey's current wave, if it is open and the mail settings are complete."""
    problem = settings.problem()
    if problem:
        raise MailError(problem)
    wave = survey.current_wave
    status = wave.status_at(utcnow())
    if status != SurveyStatus.OPEN:
        raise ServiceError(
            f"{wave.label} is {status.value}, so its links do not work: open it, then {doing}"
        )
    return wave


def _due_message(wave: Wave, reminder: bool, now: datetime) -> Any:
    """A SQL condition: an invitation of `wave` owed its invitation (an address, not sent, not
    used) or, with `reminder`, a reminder (`_due_reminder`) at `now`."""
    if reminder:
        return _due_reminder(wave, now - REMINDER_INTERVAL)
    return and_(
        col(Invitation.wave_id) == wave.id,
        col(Invitation.email).is_not(None),
        col(Invitation.sent_at).is_(None),
        col(Invitation.used_at).is_(None),
    )


def _due_reminder(wave: Wave, last_reminder_before: datetime) -> Any:
    """A SQL condition: an invitation of `wave` sent, not answered, and owed a reminder if
    its last reminder (if any) went before `last_reminder_before`."""
    return and_(
        col(Invitation.wave_id) == wave.id,
        col(Invitation.email).is_not(None),
        col(Invitation.used_at).is_(None),
        col(Invitation.sent_at).is_not(None),
        or_(
            col(Invitation.reminded_at).is_(None),
            col(Invitation.reminded_at) <= last_reminder_before,
        ),
    )


def _mail_each(
    session: Session,
    survey: Survey,
    wave: Wave,
    due: list[Invitation],
    settings: MailSettings,
    public_url: str,
    link_key: str,
    reminder: bool,
    deadline: float | None,
) -> MailingReport:
    report = MailingReport()
    if not due:
        return report
    organisation_names = dict(
        session.exec(
            select(Organisation.id, Organisation.name).where(
                col(Organisation.id).in_({invitation.organisation_id for invitation in due})
            )
        ).all()
    )
    letter = InvitationLetter.for_wave(survey, wave, settings.sender_name)
    # Plain values, so that no object is read again from the database after the commits below.
    targets = [
        (invitation.id, invitation.email or "", invitation.organisation_id, invitation.reminded_at)
        for invitation in due
    ]
    tokens = {invitation.id: emailed_token(link_key, invitation) for invitation in due}
    session.commit()  # ends the reading transaction: each claim below is its own
    try:
        with connect(settings) as mail:
            for position, (invitation_id, email, organisation_id, reminded_at) in enumerate(
                targets
            ):
                if deadline is not None and report.sent and time.monotonic() >= deadline:
                    report.not_sent = len(targets) - position
                    break
                token = tokens[invitation_id]
                if not _claim(session, invitation_id, token, reminder, wave):
                    continue  # sent by someone else meanwhile, or answered
                subject, text = letter.render(
                    organisation_names[organisation_id],
                    f"{public_url}/s/{survey.slug}/{token}",
                    reminder=reminder,
                )
                try:
                    mail.send(compose(settings, email, subject, text))
                except RecipientRefused:
                    _unclaim(session, invitation_id, reminder, reminded_at)
                    report.refused.append(email)
                except MailError as exc:
                    _unclaim(session, invitation_id, reminder, reminded_at)
                    report.failure = str(exc)
                    report.not_sent = len(targets) - position
                    break
                else:
                    report.sent += 1
    except MailError as exc:  # connecting failed: nothing was sent
        report.failure = str(exc)
        report.not_sent = len(targets)
    return report


def _claim(
    session: Session, invitation_id: int | None, token: str, reminder: bool, wave: Wave
) -> bool:
    """Mark one invitation sent (or reminded) now, with its link's token, if it still needs
    the message; committed, so a concurrent sending skips it. True if this call claimed it."""
    now = utcnow()
    statement = (
        update(Invitation)
        .where(col(Invitation.id) == invitation_id, _due_message(wave, reminder, now))
        .values(
            {"reminded_at" if reminder else "sent_at": now, "token_sha256": token_digest(token)}
        )
    )
    claimed = session.exec(statement).rowcount == 1
    session.commit()
    return claimed


def _unclaim(
    session: Session,
    invitation_id: int | None,
    reminder: bool,
    reminded_before: datetime | None,
) -> None:
    """Undo `_claim` for a message the server did not take."""
    values = {"reminded_at": reminded_before} if reminder else {"sent_at": None}
    session.exec(update(Invitation).where(col(Invitation.id) == invitation_id).values(**values))
    session.commit()


def _record_mailing(
    session: Session,
    action: AuditAction,
    actor: Actor,
    survey: Survey,
    wave: Wave,
    report: MailingReport,
) -> None:
    # Counts only: an address in the audit log would outlive the wave that justified it.
    record(
        session,
        action,
        actor,
        target=survey.slug,
        details={
            "wave": wave.number,
            "sent": report.sent,
            "refused": len(report.refused),
            "not_sent": report.not_sent,
            "failed": report.failure is not None,
        },
    )
    session.commit()


# --- the messages -------------------------------------------------------------------------------

#: Reading time per question, for "it takes about N minutes": a rating or a choice, and a
#: free-text answer (an estimate: the placement survey's 27 and 2 come to its stated 8 minutes).
SECONDS_PER_CHOICE = 12
SECONDS_PER_TEXT = 60
UK_TIME = ZoneInfo("Europe/London")


def minutes_to_answer(survey: Survey) -> int:
    """About how many minutes the survey takes, at least 2."""
    seconds = sum(
        SECONDS_PER_TEXT if question.type == QuestionType.TEXT else SECONDS_PER_CHOICE
        for question in survey.questions
    )
    return max(2, math.ceil(seconds / 60))


def uk_date_and_time(moment: datetime) -> str:
    """A UTC time as NHS style writes it, in UK time: "Friday 6 March 2026 at 5pm"."""
    local = moment.astimezone(UK_TIME)
    if (local.hour, local.minute) == (12, 0):
        clock = "midday"
    elif (local.hour, local.minute) == (0, 0):
        clock = "midnight"
    else:
        hour = local.hour % 12 or 12
        minutes = f":{local.minute:02d}" if local.minute else ""
        clock = f"{hour}{minutes}{'am' if local.hour < 12 else 'pm'}"
    return f"{local:%A} {local.day} {local:%B %Y} at {clock}"


@dataclass(frozen=True, slots=True)
class InvitationLetter:
    """The wording of a wave's invitations and reminders, read once from the survey and wave
    (`for_wave`); `render` fills in each invitee's organisation and link."""

    title: str
    description: str
    questions: int
    minutes: int
    anonymous: bool
    asks_on_record: bool
    closes: str | None
    asker: str

    @classmethod
    def for_wave(cls, survey: Survey, wave: Wave, sender_name: str = "") -> InvitationLetter:
        """The letter of `wave` of `survey`, signed by `sender_name` (MAIL_SENDER's name)."""
        return cls(
            title=survey.title,
            description=" ".join(survey.description.split()),
            questions=len(survey.questions),
            minutes=minutes_to_answer(survey),
            anonymous=survey.anonymous,
            asks_on_record=survey.asks_on_record,
            closes=uk_date_and_time(wave.closes_at) if wave.closes_at else None,
            asker=sender_name or "Your training hub",
        )

    def render(self, organisation_name: str, url: str, reminder: bool = False) -> tuple[str, str]:
        """(subject, plain text) of the invitation, or its reminder, to answer about
        `organisation_name` through `url`: who is asking and why, how long it takes, whether
        answers are anonymous, the link, and when the survey closes if it has a date."""
        subject = f"Reminder: {self.title}" if reminder else f"{self.title}: your invitation"
        paragraphs = ["Hello,"]
        if reminder:
            paragraphs.append(
                f"You are receiving this reminder because you have not answered the "
                f"{self.title} yet. If you have already answered (through another link), "
                "thank you, and please ignore this email."
            )
        paragraphs.append(
            f"{self.asker} is asking you to answer the {self.title}. Your answers will be "
            f"about {organisation_name}."
        )
        if self.description:
            paragraphs.append(self.description)
        facts = [f"Questions: {self.questions}, about {self.minutes} minutes"]
        if self.anonymous:
            facts.append(
                "Anonymous: yes. Nothing we store links your answers to you or to this email "
                "address"
            )
        else:
            facts.append(
                f"Anonymous: no. Your answers are kept with the name {organisation_name}"
                + (
                    "; at the end you choose whether we may quote you by name"
                    if self.asks_on_record
                    else ""
                )
            )
        if self.closes:
            facts.append(f"Closes: {self.closes}")
        paragraphs.append("\n".join(f"- {fact}." for fact in facts))
        paragraphs.append(
            "Your personal link (it works once, so please do not forward this email):\n" + url
        )
        paragraphs.append(
            "We have your email address only to send you this link, and reminders at most once "
            "a day until you answer. We delete it when the survey closes."
        )
        paragraphs.append(f"Thank you,\n{self.asker}")
        return subject, "\n\n".join(paragraphs) + "\n"


# --- what the invitations page counts -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvitationCounts:
    """A wave's invitations. "Invited" ones were given an address (kept until the wave
    closes, and counted after that by having been sent); "links" were handed out without one."""

    invited: int
    #: Invited, not yet sent (nor used).
    waiting: int
    sent: int
    #: Invited and used: the invitee has answered.
    answered: int
    reminded: int
    #: Sent, not answered, and not reminded in the last REMINDER_INTERVAL: a reminder now goes
    #: to these.
    due_reminder: int
    links: int
    links_used: int


def invitation_counts(session: Session, wave: Wave) -> InvitationCounts:
    """The counts of `wave`'s invitations, in one query."""
    now = utcnow()
    emailed = or_(col(Invitation.email).is_not(None), col(Invitation.sent_at).is_not(None))
    used = col(Invitation.used_at).is_not(None)
    conditions = [
        emailed,
        _due_message(wave, reminder=False, now=now),
        col(Invitation.sent_at).is_not(None),
        and_(emailed, used),
        col(Invitation.reminded_at).is_not(None),
        _due_message(wave, reminder=True, now=now),
        ~emailed,
        and_(~emailed, used),
    ]
    totals = session.exec(
        select(
            *(func.coalesce(func.sum(case((condition, 1), else_=0)), 0) for condition in conditions)
        ).where(Invitation.wave_id == wave.id)
    ).one()
    return InvitationCounts(*(int(total) for total in totals))
