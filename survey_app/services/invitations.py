"""Single-use invitations: created in batches, looked up by the token in their link; learners
invited by email from a CSV, sent their links and reminded while they have not answered."""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import math
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
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
from survey_app.services.mail import MailError, MailSettings, RecipientRefused, compose, connect
from survey_app.services.responses import utcnow

#: 32 random bytes: 256 bits, well over the 128 bits a token must carry.
TOKEN_BYTES = 32
MAX_INVITATIONS_PER_BATCH = 100_000


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    token: str
    url: str


def token_digest(token: str) -> str:
    """The SHA-256 under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_invitations(
    session: Session,
    survey: Survey,
    organisation: Organisation,
    count: int,
    public_url: str,
    *,
    email: str | None = None,
) -> list[IssuedInvitation]:
    """`count` new single-use invitations to the survey's current wave for `organisation`,
    committed; the tokens are only ever in the returned list (the database keeps their
    digests). `email`, the invitee's address, is kept on each until the wave closes.

    Refuses (ServiceError) a count outside 1..100,000, an organisation at a level the survey
    does not take responses for, and an address for a wave already closed (it would be kept
    after the wave that justified keeping it).
    """
    if not 1 <= count <= MAX_INVITATIONS_PER_BATCH:
        raise ServiceError(f"--count must be from 1 to {MAX_INVITATIONS_PER_BATCH:,}, not {count}")
    if organisation.level.value not in survey.levels:
        raise ServiceError(
            f"{organisation.code} is a {organisation.level.value}; {survey.slug} takes "
            f"responses about a {' or '.join(survey.levels)}"
        )
    now = utcnow()
    wave = survey.current_wave
    if email is not None and wave.status_at(now) == SurveyStatus.CLOSED:
        raise ServiceError(f"{wave.label} is closed: its invitations keep no addresses")
    issued = []
    for _ in range(count):
        token = secrets.token_urlsafe(TOKEN_BYTES)
        session.add(
            Invitation(
                survey_id=survey.id,
                wave_id=wave.id,
                organisation_id=organisation.id,  # type: ignore[arg-type]
                token_sha256=token_digest(token),
                created_at=now,
                email=email,
            )
        )
        issued.append(IssuedInvitation(token, f"{public_url}/s/{survey.slug}/{token}"))
    session.commit()
    return issued


def find_invitation(session: Session, wave: Wave, token: str) -> Invitation | None:
    """The invitation to `wave` (a survey's current wave) whose token is `token`, used or not,
    while that wave is open; None if there is none. An invitation to an earlier wave, or to a
    wave not open now, is refused as no invitation: its period is over (or not begun)."""
    if not 20 <= len(token) <= 100:
        return None
    if not wave.is_accepting(utcnow()):
        return None
    return session.exec(
        select(Invitation).where(
            Invitation.survey_id == wave.survey_id,
            Invitation.wave_id == wave.id,
            Invitation.token_sha256 == token_digest(token),
        )
    ).first()


# --- links made from the administrators' page --------------------------------------------------


def create_invitation_links(
    session: Session,
    survey: Survey,
    organisation: Organisation,
    count: int,
    public_url: str,
    actor: Actor = COMMAND_LINE,
) -> list[IssuedInvitation]:
    """`create_invitations` with its audit event (counts only), for the page and the command
    line; returns and refuses what it does."""
    # Added before `create_invitations` commits, so the event is stored by the same commit, and
    # not at all when the invitations are refused (the caller rolls back).
    record(
        session,
        AuditAction.INVITATION_LINKS_CREATED,
        actor,
        target=survey.slug,
        details={
            "wave": survey.current_wave.number,
            "organisation": organisation.code,
            "links": count,
        },
    )
    return create_invitations(session, survey, organisation, count, public_url)


# --- learners invited by email ------------------------------------------------------------------

LEARNER_CSV_HEADER = ("email", "org_code")
#: The most learners one file may invite (MAX_IMPORT_ROWS may lower it): a large hub's wave
#: is a few thousand learners.
MAX_LEARNERS_PER_FILE = 10_000
#: A file with more problems than this lists these and says how many more there are.
MAX_PROBLEMS_LISTED = 25
#: The longest address kept (the Invitation.email column).
MAX_EMAIL_LENGTH = 320
#: No one gets a reminder sooner than this after their last reminder, however often reminders
#: are sent. The invitation itself does not count: a hub that sends invitations in the morning
#: may remind in the afternoon those who have not answered.
REMINDER_INTERVAL = timedelta(hours=24)


class InvitationFileError(ServiceError):
    """A learners file refused as a whole; `problems` names the row and column of each fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Learner:
    """One row of a learners file: the address to invite, and the placement it is about."""

    email: str
    organisation: Organisation


def read_learner_file(
    session: Session,
    survey: Survey,
    text: str,
    source: str,
    max_rows: int = MAX_LEARNERS_PER_FILE,
) -> list[Learner]:
    """The learners of a CSV with header `email,org_code`, one per row, to invite to the
    survey's current wave; writes nothing.

    Refuses (InvitationFileError, each problem naming `source`, the row and the column; up to
    MAX_PROBLEMS_LISTED of them) a wrong header, a file with no learners or more than
    `max_rows` (at most MAX_LEARNERS_PER_FILE), a row without exactly two cells, something that
    is not an email address, an address twice in the file or already invited to the wave, an
    unknown organisation code and an organisation at a level the survey does not take
    responses about.
    """
    max_rows = min(max_rows, MAX_LEARNERS_PER_FILE)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = tuple(cell.strip().lower() for cell in next(reader, []))
    if header != LEARNER_CSV_HEADER:
        raise InvitationFileError(
            [
                f"{source}, row 1: the header must be {','.join(LEARNER_CSV_HEADER)}, not "
                f"{','.join(header) or 'empty'}"
            ]
        )
    problems: list[str] = []
    rows: list[tuple[int, str, str]] = []
    for row_number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) >= max_rows:
            raise InvitationFileError(
                [f"{source}: more than {max_rows:,} learners, the most one file takes; split it"]
            )
        if len(cells) != len(LEARNER_CSV_HEADER):
            problems.append(
                f"{source}, row {row_number}: expected 2 columns (email,org_code), "
                f"found {len(cells)}"
            )
            continue
        rows.append((row_number, cells[0].strip(), cells[1].strip()))
    if not rows and not problems:
        raise InvitationFileError([f"{source}: has no learners below its header"])

    wave = survey.current_wave
    invited = set(
        session.exec(
            select(func.lower(Invitation.email)).where(
                Invitation.wave_id == wave.id, col(Invitation.email).is_not(None)
            )
        ).all()
    )
    codes = sorted({code.upper() for _, _, code in rows if code})
    organisations = {
        org.code.upper(): org
        for org in session.exec(
            select(Organisation).where(func.upper(Organisation.code).in_(codes))
        ).all()
    }
    learners: list[Learner] = []
    first_row_of: dict[str, int] = {}
    for row_number, raw_email, code in rows:
        where = f"{source}, row {row_number}"
        email, email_problem = _checked_email(raw_email)
        if email is not None:
            key = email.lower()
            if key in first_row_of:
                email_problem = f"the same address as row {first_row_of[key]}"
            elif key in invited:
                email_problem = f"already invited to {wave.label}"
            first_row_of.setdefault(key, row_number)
        if email_problem:
            problems.append(f"{where}, column email: {email_problem}")
        organisation = organisations.get(code.upper())
        if not code:
            problems.append(f"{where}, column org_code: is empty")
        elif organisation is None:
            problems.append(f"{where}, column org_code: no organisation has code {code!r}")
        elif organisation.level.value not in survey.levels:
            problems.append(
                f"{where}, column org_code: {organisation.code} is at the "
                f"{organisation.level.value} level; {survey.slug} takes responses about a "
                f"{one_of(survey.levels)}"
            )
        elif email is not None and not email_problem:
            learners.append(Learner(email, organisation))
    if problems:
        if len(problems) > MAX_PROBLEMS_LISTED:
            more = len(problems) - MAX_PROBLEMS_LISTED
            problems = [*problems[:MAX_PROBLEMS_LISTED], f"{source}: and {more:,} more problems"]
        raise InvitationFileError(problems)
    return learners


