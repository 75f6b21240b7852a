"""A response and its answers as rows to insert: built from parsed answers, then inserted.

Shared by a submission, a CSV import and the release of held submissions
(`survey_app.services.holding`), so every path writes the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session

from survey_app.models import (
    Answer,
    Organisation,
    QuestionType,
    Response,
    Survey,
    Wave,
    stored_id,
)
from survey_app.models.responses import likert_vector_columns
from survey_app.questions import ParsedAnswer
from survey_app.services.organisations import OrganisationChoice


def stored_time(survey: Survey, moment: datetime) -> datetime:
    """The time as stored for `survey`: only the date for an anonymous survey, so a response
    cannot be matched to the invitation used at the same moment."""
    if survey.anonymous:
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment


@dataclass(frozen=True, slots=True)
class NewResponse:
    """A response to store and its answers by question id."""

    response: Response
    answers: Mapping[int, ParsedAnswer]


def new_response(
    survey: Survey,
    wave: Wave,
    organisation: Organisation | OrganisationChoice,
    answers: Mapping[int, ParsedAnswer],
    on_record: bool,
    submitted_at: datetime,
) -> NewResponse:
    """The response of `answers` about `organisation` to `wave`, not yet stored, with its
    Likert vector and its time as `stored_time` keeps it."""
    response = Response(
        survey_id=stored_id(survey),
        wave_id=stored_id(wave),
        organisation_id=stored_id(organisation),
        submitted_at=stored_time(survey, submitted_at),
        on_record=on_record and survey.asks_on_record,
        # Derived from the answers in the same transaction, for the summaries to read.
        **likert_vector_columns(
            {stored_id(q) for q in survey.questions if q.type == QuestionType.LIKERT},
            {qid: parsed.value for qid, parsed in answers.items() if parsed.value is not None},
        ),
    )
    return NewResponse(response, answers)


def store_responses(session: Session, new_responses: Sequence[NewResponse]) -> None:
    """Add `new_responses` and their answers to the session's transaction (not committed), in
    the order given: the order of their ids. The responses go in as objects, whose ids the
    answers need; the answers as plain rows of one Core INSERT executed for all of them, so that
    a submission's twenty answers are not twenty ORM objects."""
    session.add_all([new.response for new in new_responses])
    session.flush()
    rows = [
        {
            "response_id": new.response.id,
            "question_id": question_id,
            "value": parsed.value,
            "option_id": parsed.option_id,
            "text": parsed.text,
        }
        for new in new_responses
        for question_id, parsed in new.answers.items()
    ]
    if rows:
        session.execute(insert(Answer.__table__), rows)  # type: ignore[attr-defined]
