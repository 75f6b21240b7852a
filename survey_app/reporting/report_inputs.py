"""What a report needs besides the summary: the period, question wording, scale labels and the
quotes its rules allow. Loaded from the database; no Flask."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from reports.summary_types import Summary
from survey_app.models import Answer, Organisation, QuestionType, Response, Survey, Wave, stored_id
from survey_app.reporting.scope import figures_as_of, response_ids_in_scope

#: Quotes a report shows per free-text question, and the lengths that read well in print.
QUOTES_PER_QUESTION = 3
QUOTE_LENGTH = (40, 400)

answer_t = Answer.__table__  # type: ignore[attr-defined]
response_t = Response.__table__  # type: ignore[attr-defined]
org_t = Organisation.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """Keyword arguments of `reports.pdf.render_report_pdf` besides the summary."""

    period: tuple[date, date] | None
    question_texts: dict[str, str]
    scale_labels: dict[str, list[str]]
    quotes: list[dict[str, Any]] = field(default_factory=list)
    #: The day at whose start an open wave's figures were taken (a daily snapshot); None when
    #: the report counts every response.
    figures_as_of: date | None = None

    def as_kwargs(self) -> dict[str, Any]:
        """These inputs as the keyword arguments `render_report_pdf` and `render_report_html`
        take."""
        return {
            "period": self.period,
            "question_texts": self.question_texts,
            "scale_labels": self.scale_labels,
            "quotes": self.quotes,
            "figures_as_of": self.figures_as_of,
        }


def load_report_inputs(
    session: Session,
    survey: Survey,
    scope: Organisation | None,
    wave: Wave,
    summary: Summary,
) -> ReportInputs:
    """The period of `wave`'s responses in scope, the survey's wording, the quotes allowed,
    and the day an open wave's daily snapshot was taken (`figures_as_of`), for the report of
    `summary` (`load_summary`'s of the same survey, scope and wave, which says which cells are
    withheld).

    A quote comes only from the scope's answers to a question whose answers there are
    published and at least k, whatever the grouping, and names the organisation only when the
    survey is not anonymous and the respondent agreed to be quoted (on_record).
    """
    connection = session.connection()
    in_scope = response_ids_in_scope(wave, scope)
    first, last = connection.execute(
        sa.select(
            sa.func.min(response_t.c.submitted_at), sa.func.max(response_t.c.submitted_at)
        ).where(response_t.c.id.in_(in_scope))
    ).one()
    period = (first.date(), last.date()) if first is not None else None
    return ReportInputs(
        period=period,
        question_texts={q.code: q.text for q in survey.questions},
        scale_labels={
            q.code: [point.label for point in q.scale_points]
            for q in survey.questions
            if q.type == QuestionType.LIKERT
        },
        quotes=_quotes(connection, survey, in_scope, summary),
        figures_as_of=figures_as_of(wave),
    )


def _quotes(
    connection: sa.Connection,
    survey: Survey,
    in_scope: sa.Select,
    summary: Summary,
) -> list[dict[str, Any]]:
    """The quotes a report may show, at most `QUOTES_PER_QUESTION` per free-text question,
    one per codebook theme, from the scope's answers to a question whose answers in the scope
    are published and number at least k. The grouping plays no part: the quotes of a scope are
    the same whatever it is grouped by, so no quote is tied to a small group."""
    min_n = summary["suppression_min_n"]
    publishable = {
        question["question"]
        for question in summary["free_text"]
        if question["answered"] is not None and question["answered"] >= min_n
    }
    questions = {
        stored_id(q): q
        for q in survey.questions
        if q.type == QuestionType.TEXT and q.code in publishable
    }
    if not questions:
        return []
    query = (
        sa.select(
            answer_t.c.question_id,
            answer_t.c.text,
            response_t.c.on_record,
            org_t.c.name,
        )
        .select_from(answer_t)
        .join(response_t, response_t.c.id == answer_t.c.response_id)
        .join(org_t, org_t.c.id == response_t.c.organisation_id)
        .where(
            answer_t.c.question_id.in_(list(questions)),
            answer_t.c.response_id.in_(in_scope),
            sa.func.length(answer_t.c.text).between(*QUOTE_LENGTH),
        )
        .order_by(answer_t.c.response_id, answer_t.c.question_id)
    )

    patterns = {
        question_id: [
            re.compile("|".join(f"(?:{p})" for p in theme.pattern_list), re.IGNORECASE)
            for theme in question.text_themes
        ]
        for question_id, question in questions.items()
    }
    chosen_quotes: dict[int, list[dict[str, Any]]] = {question_id: [] for question_id in questions}
    themes_used: dict[int, set[int]] = {question_id: set() for question_id in questions}
    for question_id, text, on_record, org_name in connection.execute(query):
        picked = chosen_quotes[question_id]
        if len(picked) >= QUOTES_PER_QUESTION:
            continue
        # One quote per codebook theme, so the quotes show the range of what was said.
        mentioned = {i for i, pattern in enumerate(patterns[question_id]) if pattern.search(text)}
        fresh = mentioned - themes_used[question_id]
        if patterns[question_id] and not fresh:
            continue
        themes_used[question_id] |= fresh
        picked.append(
            {
                "question": questions[question_id].code,
                "text": " ".join(text.split()),
                "attribution": org_name if on_record and not survey.anonymous else None,
            }
        )
    return [quote for quotes in chosen_quotes.values() for quote in quotes]
