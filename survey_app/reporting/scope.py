"""What a report is of: the wave it shows, the responses in its scope, how they are grouped,
and the survey as the statistics see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlmodel import Session

from reports.free_text import TextTheme as TextThemeSpec
from reports.summary import LikertItemSpec, SurveySpec, TextQuestionSpec, ThemeSpec
from reports.text_coding import ThemeRules
from survey_app.models import (
    Organisation,
    OrgLevel,
    Question,
    Response,
    Survey,
    SurveyStatus,
    TextTheme,
    Wave,
)
from survey_app.questions import kind_of
from survey_app.services import ServiceError
from survey_app.services import responses as response_service

response_t = Response.__table__  # type: ignore[attr-defined]
org_t = Organisation.__table__  # type: ignore[attr-defined]


def survey_spec(survey: Survey) -> SurveySpec:
    """What the statistics need of a loaded survey: Likert items, themes and codebooks, each
    question in the report section its kind names."""
    section = {q.id: kind_of(q.type).report_section for q in survey.questions}
    likert = [q for q in survey.questions if section[q.id] == "items"]
    items = tuple(
        LikertItemSpec(q.code, q.text, q.theme.code if q.theme else None, len(q.scale_points))
        for q in likert
    )
    themes = tuple(
        ThemeSpec(theme.code, theme.title, tuple(q.code for q in likert if q.theme_id == theme.id))
        for theme in survey.themes
        if any(q.theme_id == theme.id for q in likert)
    )
    texts = tuple(
        TextQuestionSpec(
            q.code,
            q.text,
            tuple(text_theme_spec(t) for t in q.text_themes),
        )
        for q in survey.questions
        if section[q.id] == "free_text"
    )
    return SurveySpec(survey.slug, survey.title, items, themes, texts)


def text_theme_spec(theme: TextTheme) -> TextThemeSpec:
    """A stored text theme as the engine codes it: by its codebook rules, or by the regular
    expressions of a definition stored before codebooks had rules."""
    rules = theme.rules
    if rules is None:
        return TextThemeSpec(theme.code, theme.label, tuple(theme.pattern_list))
    return TextThemeSpec(
        theme.code,
        theme.label,
        rules=ThemeRules(
            theme.code,
            theme.label,
            tuple(rules["phrases"]),
            tuple(rules.get("exclude", ())),
            bool(rules.get("negation", False)),
        ),
    )


@dataclass(frozen=True, slots=True)
class Grouping:
    """How responses are grouped: by their ancestor at a level, or by a choice answer."""

    by: str
    level: OrgLevel | None = None
    question: Question | None = None


def resolve_grouping(survey: Survey, by: str | None) -> Grouping | None:
    """The grouping `by` names: a level or a choice question's code; None for no grouping.

    Refuses (ServiceError) anything else, naming what `by` may be.
    """
    if by is None or by == "":
        return None
    if by in {level.value for level in OrgLevel}:
        return Grouping(by, level=OrgLevel(by))
    for question in survey.questions:
        if question.code == by and kind_of(question.type).groups_reports:
            return Grouping(by, question=question)
    choices = [q.code for q in survey.questions if kind_of(q.type).groups_reports]
    raise ServiceError(
        f"by: {by!r} is neither a level ({', '.join(level.value for level in OrgLevel)}) nor a "
        f"choice question of {survey.slug} ({', '.join(choices) or 'it has none'})"
    )


class UnknownWave(ServiceError):
    """A report was asked for a wave its survey does not have."""


def report_wave(session: Session, survey: Survey, number: int | None = None) -> Wave:
    """The wave of `survey` a report shows: the one numbered `number`, or by default the
    latest wave that has opened (it is not a draft now) or has responses, and wave 1 when no
    wave has either. A new wave waiting to open therefore leaves the reports on the one
    before. Refuses (UnknownWave, naming the waves there are) a number the survey lacks."""
    if number is not None:
        wave = survey.wave(number)
        if wave is None:
            raise UnknownWave(
                f"wave: {survey.slug} has no wave {number}; its waves are "
                + ", ".join(str(known.number) for known in survey.waves)
            )
        return wave
    now = response_service.utcnow()
    for wave in reversed(survey.waves):
        if wave.status_at(now) != SurveyStatus.DRAFT or _has_responses(session, wave):
            return wave
    return survey.waves[0]


def _has_responses(session: Session, wave: Wave) -> bool:
    # EXISTS on the (wave, organisation) index: a draft wave is checked without counting.
    query = sa.select(sa.exists().where(response_t.c.wave_id == wave.id))
    return bool(session.connection().execute(query).scalar())


def scoped(
    select: sa.Select,
    wave: Wave,
    scope: Organisation | None,
    group_question: Question | None = None,
    group_answer: sa.Table | None = None,
) -> sa.Select:
    """`select` (over the response table) restricted to the wave and scope, and outer-joined
    to `group_answer`, the answers to `group_question`, when grouping by a choice question.
    An open wave held to a daily snapshot keeps the responses sent before today only
    (`snapshot_cutoff`)."""
    select = select.where(response_t.c.wave_id == wave.id)
    cutoff = snapshot_cutoff(wave)
    if cutoff is not None:
        select = select.where(response_t.c.submitted_at < cutoff)
    if scope is not None:
        select = select.join(org_t, org_t.c.id == response_t.c.organisation_id).where(
            org_t.c[scope.level.path_column] == scope.id
        )
    if group_question is not None and group_answer is not None:
        select = select.outerjoin(
            group_answer,
            sa.and_(
                group_answer.c.response_id == response_t.c.id,
                group_answer.c.question_id == group_question.id,
            ),
        )
    return select


def response_ids_in_scope(wave: Wave, scope: Organisation | None) -> sa.Select:
    """A query of the ids of `wave`'s responses about `scope` or what lies under it (all of
    them when `scope` is None), for use as `IN (...)`."""
    return scoped(sa.select(response_t.c.id), wave, scope)


def snapshot_cutoff(wave: Wave, now: datetime | None = None) -> datetime | None:
    """The start of today (00:00 UTC) when reports of `wave` are held to a daily snapshot: the
    setting REPORT_SNAPSHOT is `daily` and the wave is open at `now` (default: the current
    time). A report then counts the responses sent before it, so its figures move once a day
    rather than with each answer; responses keep only their date (UTC) for an anonymous survey,
    so "before today" is exactly what can be told. None, counting every response, for a wave
    that is not open, under `live`, and outside an application (a script reading the
    database directly)."""
    if not has_app_context() or current_app.config.get("REPORT_SNAPSHOT") != "daily":
        return None
    now = now or response_service.utcnow()
    if not wave.is_accepting(now):
        return None
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def figures_as_of(wave: Wave) -> date | None:
    """The day a report of `wave` shows the figures of, at its start (`snapshot_cutoff`), for
    the "figures as of" a person reads; None when the report counts every response."""
    cutoff = snapshot_cutoff(wave)
    return cutoff.date() if cutoff is not None else None
