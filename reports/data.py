"""Loading a survey's data for the statistics: aggregates from the database, never one Python
object per answer.

Per summary it runs four queries: responses per group, the item x group x value count table (one
GROUP BY), the respondent x item matrix of the themed Likert items (one pivoting GROUP BY,
fetched straight into a numpy array, which is all a theme's score and alpha need), and the
scope's free-text answers. Everything else is arithmetic on those.
"""

from __future__ import annotations

import itertools
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
from reports.themes import ThemeAggregates, minimum_answered
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
    answers = _likert_answers(connection, survey, spec, scope, grouping)
    # Group keys as they come from the database (organisation or option ids); -1 is in scope
    # but in no group, as the NULL key of a GROUP BY would be.
    keys, group_of = np.unique(answers.group_keys, return_inverse=True)
    total = _cell_aggregates(spec, answers.values, np.zeros(len(group_of), dtype=np.intp), 1)[0]
    cells: dict[int, CellAggregates] = {}
    if grouping is not None:
        by_group = _cell_aggregates(spec, answers.values, group_of, len(keys))
        cells = {
            key: cell for key, cell in zip(keys.tolist(), by_group, strict=True) if key != NO_GROUP
        }
    return build_summary(
        spec,
        _scope_json(scope),
        total,
        _text_answers(connection, survey, spec, scope),
        grouping.by if grouping else None,
        _groups(session, grouping, cells),
        min_n,
    )


#: The group key of a response in scope that falls in no group (no ancestor at the level, or
#: the grouping question unanswered). Database ids are positive.
NO_GROUP = -1


@dataclass(frozen=True, slots=True)
class LikertAnswers:
    """The scope's responses, one row each: ``group_keys`` (a database id, or NO_GROUP) and
    ``values``, responses x Likert items in the survey's item order, 0 where unanswered."""

    group_keys: np.ndarray
    values: np.ndarray


def _likert_answers(
    connection: Connection,
    survey: Survey,
    spec: SurveySpec,
    scope: Organisation | None,
    grouping: Grouping | None,
) -> LikertAnswers:
    """Every response in scope with its group and its Likert answers, from one query.

    One row per response rather than one per answer: a million answers fetched as Python
    tuples cost several times what the database spends reading them. The answers of a
    response are packed into a few 64-bit integers in SQL, each item's value in its own bit
    field (slot = question id - the first item's id), so a response is a handful of numbers
    and numpy unpacks them all at once. Every count, theme score and Cronbach sum is then
    arithmetic on the unpacked matrix, so the answers are read once for the whole summary.
    Responses without any answer are kept (LEFT JOIN): they count as responses.
    """
    group_answer = answer_t.alias("group_answer")
    grp = sa.func.coalesce(_group_column(grouping, group_answer), NO_GROUP)
    ids = {q.code: q.id for q in survey.questions}
    item_ids = [ids[item.code] for item in spec.items]
    # Values are 1..K (checked on the way in), so a slot needs the bits of the largest K.
    bits = max((item.points for item in spec.items), default=1).bit_length()
    per_column = 63 // bits
    first = min(item_ids, default=0)
    columns = (max(item_ids) - first) // per_column + 1 if item_ids else 0
    # The slots of one response never overlap, so their sum is their bitwise OR. PostgreSQL
    # has the OR as an aggregate; its sum of bigints would be numeric, Decimals on the way out.
    aggregate = sa.func.bit_or if connection.dialect.name == "postgresql" else sa.func.sum
    value = sa.cast(answer_t.c.value, sa.BigInteger)
    packed = []
    for column in range(columns):
        low = first + column * per_column
        slot = answer_t.c.question_id - low
        packed.append(
            sa.func.coalesce(
                aggregate(
                    sa.case(
                        (
                            answer_t.c.question_id.between(low, low + per_column - 1),
                            value.op("<<")(slot * bits),
                        )
                    )
                ),
                0,
            )
        )
    # Answers are packed per response first, and only the 50,000-odd packed rows are joined
    # to their group: joining a million answers to organisations costs more than the packing.
    per_response = _scoped(
        sa.select(response_t.c.id, response_t.c.organisation_id, *packed).select_from(response_t),
        survey,
        scope,
        None,
        group_answer,
    )
    if columns:
        # Only this survey's responses are joined, so answers in the id range to questions of
        # other surveys cannot occur; choice and text answers have no value and add nothing.
        per_response = per_response.outerjoin(
            answer_t,
            sa.and_(
                answer_t.c.response_id == response_t.c.id,
                answer_t.c.question_id.between(first, max(item_ids)),
            ),
        )
    # organisation_id depends on the grouped primary key, which PostgreSQL accepts.
    inner = per_response.group_by(response_t.c.id).subquery()
    query = sa.select(grp, *list(inner.c)[2:]).select_from(inner)
    if grouping is not None and grouping.level is not None:
        query = query.join(org_t, org_t.c.id == inner.c.organisation_id)
    elif grouping is not None:
        query = query.outerjoin(
            group_answer,
            sa.and_(
                group_answer.c.response_id == inner.c.id,
                group_answer.c.question_id == grouping.question.id,  # type: ignore[union-attr]
            ),
        )
    result = connection.execute(query)
    # Straight from the rows' values into one array: np.array of Row objects would probe each
    # row for array protocols, several times slower than the query itself.
    table = np.fromiter(itertools.chain.from_iterable(result), dtype=np.int64).reshape(
        -1, columns + 1
    )
    values = np.zeros((len(table), len(item_ids)), dtype=np.int64)
    for index, (item, question_id) in enumerate(zip(spec.items, item_ids, strict=True)):
        column, slot = divmod(question_id - first, per_column)
        values[:, index] = (table[:, 1 + column] >> (slot * bits)) & ((1 << bits) - 1)
        if values[:, index].max(initial=0) > item.points:
            raise ValueError(f"item {item.code!r} has a stored value above {item.points}")
    return LikertAnswers(table[:, 0], values)