def one_of(levels: list[str]) -> str:
    """The levels as a phrase: "practice, pcn or hub"."""
    return " or ".join([", ".join(levels[:-1]), levels[-1]]) if len(levels) > 1 else levels[0]


def _checked_email(raw: str) -> tuple[str | None, str]:
    """(the address as it is kept, "") or (None, what is wrong with it)."""
    if not raw:
        return None, "is empty"
    if len(raw) > MAX_EMAIL_LENGTH:
        return None, f"longer than {MAX_EMAIL_LENGTH} characters"
    try:
        checked = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, f"{raw!r} is not an email address: {exc}"
    return checked.normalized, ""


def invite_learners(
    session: Session,
    survey: Survey,
    text: str,
    source: str,
    actor: Actor = COMMAND_LINE,
    max_rows: int = MAX_LEARNERS_PER_FILE,
) -> int:
    """An invitation to the survey's current wave for every learner of a CSV `email,org_code`
    (`read_learner_file`), committed with its audit event; returns how many. Nothing is sent:
    `send_invitations` sends them. All or nothing.

    Refuses (ServiceError) a wave already closed: an address is kept only while its wave is
    open or still to open. Refuses (InvitationFileError) what `read_learner_file` refuses.
    """
    wave = survey.current_wave
    now = utcnow()
    if wave.status_at(now) == SurveyStatus.CLOSED:
        raise ServiceError(
            f"{wave.label} is closed: start a new wave before inviting learners to it"
        )
    learners = read_learner_file(session, survey, text, source, max_rows)
    for learner in learners:
        session.add(
            Invitation(
                survey_id=survey.id,  # type: ignore[arg-type]
                wave_id=wave.id,  # type: ignore[arg-type]
                organisation_id=learner.organisation.id,  # type: ignore[arg-type]
                # A token no one is ever given: sending replaces it with the link's own
                # (`emailed_token`), which needs the row's id.
                token_sha256=token_digest(secrets.token_urlsafe(TOKEN_BYTES)),
                created_at=now,
                email=learner.email,
            )
        )
    record(
        session,
        AuditAction.LEARNERS_INVITED,
        actor,
        target=survey.slug,
        details={"wave": wave.number, "file": source, "learners": len(learners)},
    )
    session.commit()
    return len(learners)


