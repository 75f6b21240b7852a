"""Storing responses: one submission from a form, or many from a CSV file."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from survey_app.models import (
    AuditAction,
    HeldSubmission,
    Invitation,
    Organisation,
    Question,
    Response,
    SavedAnswers,
    Survey,
    Wave,
    stored_id,
)
from survey_app.questions import InvalidAnswer, ParsedAnswer, parse_answer
from survey_app.services import ServiceError, audit, holding
from survey_app.services.audit import COMMAND_LINE, Actor
from survey_app.services.organisations import OrganisationChoice
from survey_app.services.response_rows import (
    NewResponse,
    new_response,
    store_responses,
    stored_time,
)

RESERVED_COLUMNS = ("org_code", "submitted_at", "on_record")
MAX_IMPORT_ROWS = 200_000


class SurveyNotAccepting(ServiceError):
    """The survey's current wave is not open (or outside its dates)."""


class InvitationAlreadyUsed(ServiceError):
    """The invitation was used by another submission, possibly a moment ago."""


def utcnow() -> datetime:
    """Now, in UTC: every stored time is timezone-aware UTC."""
    return datetime.now(UTC)


def submit_response(
    session: Session,
    survey: Survey,
    organisation: Organisation | OrganisationChoice,
    answers: Mapping[int, ParsedAnswer],
    on_record: bool = False,
    invitation: Invitation | None = None,
    submission_key: str | None = None,
    wave: Wave | None = None,
) -> Response | HeldSubmission:
    """Store one submission to the survey's current wave and mark its invitation used, in one
    transaction; returns the response, or for an invited answer to an anonymous survey the
    held submission that a release will turn into one (`survey_app.services.holding`): such
    an answer is stored in full and for good when this returns, and becomes a response with
    at least nine others. `wave` is the current wave when the caller has read it already (the
    respondent's pages, whose survey is a shared definition without its waves).

    Refuses SurveyNotAccepting when the current wave is not open now and InvitationAlreadyUsed
    when the invitation was used, even by a submission racing this one: the conditional UPDATE
    lets exactly one of them mark it. On any refusal nothing is stored.

    `submission_key` names the form page the answers came from. When a submission with that
    key is already stored (held or a response), it is returned and nothing more is stored: the
    same page sent again (after a lost connection, whose COMMIT may have gone through, or a
    double click) is stored exactly once, also when its invitation is marked used by the first
    sending.
    """
    now = utcnow()
    wave = wave or survey.current_wave
    if not wave.is_accepting(now):
        raise SurveyNotAccepting(f"{wave.label} is not taking responses")
    if invitation is not None and invitation.wave_id != wave.id:
        raise SurveyNotAccepting(f"the invitation is not to {wave.label}, the one now open")
    stored: Response | HeldSubmission
    try:
        if invitation is not None:
            marked = session.exec(
                update(Invitation)
                .where(col(Invitation.id) == invitation.id, col(Invitation.used_at).is_(None))
                .values(used_at=stored_time(survey, now))
            )
            if marked.rowcount != 1:
                raise InvitationAlreadyUsed("this invitation has already been used")
            # The answers saved part-way go as the response is stored: kept, they would tie
            # it to the invitation.
            session.exec(
                delete(SavedAnswers).where(col(SavedAnswers.invitation_id) == invitation.id)
            )
        new = new_response(survey, wave, organisation, answers, on_record, now)
        if holding.holds(survey, invited=invitation is not None):
            stored = holding.hold(session, new, submission_key)
        else:
            new.response.submission_key = submission_key
            store_responses(session, [new])
            stored = new.response
        session.commit()
    except (InvitationAlreadyUsed, IntegrityError):
        session.rollback()
        # The page was stored before (its key is unique, so the INSERT failed), or a copy of
        # it sent at the same moment holds the invitation: that is the page's one submission.
        # No look-up beforehand: a page sent again is rare, a round trip per response is not.
        earlier = _stored_with_key(session, submission_key) if submission_key else None
        if earlier is not None:
            return earlier
        raise
    except BaseException:
        session.rollback()
        raise
    if isinstance(stored, HeldSubmission):
        # In a transaction of its own, after the claim's: never the one that used the link.
        holding.release_when_due(holding.engine_of(session), stored.wave_id)
    return stored


def already_submitted(session: Session, submission_key: str | None) -> bool:
    """Whether the form page with `submission_key` has been stored, as a response or held
    (False for no key)."""
    return submission_key is not None and _stored_with_key(session, submission_key) is not None


def _stored_with_key(session: Session, submission_key: str) -> Response | HeldSubmission | None:
    response = session.exec(
        select(Response).where(Response.submission_key == submission_key)
    ).first()
    return response or holding.held_with_key(session, submission_key)


@dataclass(slots=True)
class ImportReport:
    imported: int = 0
    #: "row N, column C: message" for each row refused.
    errors: list[str] = field(default_factory=list)