def _cell_aggregates(
    spec: SurveySpec, values: np.ndarray, group_of: np.ndarray, groups: int
) -> list[CellAggregates]:
    """The aggregates of each of `groups` cells, response r being in cell `group_of[r]`.

    Count tables and theme sums come from a few bincounts over the whole matrix, never a
    Python loop over responses or answers. Every sum is exact (see `_theme_sums`).
    """
    responses = np.bincount(group_of, minlength=groups).tolist()
    items = len(spec.items)
    width = max((item.points for item in spec.items), default=1) + 1
    # One bincount for every cell x item x value (value 0: unanswered, dropped below).
    table = np.bincount(
        ((group_of[:, None] * items + np.arange(items)) * width + values).ravel(),
        minlength=groups * items * width,
    ).reshape(groups, items, width)
    answered = table[:, :, 1:].any(axis=2).tolist()
    rows = table.tolist()
    # As from a GROUP BY: an item with no answers in a cell is absent from its mapping.
    item_counts = [
        {
            item.code: tuple(cell_rows[index][1 : item.points + 1])
            for index, item in enumerate(spec.items)
            if cell_answered[index]
        }
        for cell_rows, cell_answered in zip(rows, answered, strict=True)
    ]
    columns = {item.code: index for index, item in enumerate(spec.items)}
    themes: list[dict[str, ThemeAggregates]] = [{} for _ in range(groups)]
    for theme in spec.themes:
        block = values[:, [columns[code] for code in theme.items]]
        for cell, aggregates in zip(themes, _theme_sums(block, group_of, groups), strict=True):
            cell[theme.code] = aggregates
    return [
        CellAggregates(responses=count, item_counts=counts, themes=cell_themes)
        for count, counts, cell_themes in zip(responses, item_counts, themes, strict=True)
    ]


def _theme_sums(block: np.ndarray, group_of: np.ndarray, groups: int) -> list[ThemeAggregates]:
    """`ThemeAggregates` per cell of a responses x theme-items block (0 = unanswered), equal
    to `ThemeAggregates.from_matrix` of each cell's rows.

    Item and total sums are int64 bincounts (exact); score sums come from `_score_sums`.
    """
    m = block.shape[1]
    answered = np.count_nonzero(block, axis=1)
    totals = block.sum(axis=1)
    scored = answered >= minimum_answered(m)
    score_sums, square_sums = _score_sums(
        answered[scored], totals[scored], group_of[scored], groups, m * int(block.max(initial=1))
    )
    complete = answered == m
    in_cell = group_of[complete]
    rows = block[complete]
    cell_item = (in_cell[:, None] * m + np.arange(m)).ravel()

    def summed(index: np.ndarray, weights: np.ndarray, shape: tuple[int, ...]) -> list:
        # bincount sums in float64, exact here: these sums stay far below 2**53.
        size = int(np.prod(shape))
        sums = np.bincount(index, weights=weights.ravel(), minlength=size)
        return sums.astype(np.int64).reshape(shape).tolist()

    item_sums = summed(cell_item, rows, (groups, m))
    item_squares = summed(cell_item, rows * rows, (groups, m))
    complete_totals = totals[complete]
    total_sums = summed(in_cell, complete_totals, (groups,))
    total_squares = summed(in_cell, complete_totals * complete_totals, (groups,))
    scored_counts = np.bincount(group_of[scored], minlength=groups).tolist()
    complete_counts = np.bincount(in_cell, minlength=groups).tolist()
    return [
        ThemeAggregates(
            scored=scored_counts[g],
            score_sum=score_sums[g],
            score_sum_squares=square_sums[g],
            complete=complete_counts[g],
            item_sums=tuple(item_sums[g]),
            item_sum_squares=tuple(item_squares[g]),
            total_sum=total_sums[g],
            total_sum_squares=total_squares[g],
        )
        for g in range(groups)
    ]


