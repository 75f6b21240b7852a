"""Surveys: loading definition files into the database, status changes, listings."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import raiseload, selectinload
from sqlmodel import Session, col, select

from survey_app.definitions import (
    QUALITY_FRAMEWORK_DOMAINS,
    DefinitionError,
    SurveyDefinition,
    load_definition,
)
from survey_app.models import (
    Answer,
    AuditAction,
    ChoiceOption,
    Invitation,
    Question,
    QuestionType,
    Response,
    ScalePoint,
    Survey,
    SurveyStatus,
    TextTheme,
    Theme,
    Wave,
)
from survey_app.models.surveys import default_wave_name, new_definition_revision
from survey_app.process_cache import ProcessCache
from survey_app.services import ServiceError
from survey_app.services import responses as response_service
from survey_app.services.audit import COMMAND_LINE, Actor, record
from survey_app.services.saved_answers import (
    discard_closed_waves_saved_answers,
    discard_wave_saved_answers,
)


@dataclass(frozen=True, slots=True)
class LoadResult:
    slug: str
    changed: bool


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


def open_survey(session: Session, survey: Survey, actor: Actor = COMMAND_LINE) -> Survey:
    """Open the current wave of `survey` for responses, committed with its audit event;
    returns the survey. Refuses (InvalidTransition) a wave already open, or past its closing
    date."""
    survey.current_wave.open(response_service.utcnow())
    return _status_changed(session, survey, AuditAction.SURVEY_OPENED, actor)


def close_survey(session: Session, survey: Survey, actor: Actor = COMMAND_LINE) -> Survey:
    """Close the current wave of `survey` to responses, and forget the addresses of its
    invitations and the answers its invitees saved part-way, committed with its audit event;
    returns the survey. Refuses (InvalidTransition) a wave that is not open."""
    wave = survey.current_wave
    wave.close(response_service.utcnow())
    forget_wave_addresses(session, wave)
    discard_wave_saved_answers(session, wave)
    return _status_changed(session, survey, AuditAction.SURVEY_CLOSED, actor)


def _status_changed(session: Session, survey: Survey, action: AuditAction, actor: Actor) -> Survey:
    wave = survey.current_wave
    session.add(wave)
    record(session, action, actor, target=survey.slug, details={"wave": wave.number})
    session.commit()
    return survey


def forget_wave_addresses(session: Session, wave: Wave) -> int:
    """Clear the invitee addresses of `wave`'s invitations, in the session's transaction (not
    committed); returns how many were cleared. Addresses are kept only to send a wave's
    invitations and reminders, so only while it is open."""
    cleared = session.exec(  # type: ignore[call-overload]
        update(Invitation)
        .where(col(Invitation.wave_id) == wave.id, col(Invitation.email).is_not(None))
        .values(email=None)
    )
    return cleared.rowcount


def forget_closed_wave_addresses(
    session: Session, now: datetime, survey: Survey | None = None, dry_run: bool = False
) -> int:
    """Clear the invitee addresses of every wave (of `survey`, or of every survey) closed at
    `now`, by hand or by its closing date, committed; returns how many addresses were cleared,
    or with `dry_run` would be, clearing none. `survey-app purge` calls it, since a wave closed
    by its date has no moment of closing that could clear them."""
    holding = select(Invitation.wave_id).where(col(Invitation.email).is_not(None)).distinct()
    statement = select(Wave).where(col(Wave.id).in_(holding))
    if survey is not None:
        statement = statement.where(Wave.survey_id == survey.id)
    closed = [
        wave for wave in session.exec(statement).all() if wave.status_at(now) == SurveyStatus.CLOSED
    ]
    if dry_run:
        return sum(_address_count(session, wave) for wave in closed)
    cleared = sum(forget_wave_addresses(session, wave) for wave in closed)
    # Answers saved part-way through a closed wave's links can never be sent: they go too.
    discard_closed_waves_saved_answers(session, now, survey)
    session.commit()
    return cleared


def _address_count(session: Session, wave: Wave) -> int:
    statement = select(func.count()).where(
        Invitation.wave_id == wave.id, col(Invitation.email).is_not(None)
    )
    return session.exec(statement).one()


#: The longest name a wave may have (the column's length).
MAX_WAVE_NAME = 120


def start_wave(
    session: Session,
    survey: Survey,
    name: str | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    actor: Actor = COMMAND_LINE,
) -> Wave:
    """Start the next wave of `survey` for a new period, committed with its audit event;
    returns it. The new wave is numbered one past the current one, named `name` (default
    "Wave N"), and waits as a draft to be opened by hand or by its opening date `opens_at`
    (UTC); `closes_at` closes it by itself. The addresses of the wave before are forgotten.

    Refuses (ServiceError, naming the field) unless the current wave is closed now, a name
    over 120 characters, a closing date not after the opening date or already past, and a
    wave started by someone else at the same moment.
    """
    now = response_service.utcnow()
    current = survey.current_wave
    status = current.status_at(now)
    if status != SurveyStatus.CLOSED:
        raise ServiceError(
            f"{current.label} is {status.value}: close it before starting wave {current.number + 1}"
        )
    name = (name or "").strip()
    if len(name) > MAX_WAVE_NAME:
        raise ServiceError(f"name: at most {MAX_WAVE_NAME} characters, not {len(name)}")
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise ServiceError("closes: the closing date must be after the opening date")
    if closes_at is not None and closes_at <= now:
        raise ServiceError("closes: the closing date must be in the future")
    wave = Wave(
        number=current.number + 1,
        name=name or default_wave_name(current.number + 1),
        opens_at=opens_at,
        closes_at=closes_at,
        created_at=now,
    )
    survey.waves.append(wave)
    forget_wave_addresses(session, current)
    discard_wave_saved_answers(session, current)
    record(
        session,
        AuditAction.WAVE_STARTED,
        actor,
        target=survey.slug,
        details={
            "wave": wave.number,
            "name": wave.name,
            "opens_at": _iso(opens_at),
            "closes_at": _iso(closes_at),
        },
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ServiceError(
            f"wave {wave.number} of {survey.slug} was started by someone else at the same moment"
        ) from None
    return wave


@dataclass(frozen=True, slots=True)
class WaveListing:
    wave: Wave
    #: What respondents meet now: the stored status as the opening and closing dates move it.
    status: SurveyStatus
    responses: int
    invitations: int


def wave_listing(session: Session, survey: Survey) -> list[WaveListing]:
    """Every wave of `survey`, by number, with its status now and its numbers of responses
    and invitations."""
    responses = dict(
        session.exec(
            select(Response.wave_id, func.count())
            .where(Response.survey_id == survey.id)
            .group_by(Response.wave_id)
        ).all()
    )
    invitations = dict(
        session.exec(
            select(Invitation.wave_id, func.count())
            .where(Invitation.survey_id == survey.id)
            .group_by(Invitation.wave_id)
        ).all()
    )
    now = response_service.utcnow()
    return [
        WaveListing(
            wave, wave.status_at(now), responses.get(wave.id, 0), invitations.get(wave.id, 0)
        )
        for wave in survey.waves
    ]


def list_waves(session: Session, survey: Survey) -> list[dict[str, object]]:
    """Every wave of `survey` as `{"number", "name", "status", "opens_at", "closes_at",
    "responses", "invitations"}`, by number; the status is the one respondents meet now and
    the dates are ISO 8601 UTC (None for no date)."""
    return [
        {
            "number": entry.wave.number,
            "name": entry.wave.name,
            "status": entry.status.value,
            "opens_at": _iso(entry.wave.opens_at),
            "closes_at": _iso(entry.wave.closes_at),
            "responses": entry.responses,
            "invitations": entry.invitations,
        }
        for entry in wave_listing(session, survey)
    ]


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
        session.add(Wave(survey_id=survey.id, number=1, created_at=response_service.utcnow()))

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


def set_survey_dates(
    session: Session,
    survey: Survey,
    opens_at: datetime | None,
    closes_at: datetime | None,
    actor: Actor = COMMAND_LINE,
) -> Survey:
    """Set when the current wave of `survey` opens and closes by itself (UTC; None for no
    date), committed with an audit event naming the dates before and after; returns the
    survey. An opening date still to come makes the wave wait for it, even one closed or open
    before. Refuses (ServiceError) a closing date not after the opening date.
    """
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise ServiceError("the closing date must be after the opening date")
    wave = survey.current_wave
    before = {"opens_at": _iso(wave.opens_at), "closes_at": _iso(wave.closes_at)}
    wave.opens_at, wave.closes_at = opens_at, closes_at
    if opens_at is not None and opens_at > response_service.utcnow():
        wave.status = SurveyStatus.DRAFT
        wave.closed_at = None
    session.add(wave)
    record(
        session,
        AuditAction.SURVEY_DATES_SET,
        actor,
        target=survey.slug,
        details={
            "wave": wave.number,
            "before": before,
            "after": {"opens_at": _iso(opens_at), "closes_at": _iso(closes_at)},
        },
    )
    session.commit()
    return survey


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


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
