"""Surveys looked up: by slug, with or without their definition, listed with their status,
the one taking responses now for the respondents' pages, and a definition as JSON."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.orm import raiseload, selectinload
from sqlmodel import Session, col, select

from survey_app.definitions import QUALITY_FRAMEWORK_DOMAINS
from survey_app.models import Question, QuestionType, Response, Survey, SurveyStatus, Wave
from survey_app.process_cache import ProcessCache
from survey_app.services import ServiceError
from survey_app.services import responses as response_service

#: The longest name a wave may have (the column's length). Here, not in `waves`, because
#: forms/admin.py imports it from here.
MAX_WAVE_NAME = 120

#: Loader options reading a survey's whole definition: themes, questions and each question's
#: scale, options, codebook and theme, a query each.
_DEFINITION = (
    selectinload(Survey.themes),  # type: ignore[arg-type]
    selectinload(Survey.questions).selectinload(Question.scale_points),  # type: ignore[arg-type]
    selectinload(Survey.questions).selectinload(Question.options),  # type: ignore[arg-type]
    selectinload(Survey.questions).selectinload(Question.text_themes),  # type: ignore[arg-type]
    selectinload(Survey.questions).selectinload(Question.theme),  # type: ignore[arg-type]
)


def survey_by_slug(session: Session, slug: str) -> Survey | None:
    """The survey with its themes, questions, scales, options and codebooks, or None."""
    statement = (
        select(Survey).where(Survey.slug == slug).options(selectinload(Survey.waves), *_DEFINITION)  # type: ignore[arg-type]
    )
    return session.exec(statement).first()


def survey_without_definition(session: Session, slug: str) -> Survey | None:
    """The survey with `slug` by its own columns alone (title, anonymity, ...), or None: what
    a page that shows no question needs, in one query. Its questions and waves, if asked for,
    are read when first used."""
    return session.exec(select(Survey).where(Survey.slug == slug)).first()


def require_survey(session: Session, slug: str) -> Survey:
    """The survey, or ServiceError when no survey has that slug."""
    survey = survey_by_slug(session, slug)
    if survey is None:
        raise ServiceError(f"no survey has the slug {slug!r}")
    return survey


def response_counts(session: Session) -> dict[int, int]:
    """Responses stored per survey id."""
    statement = select(Response.survey_id, func.count()).group_by(col(Response.survey_id))
    return dict(session.exec(statement).all())


@dataclass(frozen=True, slots=True)
class SurveyListing:
    survey: Survey
    #: The current wave, whose status and dates these are.
    wave: Wave
    #: What respondents meet now: the current wave's stored status as its dates move it.
    status: SurveyStatus
    #: Responses to every wave of the survey.
    responses: int

    def as_json(self) -> dict[str, object]:
        """`{"slug", "title", "status", "responses"}`, as `surveys list --format json`."""
        return {
            "slug": self.survey.slug,
            "title": self.survey.title,
            "status": self.status.value,
            "responses": self.responses,
        }


def survey_status(survey: Survey) -> SurveyStatus:
    """The status respondents meet now: the current wave's (`Wave.status_at` on the
    application's clock)."""
    return survey.status_at(response_service.utcnow())


def survey_listing(session: Session, slug: str | None = None) -> list[SurveyListing]:
    """Every survey (or the one with `slug`) with its current wave, that wave's status now
    and the survey's number of responses, in slug order."""
    counts = response_counts(session)
    statement = (
        select(Survey).order_by(Survey.slug).options(selectinload(Survey.waves))  # type: ignore[arg-type]
    )
    if slug is not None:
        statement = statement.where(Survey.slug == slug)
    return [
        SurveyListing(
            survey, survey.current_wave, survey_status(survey), counts.get(survey.id or 0, 0)
        )
        for survey in session.exec(statement).all()
    ]


def list_surveys(session: Session) -> list[dict[str, object]]:
    """Every survey as `{"slug", "title", "status", "responses"}`, in slug order; the status
    is the one respondents meet now."""
    return [entry.as_json() for entry in survey_listing(session)]


@dataclass(frozen=True, slots=True)
class OpenSurvey:
    """A survey taking responses: its definition, shared by every request of the process and
    never changed (its `waves` cannot be read), and its current wave, read in the request's
    own session."""

    survey: Survey
    wave: Wave


#: Definitions as respondents' pages use them, by (survey id, definition revision). Each is
#: loaded once per process and detached from any session; requests on every thread read them.
_respondent_definitions: ProcessCache[Survey] = ProcessCache(limit=32)


def accepting_survey(session: Session, slug: str) -> OpenSurvey | None:
    """The survey with `slug` and its current wave if that wave is taking responses now, else
    None. One query reads the wave and the definition's revision; the definition itself (its
    questions, scales, options and codebooks: seven queries and a few hundred rows) is read
    only when this process has not yet seen that revision."""
    row = session.exec(
        select(Survey.id, Survey.definition_revision, Wave)
        .join(Wave, col(Wave.survey_id) == Survey.id)
        .where(Survey.slug == slug)
        .order_by(col(Wave.number).desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    survey_id, revision, wave = row
    if survey_id is None:
        raise ValueError(f"survey {slug!r} was read without its id")
    if not wave.is_accepting(response_service.utcnow()):
        return None
    survey = _respondent_definitions.get(
        (survey_id, revision), lambda: _detached_definition(session, survey_id)
    )
    return OpenSurvey(survey, wave)  # type: ignore[arg-type]


def _detached_definition(session: Session, survey_id: int) -> Survey:
    """The survey with its definition loaded, in a session of its own on `session`'s
    connection (so in the same transaction, seeing the same revision) that is closed before
    returning: committing or expiring the request's session cannot touch it."""
    with Session(bind=session.connection()) as loader:
        survey = loader.exec(
            select(Survey)
            .where(Survey.id == survey_id)
            .options(raiseload(Survey.waves), *_DEFINITION)  # type: ignore[arg-type]
        ).one()
    return survey


def open_link_surveys(session: Session) -> list[Survey]:
    """The surveys taking responses now through their open link, by title."""
    surveys = session.exec(
        select(Survey).where(col(Survey.allow_open_link).is_(True)).order_by(Survey.title)
    ).all()
    return [survey for survey in surveys if survey_status(survey) == SurveyStatus.OPEN]


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
        "status": survey_status(survey).value,
        "anonymous": survey.anonymous,
        "allow_open_link": survey.allow_open_link,
        "organisation_levels": survey.levels,
        "asks_on_record": survey.asks_on_record,
        "retention_days": survey.retention_days,
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