def import_responses(
    session: Session,
    survey: Survey,
    text: str,
    source: str,
    max_text: int,
    skip_invalid: bool = False,
    max_rows: int = MAX_IMPORT_ROWS,
    actor: Actor = COMMAND_LINE,
    wave_number: int | None = None,
) -> ImportReport:
    """Import responses from a CSV (reserved columns plus question codes) into the wave
    numbered `wave_number` (default: the current wave), open or closed, since an import is
    often historic data; then commit with its audit event. Refuses (ServiceError) a wave the
    survey does not have and a file of more than `max_rows` rows.

    All or nothing: any invalid row refuses the whole file (ServiceError listing the rows at
    fault) unless `skip_invalid`, when valid rows are stored and invalid ones reported.
    Refuses outright an unknown or repeated column and a file without `org_code`.
    """
    wave = survey.current_wave if wave_number is None else survey.wave(wave_number)
    if wave is None:
        raise ServiceError(
            f"--wave: {survey.slug} has no wave {wave_number}; its waves are "
            + ", ".join(str(known.number) for known in survey.waves)
        )
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [cell.strip() for cell in next(reader, [])]
    questions = {question.code: question for question in survey.questions}
    if not header:
        raise ServiceError(f"{source}: the file is empty; it needs a header row")
    unknown = [name for name in header if name not in questions and name not in RESERVED_COLUMNS]
    if unknown:
        raise ServiceError(
            f"{source}: unknown column(s) {', '.join(unknown)}; the columns are "
            f"{', '.join(RESERVED_COLUMNS)} and the question codes of {survey.slug}"
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ServiceError(f"{source}: column(s) {', '.join(repeated)} appear more than once")
    if "org_code" not in header:
        raise ServiceError(f"{source}: the org_code column is required")

    organisations = {
        org.code: org
        for org in session.exec(
            select(Organisation).where(col(Organisation.level).in_(survey.levels))
        ).all()
    }
    report = ImportReport()
    responses: list[NewResponse] = []
    now = utcnow()
    for row_number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if row_number - 1 > max_rows:
            raise ServiceError(
                f"{source}: more than {max_rows:,} rows, the most an import takes "
                "(MAX_IMPORT_ROWS); split the file"
            )
        if len(cells) != len(header):
            report.errors.append(
                f"{source}, row {row_number}: expected {len(header)} cells, found {len(cells)}"
            )
            continue
        record = dict(zip(header, cells, strict=True))
        try:
            responses.append(
                _response_from_row(survey, wave, questions, organisations, record, now, max_text)
            )
        except _RowError as exc:
            report.errors.append(f"{source}, row {row_number}, column {exc.column}: {exc}")
    if report.errors and not skip_invalid:
        shown = report.errors[:20]
        more = len(report.errors) - len(shown)
        raise ServiceError(
            f"nothing imported: {len(report.errors)} invalid row(s):\n"
            + "\n".join(shown)
            + (f"\n... and {more} more" if more else "")
        )
    store_responses(session, responses)
    audit.record(
        session,
        AuditAction.RESPONSES_IMPORTED,
        actor,
        target=survey.slug,
        details={
            "file": source,
            "wave": wave.number,
            "rows": len(responses),
            "skipped": len(report.errors),
        },
    )
    session.commit()
    report.imported = len(responses)
    return report


class _RowError(ValueError):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


def _response_from_row(
    survey: Survey,
    wave: Wave,
    questions: Mapping[str, Question],
    organisations: Mapping[str, Organisation],
    record: Mapping[str, str],
    now: datetime,
    max_text: int,
) -> NewResponse:
    org_code = record["org_code"].strip()
    organisation = organisations.get(org_code)
    if organisation is None:
        raise _RowError(
            "org_code",
            f"no organisation at level {' or '.join(survey.levels)} has code {org_code!r}"
            if org_code
            else "is empty",
        )
    submitted_at = _parse_time(record.get("submitted_at", ""), now)
    on_record = _parse_bool(record.get("on_record", ""))
    if on_record and not survey.asks_on_record:
        raise _RowError("on_record", f"{survey.slug} does not ask respondents to go on record")
    answers: dict[int, ParsedAnswer] = {}
    for code, question in questions.items():
        try:
            parsed = parse_answer(question, record.get(code), max_text)
        except InvalidAnswer as exc:
            raise _RowError(code, str(exc)) from None
        if parsed is not None:
            answers[stored_id(question)] = parsed
    return new_response(survey, wave, organisation, answers, on_record, submitted_at)


def _parse_time(raw: str, now: datetime) -> datetime:
    raw = raw.strip()
    if not raw:
        return now
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise _RowError("submitted_at", f"{raw!r} is not an ISO 8601 date and time") from None
    # A time without an offset is taken as UTC.
    moment = moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if moment > now + timedelta(days=1):
        raise _RowError("submitted_at", f"{raw} is in the future")
    return moment


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("", "false"):
        return False
    if value == "true":
        return True
    raise _RowError("on_record", f"must be true or false, not {raw!r}")
