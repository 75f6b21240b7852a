"""Single-use invitations: created in batches, looked up by the token in their link; learners
invited by email from a CSV, and the token of the link each is emailed. `mailing` sends those
links and the reminders."""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func
from sqlmodel import Session, col, select

from survey_app.models import (
    AuditAction,
    Invitation,
    Organisation,
    Survey,
    SurveyStatus,
    Wave,
    stored_id,
)
from survey_app.services import ServiceError
from survey_app.services.audit import COMMAND_LINE, Actor, record
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
                survey_id=stored_id(survey),
                wave_id=stored_id(wave),
                organisation_id=stored_id(organisation),
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
                survey_id=stored_id(survey),
                wave_id=stored_id(wave),
                organisation_id=stored_id(learner.organisation),
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
