"""Definition files loaded into the database: a survey created or brought up to date with its
themes, questions, scales, options and codebooks, each change a new revision, refused when it
would orphan stored answers."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from survey_app.definitions import DefinitionError, SurveyDefinition, load_definition
from survey_app.definitions.loader import CodebookThemeDef, TextThemeDef
from survey_app.models import (
    Answer,
    AuditAction,
    ChoiceOption,
    Question,
    QuestionType,
    ScalePoint,
    Survey,
    TextTheme,
    Theme,
    Wave,
    stored_id,
)
from survey_app.models.surveys import new_definition_revision, stored_rules
from survey_app.services import ServiceError
from survey_app.services import responses as response_service
from survey_app.services.audit import COMMAND_LINE, Actor, record
from survey_app.services.surveys import survey_by_slug


@dataclass(frozen=True, slots=True)
class LoadResult:
    """One definition file loaded: its survey's slug, and whether the load changed it."""

    slug: str
    changed: bool


def load_definition_files(
    session: Session, paths: Sequence[Path], actor: Actor = COMMAND_LINE
) -> list[LoadResult]:
    """Load each definition file, then commit with an audit event per survey changed; all or
    nothing.

    Refuses (DefinitionError, ServiceError) an invalid file and a change that would orphan
    stored answers (a question, option or scale point removed or retyped once answered).
    """
    results = []
    for path in paths:
        definition, digest = load_definition(path)
        result = _upsert_survey(session, definition, digest, str(path))
        if result.changed:
            record(
                session,
                AuditAction.SURVEY_LOADED,
                actor,
                target=definition.slug,
                details={"file": path.name, "sha256": digest},
            )
        results.append(result)
    session.commit()
    return results


class DefinitionUploadError(ServiceError):
    """An uploaded definition was refused; `problems` lists each problem, naming the field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def load_uploaded_definition(
    session: Session, content: bytes, filename: str, actor: Actor = COMMAND_LINE
) -> LoadResult:
    """Load a definition file uploaded as `content` under the name `filename`, as
    `load_definition_files` does (committed with its audit event; all or nothing).

    Refuses (DefinitionUploadError) an invalid definition, with one problem per field at fault
    as the loader names it (for example `sections[0].questions[2].scale: unknown scale 'x'`),
    and a change that would orphan stored answers.
    """
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(filename).name).lstrip(".") or "upload.yaml"
    # The loader reads files (and names them in its messages): give it one under the
    # uploaded name, in a folder of its own, and take the folder out of what it says.
    with tempfile.TemporaryDirectory(prefix="survey-definition-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        try:
            [result] = load_definition_files(session, [path], actor)
        except DefinitionError as exc:
            session.rollback()
            # The loader joins the problems of one file with "; ".
            problems = str(exc).removeprefix(f"{path}: ").split("; ")
            raise DefinitionUploadError(problems) from None
        except ServiceError as exc:
            session.rollback()
            raise DefinitionUploadError([str(exc).removeprefix(f"{path}: ")]) from None
    return result


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
    survey.definition_revision = new_definition_revision()
    if definition.retention_days is not None:
        # A file without retention_days leaves the period set by `survey-app surveys retention`.
        survey.retention_days = definition.retention_days
    session.add(survey)
    session.flush()
    if not survey.waves:
        # A new survey starts as its wave 1, waiting to be opened; a reload never touches waves.
        session.add(
            Wave(survey_id=stored_id(survey), number=1, created_at=response_service.utcnow())
        )

    themes = {theme.code: theme for theme in survey.themes}
    for position, theme_def in enumerate(definition.themes):
        theme = themes.get(theme_def.code) or Theme(
            survey_id=stored_id(survey),
            code=theme_def.code,
            title=theme_def.title,
            position=position,
        )
        theme.title, theme.domain, theme.position = theme_def.title, theme_def.domain, position
        session.add(theme)
        themes[theme_def.code] = theme
    session.flush()

    answered = _answered_question_ids(session, survey)
    questions = {question.code: question for question in survey.questions}
    wanted = {question.code for _, question in definition.questions()}
    for code, stored in questions.items():
        if code not in wanted and stored.id in answered:
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
                survey_id=stored_id(survey),
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
        question.section_intro = section.intro
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
        _sync_text_themes(session, question, definition.text_themes_of(question_def))
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
        point = current.get(value) or ScalePoint(
            question_id=stored_id(question), value=value, label=label
        )
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
            question_id=stored_id(question),
            code=option_def.code,
            label=option_def.label,
            position=position,
        )
        option.label, option.position = option_def.label, position
        session.add(option)


def _sync_text_themes(
    session: Session, question: Question, text_themes: list[CodebookThemeDef | TextThemeDef]
) -> None:
    current = {theme.code: theme for theme in question.text_themes}
    wanted = {theme.code for theme in text_themes}
    for code, theme in current.items():
        if code not in wanted:
            session.delete(theme)
    for position, theme_def in enumerate(text_themes):
        theme = current.get(theme_def.code) or TextTheme(
            question_id=stored_id(question),
            code=theme_def.code,
            label=theme_def.label,
            patterns="",
            position=position,
        )
        theme.label = theme_def.label
        if isinstance(theme_def, CodebookThemeDef):
            theme.patterns = stored_rules(theme_def.phrases, theme_def.exclude, theme_def.negation)
        else:
            theme.patterns = "\n".join(theme_def.patterns)
        theme.position = position
        session.add(theme)
