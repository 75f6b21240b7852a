"""Demo responses and their answers stored as plain rows, a Core INSERT each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from survey_app.models import Answer, Question, QuestionType, Response
from survey_app.models.responses import likert_vector_columns


def choice_answer(question: Question, option_id: int | None) -> dict[str, Any]:
    """The answer row choosing `option_id` for a choice question."""
    return {"question_id": question.id, "value": None, "option_id": option_id, "text": None}


def likert_answer(question: Question, value: int) -> dict[str, Any]:
    """The answer row rating a Likert question `value` (1-5)."""
    return {"question_id": question.id, "value": value, "option_id": None, "text": None}


def text_answer(question: Question, text: str) -> dict[str, Any]:
    """The answer row of a free-text question."""
    return {"question_id": question.id, "value": None, "option_id": None, "text": text}


def insert_responses(
    session: Session, responses: Sequence[dict[str, Any]], answers: Sequence[list[dict[str, Any]]]
) -> None:
    """Insert the responses, each with its Likert vector, then their answers, each in one
    executemany (not one ORM object per answer: the demo stores some 60,000 rows)."""
    likert: dict[int, set[int]] = {response["survey_id"]: set() for response in responses}
    for survey_id, question_id in session.exec(
        select(Question.survey_id, Question.id).where(
            col(Question.survey_id).in_(likert), Question.type == QuestionType.LIKERT
        )
    ):
        likert[survey_id].add(question_id)  # type: ignore[arg-type]
    responses = [
        {
            **response,
            **likert_vector_columns(
                likert[response["survey_id"]],
                {answer["question_id"]: answer["value"] for answer in row if answer["value"]},
            ),
        }
        for response, row in zip(responses, answers, strict=True)
    ]
    table = Response.__table__  # type: ignore[attr-defined]
    ids = (
        session.exec(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), params=responses
        )
        .scalars()
        .all()
    )
    session.exec(
        insert(Answer.__table__),  # type: ignore[attr-defined]
        params=[
            {**answer, "response_id": response_id}
            for response_id, row in zip(ids, answers, strict=True)
            for answer in row
        ],
    )
