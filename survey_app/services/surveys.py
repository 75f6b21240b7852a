"""Surveys: loading definition files into the database, status changes, listings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select

from survey_app.definitions import QUALITY_FRAMEWORK_DOMAINS, SurveyDefinition, load_definition
from survey_app.models import (
    Answer,
    ChoiceOption,
    Question,
    QuestionType,
    Response,
    ScalePoint,
    Survey,
    TextTheme,
    Theme,
)
from survey_app.services import ServiceError


@dataclass(frozen=True, slots=True)
class LoadResult:
    slug: str
    changed: bool


def survey_by_slug(session: Session, slug: str) -> Survey | None:
    """The survey with its themes, questions, scales, options and codebooks, or None."""
    statement = (
        select(Survey)
        .where(Survey.slug == slug)
        .options(
            selectinload(Survey.themes),  # type: ignore[arg-type]
            selectinload(Survey.questions).selectinload(Question.scale_points),  # type: ignore[arg-type]
            selectinload(Survey.questions).selectinload(Question.options),  # type: ignore[arg-type]
            selectinload(Survey.questions).selectinload(Question.text_themes),  # type: ignore[arg-type]
            selectinload(Survey.questions).selectinload(Question.theme),  # type: ignore[arg-type]
        )
    )
    return session.exec(statement).first()


def require_survey(session: Session, slug: str) -> Survey:
    """The survey, or ServiceError when no survey has that slug."""
    survey = survey_by_slug(session, slug)
    if survey is None:
        raise ServiceError(f"no survey has the slug {slug!r}")
    return survey


def load_definition_files(session: Session, paths: Sequence[Path]) -> list[LoadResult]:
    """Load each definition file, then commit; all or nothing.

    Refuses (DefinitionError, ServiceError) an invalid file and a change that would orphan
    stored answers (a question, option or scale point removed or retyped once answered).
    """
    results = []
    for path in paths:
        definition, digest = load_definition(path)
        results.append(_upsert_survey(session, definition, digest, str(path)))
    session.commit()
    return results


def _upsert_survey(
    session: Session, definition: SurveyDefinition, digest: str, source: str
) -> LoadResult:
    survey = survey_by_slug(session, definition.slug)
    if survey is not None and survey.definition_sha256 == digest:
        return LoadResult(definition.slug, changed=False)
    if survey is None:
        survey = Survey(
            slug=definition.slug,
            title=definition.title,
            org_levels="",
            org_question="",
            definition_sha256=digest,
        )
    survey.title = definition.title
    survey.description = definition.description.strip()
    survey.anonymous = definition.anonymous
    survey.allow_open_link = definition.allow_open_link
    survey.org_levels = ",".join(definition.organisation.levels)
    survey.org_question = definition.organisation.text
    survey.asks_on_record = definition.on_record is not None
    survey.on_record_question = definition.on_record.text if definition.on_record else ""
    survey.definition_sha256 = digest
    session.add(survey)
    session.flush()

    themes = {theme.code: theme for theme in survey.themes}
    for position, theme_def in enumerate(definition.themes):
        theme = themes.get(theme_def.code) or Theme(
            survey_id=survey.id, code=theme_def.code, title=theme_def.title, position=position
        )
        theme.title, theme.domain, theme.position = theme_def.title, theme_def.domain, position
        session.add(theme)
        themes[theme_def.code] = theme
    session.flush()

    answered = _answered_question_ids(session, survey)
    questions = {question.code: question for question in survey.questions}
    wanted = {question.code for _, question in definition.questions()}
    for code, question in questions.items():
        if code not in wanted and question.id in answered:
            raise ServiceError(
                f"{source}: question {code!r} has stored answers and cannot be removed"
            )
    for stale in [q for code, q in questions.items() if code not in wanted]:
        _delete_question(session, stale)
    for stale_theme in [
        t for code, t in themes.items() if code not in {t.code for t in definition.themes}
    ]:
        session.delete(stale_theme)

    for position, (section, question_def) in enumerate(definition.questions()):
        question = questions.get(question_def.code)
        if question is not None and question.type != question_def.type and question.id in answered:
            raise ServiceError(
                f"{source}: question {question_def.code!r} has stored answers; its type cannot "
                f"change from {question.type.value} to {question_def.type}"
            )
        if question is None:
            question = Question(
                survey_id=survey.id,
                code=question_def.code,
                type=QuestionType(question_def.type),
                text=question_def.text,
                position=position,
            )
        theme_code = definition.theme_of(section, question_def)
        question.type = QuestionType(question_def.type)
        question.text = question_def.text
        question.hint = question_def.hint
        question.required = question_def.required
        question.section = section.title
        question.position = position
        question.theme_id = themes[theme_code].id if theme_code else None
        session.add(question)
        session.flush()
        has_answers = question.id in answered
        _sync_scale(
            session,
            question,
            definition.scales.get(question_def.scale or "", []),
            has_answers,
            source,
        )
        _sync_options(session, question, question_def.options or [], has_answers, source)
        _sync_text_themes(session, question, question_def.text_themes or [])
    session.flush()
    session.expire(survey)
    return LoadResult(definition.slug, changed=True)


def _answered_question_ids(session: Session, survey: Survey) -> set[int]:
    if survey.id is None:
        return set()
    statement = (
        select(Answer.question_id)
        .join(Question, col(Question.id) == Answer.question_id)
        .where(Question.survey_id == survey.id)
        .distinct()
    )
    return set(session.exec(statement).all())


def _delete_question(session: Session, question: Question) -> None:
    for child in [*question.scale_points, *question.options, *question.text_themes]:
        session.delete(child)
    session.delete(question)


def _sync_scale(
    session: Session, question: Question, points: list, has_answers: bool, source: str
) -> None:
    current = {point.value: point for point in question.scale_points}
    wanted = {point.value: point.label for point in points}
    if has_answers and current and set(current) != set(wanted):
        raise ServiceError(
            f"{source}: question {question.code!r} has stored answers; its scale values cannot "
            f"change from {sorted(current)} to {sorted(wanted)}"
        )
    for value, point in current.items():
        if value not in wanted:
            session.delete(point)
    for value, label in wanted.items():
        point = current.get(value) or ScalePoint(question_id=question.id, value=value, label=label)
        point.label = label
        session.add(point)


def _sync_options(
    session: Session, question: Question, options: list, has_answers: bool, source: str
) -> None:
    current = {option.code: option for option in question.options}
    wanted = [option.code for option in options]
    for code, option in current.items():
        if code not in wanted:
            if has_answers:
                raise ServiceError(
                    f"{source}: question {question.code!r} has stored answers; option {code!r} "
                    "cannot be removed"
                )
            session.delete(option)
    for position, option_def in enumerate(options):
        option = current.get(option_def.code) or ChoiceOption(
            question_id=question.id, code=option_def.code, label=option_def.label, position=position
        )
        option.label, option.position = option_def.label, position
        session.add(option)


def _sync_text_themes(session: Session, question: Question, text_themes: list) -> None:
    current = {theme.code: theme for theme in question.text_themes}
    wanted = {theme.code for theme in text_themes}
    for code, theme in current.items():
        if code not in wanted:
            session.delete(theme)
    for position, theme_def in enumerate(text_themes):
        theme = current.get(theme_def.code) or TextTheme(
            question_id=question.id,
            code=theme_def.code,
            label=theme_def.label,
            patterns="",
            position=position,
        )
        theme.label = theme_def.label
        theme.patterns = "\n".join(theme_def.patterns)
        theme.position = position
        session.add(theme)


def response_counts(session: Session) -> dict[int, int]:
    """Responses stored per survey id."""
    statement = select(Response.survey_id, func.count()).group_by(Response.survey_id)
    return dict(session.exec(statement).all())  # type: ignore[arg-type]


def list_surveys(session: Session) -> list[dict[str, object]]:
    """Every survey as `{"slug", "title", "status", "responses"}`, in slug order."""
    counts = response_counts(session)
    surveys = session.exec(select(Survey).order_by(Survey.slug)).all()
    return [
        {
            "slug": s.slug,
            "title": s.title,
            "status": s.status.value,
            "responses": counts.get(s.id or 0, 0),
        }
        for s in surveys
    ]


def survey_as_dict(survey: Survey) -> dict[str, object]:
    """The definition as loaded, in the shape of `survey-app surveys show --format json`."""
    questions = []
    for question in survey.questions:
        entry: dict[str, object] = {
            "code": question.code,
            "type": question.type.value,
            "text": question.text,
            "theme": question.theme.code if question.theme else None,
            "required": question.required,
            "section": question.section,
        }
        if question.type == QuestionType.LIKERT:
            entry["scale"] = [{"value": p.value, "label": p.label} for p in question.scale_points]
        if question.type == QuestionType.CHOICE:
            entry["options"] = [{"code": o.code, "label": o.label} for o in question.options]
        if question.type == QuestionType.TEXT:
            entry["text_themes"] = [
                {"code": t.code, "label": t.label} for t in question.text_themes
            ]
        questions.append(entry)
    return {
        "slug": survey.slug,
        "title": survey.title,
        "status": survey.status.value,
        "anonymous": survey.anonymous,
        "allow_open_link": survey.allow_open_link,
        "organisation_levels": survey.levels,
        "asks_on_record": survey.asks_on_record,
        "themes": [
            {
                "code": t.code,
                "title": t.title,
                "domain": QUALITY_FRAMEWORK_DOMAINS.get(t.domain or ""),
            }
            for t in survey.themes
        ],
        "questions": questions,
    }
