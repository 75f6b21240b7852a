"""Data protection: each survey's retention period, the purge of responses older than it, and
deleting one response on request.

Answers are deleted explicitly before their responses rather than left to the foreign key's
ON DELETE CASCADE, so no answer outlives its response whatever the database enforces, and the
counts printed are the rows deleted. The Likert vector a response carries lives on the response
row itself and goes with it. Rendered PDF reports kept in the database are derived from
responses too: the commands that delete responses then delete them
(`survey_app.reporting.report_store.forget_reports`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func
from sqlmodel import Session, col, select

from survey_app.models import (
    Answer,
    AuditAction,
    Invitation,
    Organisation,
    Response,
    Survey,
)
from survey_app.services import ServiceError, audit
from survey_app.services.audit import COMMAND_LINE, Actor
from survey_app.services.organisations import within

#: The longest retention period accepted: a hundred years.
MAX_RETENTION_DAYS = 36_500


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What a purge deleted (or, on a dry run, would delete) from one survey."""

    slug: str
    retention_days: int | None
    #: Responses submitted before this moment are deleted; None when the survey keeps them.
    cutoff: datetime | None
    responses: int = 0
    answers: int = 0
    invitations: int = 0


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """One stored response as the person deleting it needs to recognise it."""

    id: int
    survey_slug: str
    anonymous: bool
    organisation_code: str
    organisation_name: str
    submitted_at: datetime
    on_record: bool
    answers: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "survey": self.survey_slug,
            "organisation": self.organisation_code,
            "organisation_name": self.organisation_name,
            "submitted_at": self.submitted_at.isoformat(),
            "on_record": self.on_record,
            "answers": self.answers,
        }


def set_retention(
    session: Session, survey: Survey, days: int | None, actor: Actor = COMMAND_LINE
) -> Survey:
    """Keep `survey`'s responses for `days` days after submission (None: until deleted by
    hand), committed with its audit event; returns the survey.

    Refuses (ServiceError) a period outside 1..36,500 days.
    """
    if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
        raise ServiceError(
            f"the retention period must be from 1 to {MAX_RETENTION_DAYS:,} days, not {days}"
        )
    before = survey.retention_days
    survey.retention_days = days
    session.add(survey)
    audit.record(
        session,
        AuditAction.RETENTION_SET,
        actor,
        target=survey.slug,
        details={"before_days": before, "after_days": days},
    )
    session.commit()
    return survey


def purge(
    session: Session,
    now: datetime,
    slug: str | None = None,
    dry_run: bool = False,
    actor: Actor = COMMAND_LINE,
) -> list[PurgeResult]:
    """Delete every response submitted before `now` minus its survey's retention period, with
    its answers and the survey's invitations used before then, in one transaction with an audit
    event per survey; returns what was deleted per survey, in slug order. With `dry_run`,
    returns what would be deleted and changes nothing (no audit event either).

    Only the survey `slug` when given (a survey without a period gives an empty result);
    otherwise every survey with a period. Refuses (ServiceError) an unknown slug.
    """
    statement = select(Survey).order_by(Survey.slug)
    if slug is not None:
        statement = statement.where(Survey.slug == slug)
    else:
        statement = statement.where(col(Survey.retention_days).is_not(None))
    surveys = list(session.exec(statement).all())
    if slug is not None and not surveys:
        raise ServiceError(f"no survey has the slug {slug!r}")
    results = []
    try:
        for survey in surveys:
            if survey.retention_days is None:
                results.append(PurgeResult(survey.slug, None, None))
                continue
            cutoff = now - timedelta(days=survey.retention_days)
            result = _purge_survey(session, survey, cutoff, dry_run)
            if not dry_run:
                audit.record(
                    session,
                    AuditAction.RESPONSES_PURGED,
                    actor,
                    target=survey.slug,
                    details={
                        "retention_days": survey.retention_days,
                        "cutoff": cutoff.isoformat(),
                        "responses": result.responses,
                        "answers": result.answers,
                        "invitations": result.invitations,
                    },
                )
            results.append(result)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    return results


