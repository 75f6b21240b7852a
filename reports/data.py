"""Loading a survey's data for the statistics: aggregates from the database, never one Python
object per answer.

Per summary it runs four queries: responses per group, the item x group x value count table (one
GROUP BY), the respondent x item matrix of the themed Likert items (one pivoting GROUP BY,
fetched straight into a numpy array, which is all a theme's score and alpha need), and the
scope's free-text answers. Everything else is arithmetic on those.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from reports.free_text import TextTheme as TextThemeSpec
from reports.summary import (
    CellAggregates,
    GroupAggregates,
    LikertItemSpec,
    SurveySpec,
    TextQuestionSpec,
    ThemeSpec,
    build_summary,
)
from reports.themes import ThemeAggregates
from survey_app.models import (
    Answer,
    ChoiceOption,
    Organisation,
    OrgLevel,
    Question,
    QuestionType,
    Response,
    Survey,
)
from survey_app.services import ServiceError

answer_t = Answer.__table__  # type: ignore[attr-defined]
response_t = Response.__table__  # type: ignore[attr-defined]
org_t = Organisation.__table__  # type: ignore[attr-defined]


def survey_spec(survey: Survey) -> SurveySpec:
    """What the statistics need of a loaded survey: Likert items, themes and codebooks."""
    likert = [q for q in survey.questions if q.type == QuestionType.LIKERT]
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
            tuple(TextThemeSpec(t.code, t.label, tuple(t.pattern_list)) for t in q.text_themes),
        )
        for q in survey.questions
        if q.type == QuestionType.TEXT
    )
    return SurveySpec(survey.slug, survey.title, items, themes, texts)


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
        if question.code == by and question.type == QuestionType.CHOICE:
            return Grouping(by, question=question)
    choices = [q.code for q in survey.questions if q.type == QuestionType.CHOICE]
    raise ServiceError(
        f"by: {by!r} is neither a level ({', '.join(level.value for level in OrgLevel)}) nor a "
        f"choice question of {survey.slug} ({', '.join(choices) or 'it has none'})"
    )


def _group_column(grouping: Grouping | None, group_answer: sa.Table) -> sa.ColumnElement:
    if grouping is None:
        return sa.literal(None).label("grp")
    if grouping.level is not None:
        return org_t.c[grouping.level.path_column].label("grp")
    return group_answer.c.option_id.label("grp")


def _scoped(
    select: sa.Select,
    survey: Survey,
    scope: Organisation | None,
    grouping: Grouping | None,
    group_answer: sa.Table,
) -> sa.Select:
    """`select` (over `response_t`) restricted to the survey and scope, joined for grouping."""
    select = select.where(response_t.c.survey_id == survey.id)
    if scope is not None or (grouping is not None and grouping.level is not None):
        select = select.join(org_t, org_t.c.id == response_t.c.organisation_id)
    if scope is not None:
        select = select.where(org_t.c[scope.level.path_column] == scope.id)
    if grouping is not None and grouping.question is not None:
        select = select.outerjoin(
            group_answer,
            sa.and_(
                group_answer.c.response_id == response_t.c.id,
                group_answer.c.question_id == grouping.question.id,
            ),
        )
    return select


def load_summary(
    session: Session,
    survey: Survey,
    scope: Organisation | None,
    by: str | None,
    min_n: int,
) -> dict:
    """The summary JSON of `survey` for `scope` (None: England), grouped `by` a level or a
    choice question code. Refuses (ServiceError) an unknown `by`."""
    grouping = resolve_grouping(survey, by)
    spec = survey_spec(survey)
    connection = session.connection()
    group_answer = answer_t.alias("group_answer")
    grp = _group_column(grouping, group_answer)
    questions = {q.id: q for q in survey.questions}

    # 1. Responses per group (NULL: in scope, but in no group).
    rows = connection.execute(
        _scoped(
            sa.select(grp, sa.func.count()).select_from(response_t),
            survey,
            scope,
            grouping,
            group_answer,
        ).group_by(grp)
    ).all()
    responses = {key: count for key, count in rows}

    # 2. The item x group x value count table.
    answer_value = answer_t.c.value
    counts_query = (
        _scoped(
            sa.select(grp, answer_t.c.question_id, answer_value, sa.func.count())
            .select_from(response_t)
            .join(answer_t, answer_t.c.response_id == response_t.c.id),
            survey,
            scope,
            grouping,
            group_answer,
        )
        .where(answer_value.is_not(None))
        .group_by(grp, answer_t.c.question_id, answer_value)
    )
    item_counts: dict[object, dict[str, np.ndarray]] = defaultdict(dict)
    points = {item.code: item.points for item in spec.items}
    for key, question_id, value, count in connection.execute(counts_query):
        code = questions[question_id].code
        table = item_counts[key].setdefault(code, np.zeros(points[code], dtype=np.int64))
        table[value - 1] += count

    # 3. Theme aggregates from the respondent x item matrix.
    theme_aggregates = _theme_aggregates(connection, survey, spec, scope, grouping, group_answer)

    # 4. The scope's free-text answers.
    text_answers = _text_answers(connection, survey, spec, scope, grouping, group_answer)

    total = CellAggregates(
        responses=sum(responses.values()),
        item_counts=_sum_tables(item_counts.values()),
        themes=_sum_themes(theme_aggregates.values()),
    )
    groups = _groups(session, grouping, responses, item_counts, theme_aggregates)
    return build_summary(
        spec,
        _scope_json(scope),
        total,
        text_answers,
        grouping.by if grouping else None,
        groups,
        min_n,
    )


def _theme_aggregates(
    connection: Connection,
    survey: Survey,
    spec: SurveySpec,
    scope: Organisation | None,
    grouping: Grouping | None,
    group_answer: sa.Table,
) -> dict[object, dict[str, ThemeAggregates]]:
    if not spec.themes:
        return {}
    ids = {q.code: q.id for q in survey.questions}
    columns = [code for theme in spec.themes for code in theme.items]
    grp = _group_column(grouping, group_answer)
    pivot = [
        sa.func.max(sa.case((answer_t.c.question_id == ids[code], answer_t.c.value)))
        for code in columns
    ]
    query = _scoped(
        sa.select(grp, *pivot)
        .select_from(response_t)
        .join(answer_t, answer_t.c.response_id == response_t.c.id),
        survey,
        scope,
        grouping,
        group_answer,
    ).where(answer_t.c.question_id.in_([ids[code] for code in columns]))
    query = query.group_by(response_t.c.id, grp)
    rows = connection.execute(query).all()
    if not rows:
        return {}
    keys = [row[0] for row in rows]
    # None becomes nan in a float array: an unanswered item.
    matrix = np.array([row[1:] for row in rows], dtype=float)
    by_key: dict[object, list[int]] = defaultdict(list)
    for index, key in enumerate(keys):
        by_key[key].append(index)
    result: dict[object, dict[str, ThemeAggregates]] = {}
    offsets = {}
    start = 0
    for theme in spec.themes:
        offsets[theme.code] = (start, start + len(theme.items))
        start += len(theme.items)
    for key, indexes in by_key.items():
        block = matrix[indexes]
        result[key] = {
            code: ThemeAggregates.from_matrix(block[:, lo:hi]) for code, (lo, hi) in offsets.items()
        }
    return result


def _text_answers(
    connection: Connection,
    survey: Survey,
    spec: SurveySpec,
    scope: Organisation | None,
    grouping: Grouping | None,
    group_answer: sa.Table,
) -> dict[str, list[str]]:
    ids = {q.id: q.code for q in survey.questions if q.type == QuestionType.TEXT}
    if not ids:
        return {}
    query = _scoped(
        sa.select(answer_t.c.question_id, answer_t.c.text)
        .select_from(response_t)
        .join(answer_t, answer_t.c.response_id == response_t.c.id),
        survey,
        scope,
        None,
        group_answer,
    ).where(answer_t.c.question_id.in_(list(ids)), answer_t.c.text.is_not(None))
    answers: dict[str, list[str]] = {code: [] for code in ids.values()}
    for question_id, text in connection.execute(query):
        answers[ids[question_id]].append(text)
    return answers


def _sum_tables(tables: Sequence[dict[str, np.ndarray]] | object) -> dict[str, np.ndarray]:
    total: dict[str, np.ndarray] = {}
    for table in tables:  # type: ignore[union-attr]
        for code, counts in table.items():
            total[code] = total[code] + counts if code in total else counts.copy()
    return total


def _sum_themes(cells: object) -> dict[str, ThemeAggregates]:
    total: dict[str, ThemeAggregates] = {}
    for cell in cells:  # type: ignore[union-attr]
        for code, aggregates in cell.items():
            total[code] = _add_themes(total[code], aggregates) if code in total else aggregates
    return total


def _add_themes(a: ThemeAggregates, b: ThemeAggregates) -> ThemeAggregates:
    """The aggregates of two disjoint sets of respondents together."""
    return ThemeAggregates(
        scored=a.scored + b.scored,
        score_sum=a.score_sum + b.score_sum,
        score_sum_squares=a.score_sum_squares + b.score_sum_squares,
        complete=a.complete + b.complete,
        item_sums=tuple(x + y for x, y in zip(a.item_sums, b.item_sums, strict=True)),
        item_sum_squares=tuple(
            x + y for x, y in zip(a.item_sum_squares, b.item_sum_squares, strict=True)
        ),
        total_sum=a.total_sum + b.total_sum,
        total_sum_squares=a.total_sum_squares + b.total_sum_squares,
    )


def _groups(
    session: Session,
    grouping: Grouping | None,
    responses: dict[object, int],
    item_counts: dict[object, dict[str, np.ndarray]],
    themes: dict[object, dict[str, ThemeAggregates]],
) -> list[GroupAggregates]:
    if grouping is None:
        return []
    keys = [key for key in responses if key is not None]
    if grouping.level is not None:
        organisations = (
            session.connection()
            .execute(sa.select(org_t.c.id, org_t.c.code, org_t.c.name).where(org_t.c.id.in_(keys)))
            .all()
        )
        names = {org_id: (code, name) for org_id, code, name in organisations}
    else:
        options = (
            session.connection()
            .execute(
                sa.select(
                    ChoiceOption.__table__.c.id,
                    ChoiceOption.__table__.c.code,  # type: ignore[attr-defined]
                    ChoiceOption.__table__.c.label,
                ).where(  # type: ignore[attr-defined]
                    ChoiceOption.__table__.c.id.in_(keys)
                )  # type: ignore[attr-defined]
            )
            .all()
        )
        names = {option_id: (code, label) for option_id, code, label in options}
    groups = [
        GroupAggregates(
            key=names[key][0],
            label=names[key][1],
            responses=responses[key],
            item_counts=item_counts.get(key, {}),
            themes=themes.get(key, {}),
        )
        for key in keys
    ]
    return sorted(groups, key=lambda group: group.key)


def _scope_json(scope: Organisation | None) -> dict[str, str] | None:
    if scope is None:
        return None
    return {"code": scope.code, "name": scope.name, "level": scope.level.value}