#: Theme scores and their squares lie in [1, K**2]; there every float is a whole multiple of
#: 2**-52, so scaled by 2**52 they are exact integers.
_SCORE_SCALE = 52
_SPLIT = 26


def _score_sums(
    answered: np.ndarray, totals: np.ndarray, group_of: np.ndarray, groups: int, top: int
) -> tuple[list[float], list[float]]:
    """Per cell, the sum of the scores total/answered and of their squares, each as
    `math.fsum` of the float scores would give it (the exact sum, rounded once).

    A score takes few values (answered x total pairs), so the sums are a count of each pair
    per cell times the pair's score: the counts come from one bincount, the products are
    exact in int64 on the score scaled to an integer and split in two halves, and the final
    Python ints divide (correctly rounded) back to floats. Summing the scores as floats
    would round at every step and depend on the order of the rows.
    """
    width = top + 1
    pairs = np.bincount(
        group_of * (answered.max(initial=0) + 1) * width + answered * width + totals,
        minlength=groups * (answered.max(initial=0) + 1) * width,
    ).reshape(groups, -1)
    used = np.flatnonzero(pairs.any(axis=0))
    counts = pairs[:, used]
    pair_answered, pair_totals = np.divmod(used, width)
    scores = pair_totals / pair_answered
    results = []
    for addends in (scores, scores * scores):
        scaled = np.ldexp(addends, _SCORE_SCALE).astype(np.int64)
        high = counts @ (scaled >> _SPLIT)
        low = counts @ (scaled & ((1 << _SPLIT) - 1))
        results.append(
            [
                ((h << _SPLIT) + lo) / (1 << _SCORE_SCALE)
                for h, lo in zip(high.tolist(), low.tolist(), strict=True)
            ]
        )
    return results[0], results[1]


def _text_answers(
    connection: Connection,
    survey: Survey,
    spec: SurveySpec,
    scope: Organisation | None,
) -> dict[str, list[str]]:
    """The scope's free-text answers by question code (every text question, maybe [])."""
    ids = {q.id: q.code for q in survey.questions if q.type == QuestionType.TEXT}
    if not ids:
        return {}
    # The questions are this survey's, so their answers are its responses' answers: reading
    # them through the question index, rather than looking each response up for them, costs
    # the text answers only. A scope keeps those of the responses in scope.
    query = sa.select(answer_t.c.question_id, answer_t.c.text).where(
        answer_t.c.question_id.in_(list(ids)), answer_t.c.text.is_not(None)
    )
    if scope is not None:
        in_scope = _scoped(
            sa.select(response_t.c.id), survey, scope, None, answer_t.alias("group_answer")
        )
        query = query.where(answer_t.c.response_id.in_(in_scope))
    answers: dict[str, list[str]] = {code: [] for code in ids.values()}
    for question_id, text in connection.execute(query):
        answers[ids[question_id]].append(text)
    return answers


def _groups(
    session: Session, grouping: Grouping | None, cells: dict[int, CellAggregates]
) -> list[GroupAggregates]:
    """Each group's aggregates under its organisation code and name (or option code and
    label), ordered by code; [] without a grouping."""
    if grouping is None:
        return []
    keys = list(cells)
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
            responses=cell.responses,
            item_counts=cell.item_counts,
            themes=cell.themes,
        )
        for key, cell in cells.items()
    ]
    return sorted(groups, key=lambda group: group.key)


def _scope_json(scope: Organisation | None) -> dict[str, str] | None:
    if scope is None:
        return None
    return {"code": scope.code, "name": scope.name, "level": scope.level.value}