def _purge_survey(session: Session, survey: Survey, cutoff: datetime, dry_run: bool) -> PurgeResult:
    submitted_before = (Response.survey_id == survey.id, col(Response.submitted_at) < cutoff)
    old_answers = col(Answer.response_id).in_(select(Response.id).where(*submitted_before))
    used_invitations = (
        Invitation.survey_id == survey.id,
        col(Invitation.used_at).is_not(None),
        col(Invitation.used_at) < cutoff,
    )
    if dry_run:
        return PurgeResult(
            survey.slug,
            survey.retention_days,
            cutoff,
            responses=_count(session, Response, *submitted_before),
            answers=_count(session, Answer, old_answers),
            invitations=_count(session, Invitation, *used_invitations),
        )
    answers = _delete(session, Answer, old_answers)
    responses = _delete(session, Response, *submitted_before)
    invitations = _delete(session, Invitation, *used_invitations)
    return PurgeResult(survey.slug, survey.retention_days, cutoff, responses, answers, invitations)


def _count(session: Session, table: type, *conditions: Any) -> int:
    return session.exec(select(func.count()).select_from(table).where(*conditions)).one()


def _delete(session: Session, table: type, *conditions: Any) -> int:
    """Delete the rows of `table` meeting `conditions`; returns how many."""
    deleted = session.exec(
        delete(table).where(*conditions).execution_options(synchronize_session=False)
    )
    return deleted.rowcount


def find_response(session: Session, response_id: int) -> StoredResponse:
    """The response with id `response_id`, described; refuses (ServiceError) an unknown id."""
    found = _stored_responses(session, Response.id == response_id)
    if not found:
        raise ServiceError(f"no response has the id {response_id}")
    return found[0]


def list_responses(
    session: Session, survey: Survey, organisation: Organisation | None = None
) -> list[StoredResponse]:
    """`survey`'s responses (about `organisation` or anything under it, when given), newest
    first: how a person's request to delete their on-record response is matched to its id."""
    conditions: list[ColumnElement[bool]] = [col(Response.survey_id) == survey.id]
    if organisation is not None:
        conditions.append(within(organisation))
    return _stored_responses(session, *conditions)


def _stored_responses(session: Session, *conditions: Any) -> list[StoredResponse]:
    answer_count = (
        select(func.count())
        .where(Answer.response_id == Response.id)
        .correlate(Response)
        .scalar_subquery()
    )
    # SQLModel's select is typed for at most four columns; these are eight.
    statement = (
        select(  # type: ignore[call-overload]
            Response.id,
            Survey.slug,
            Survey.anonymous,
            Organisation.code,
            Organisation.name,
            Response.submitted_at,
            Response.on_record,
            answer_count,
        )
        .join(Survey, col(Survey.id) == Response.survey_id)
        .join(Organisation, col(Organisation.id) == Response.organisation_id)
        .where(*conditions)
        .order_by(col(Response.submitted_at).desc(), col(Response.id).desc())
    )
    return [StoredResponse(*row) for row in session.exec(statement).all()]


def delete_response(
    session: Session, response_id: int, actor: Actor = COMMAND_LINE
) -> StoredResponse:
    """Delete one response and its answers, committed with its audit event; returns what was
    deleted. Refuses (ServiceError) an unknown id.

    Works for any survey, but only an on-record response (the ICB leader survey's) can be
    matched to the person asking: an anonymous survey stores nothing that identifies whose a
    response is.
    """
    stored = find_response(session, response_id)
    try:
        _delete(session, Answer, Answer.response_id == response_id)
        _delete(session, Response, Response.id == response_id)
        # The organisation and date are left out: with the survey they could point to the
        # person whose response was deleted at their request.
        audit.record(
            session,
            AuditAction.RESPONSE_DELETED,
            actor,
            target=stored.survey_slug,
            details={"response_id": response_id, "answers": stored.answers},
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return stored