def emailed_token(link_key: str, invitation: Invitation) -> str:
    """The token in the link emailed for `invitation`: an HMAC-SHA256 of the invitation (id,
    survey, wave, address) under `link_key`, the application's SECRET_KEY.

    Derived rather than drawn at random so that the invitation and its reminder carry the same
    link while the database still keeps only its digest: a copy of the database without the
    key gives no working link. 256 bits, like a random token.
    """
    key = hmac.digest(link_key.encode("utf-8"), b"survey-app emailed invitation links", "sha256")
    identity = "\x00".join(
        str(part)
        for part in (invitation.id, invitation.survey_id, invitation.wave_id, invitation.email)
    )
    mac = hmac.digest(key, identity.encode("utf-8"), "sha256")
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


# --- sending and reminding ----------------------------------------------------------------------


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
    claimed = session.exec(statement).rowcount == 1  # type: ignore[call-overload]
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
    session.exec(  # type: ignore[call-overload]
        update(Invitation).where(col(Invitation.id) == invitation_id).values(**values)
    )
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
        select(  # type: ignore[call-overload]
            *(func.coalesce(func.sum(case((condition, 1), else_=0)), 0) for condition in conditions)
        ).where(Invitation.wave_id == wave.id)
    ).one()
    return InvitationCounts(*(int(total) for total in totals))
