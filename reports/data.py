"""Loading a survey's data for the statistics: aggregates from the database, never one Python
object per answer.

Per summary it runs four queries: the responses in scope with their group, each response's
Likert answers packed into a few integers (one GROUP BY over the answers, fetched straight into
a numpy array), the groups' names, and the scope's free-text answers. Counting those answers into
integer tables per group (`_AnswerCounts`), and everything after, is arithmetic on arrays:
`reports.summary.build_summary_from_tables` takes it from there.
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
    CellTables,
    GroupTables,
    LikertItemSpec,
    SurveySpec,
    TextQuestionSpec,
    ThemeSpec,
    build_summary_from_tables,
)
from reports.themes import ThemeTable, minimum_answered
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


def response_ids_in_scope(survey: Survey, scope: Organisation | None) -> sa.Select:
    """A query of the ids of `survey`'s responses about `scope` or what lies under it (all of
    them when `scope` is None), for use as `IN (...)`."""
    return _scoped(sa.select(response_t.c.id), survey, scope, None, answer_t.alias("unused"))


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
    counts = _count_answers(spec, answers.values, group_of, len(keys))
    # The scope's counts are its cells' counts added up, exactly: integers all.
    total = _cell_tables(spec, counts.summed())
    groups = None
    if grouping is not None:
        grouped = np.flatnonzero(keys != NO_GROUP)
        codes, labels = _group_names(session, grouping, keys[grouped].tolist())
        groups = GroupTables(codes, labels, _cell_tables(spec, counts.select(grouped)))
    return build_summary_from_tables(
        spec,
        _scope_json(scope),
        total,
        _text_answers(connection, survey, spec, scope),
        grouping.by if grouping else None,
        groups,
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
    """Every response in scope with its group and its Likert answers, from two queries.

    One row per response rather than one per answer: a million answers fetched as Python
    tuples cost several times what the database spends reading them. The answers of a
    response are packed into a few 64-bit integers in SQL, each item's value in its own bit
    field (slot = question id - the first item's id), so a response is a handful of numbers
    and numpy unpacks them all at once. Every count, theme score and Cronbach sum is then
    arithmetic on the unpacked matrix, so the answers are read once for the whole summary.

    The packing groups the answer table alone by response, which the database can do in one
    pass over it (PostgreSQL hashes; SQLite walks the (response_id, question_id) index in
    order); the responses in scope and their groups come from a second, small query and
    are matched to their answers in numpy. Responses without any answer count as responses.
    """
    group_answer = answer_t.alias("group_answer")
    in_scope = _scoped(
        sa.select(
            response_t.c.id, sa.func.coalesce(_group_column(grouping, group_answer), NO_GROUP)
        ).select_from(response_t),
        survey,
        scope,
        grouping,
        group_answer,
    )
    responses = _int_rows(connection, in_scope, 2)
    response_ids, group_keys = responses[:, 0], responses[:, 1]
    ids = {q.code: q.id for q in survey.questions}
    item_ids = [ids[item.code] for item in spec.items]
    values = np.zeros((len(response_ids), len(item_ids)), dtype=np.int64)
    if not item_ids or not len(response_ids):
        return LikertAnswers(group_keys, values)
    # Values are 1..K (checked on the way in), so a slot needs the bits of the largest K.
    bits = max(item.points for item in spec.items).bit_length()
    per_column = 63 // bits
    first, last = min(item_ids), max(item_ids)
    columns = (last - first) // per_column + 1
    packed = _packed_answers(connection, first, last, bits, per_column, columns)
    if scope is not None:
        # Only the scope's answers are read, through the response index.
        packed = packed.where(answer_t.c.response_id.in_(response_ids_in_scope(survey, scope)))
    table = _int_rows(connection, packed, columns + 1)
    # Each packed row to its response's row. Answers in the id range to questions of other
    # surveys (their responses are not this survey's) match no response and are dropped.
    order = np.argsort(response_ids)
    sorted_ids = response_ids[order]
    position = np.minimum(np.searchsorted(sorted_ids, table[:, 0]), len(sorted_ids) - 1)
    found = sorted_ids[position] == table[:, 0]
    packed_values = np.zeros((len(response_ids), columns), dtype=np.int64)
    packed_values[order[position[found]]] = table[found, 1:]
    column, slot = np.divmod(np.array(item_ids) - first, per_column)
    values = (packed_values[:, column] >> (slot * bits)) & ((1 << bits) - 1)
    for item, highest in zip(spec.items, values.max(axis=0).tolist(), strict=True):
        if highest > item.points:
            raise ValueError(f"item {item.code!r} has a stored value above {item.points}")
    return LikertAnswers(group_keys, values)


def _packed_answers(
    connection: Connection, first: int, last: int, bits: int, per_column: int, columns: int
) -> sa.Select:
    """SELECT response_id and its answers to questions `first`..`last` packed into `columns`
    integers, `per_column` slots of `bits` bits each, one row per response that has any."""
    # The slots of one response never overlap, so their sum is their bitwise OR. PostgreSQL
    # has the OR as an aggregate; its sum of bigints would be numeric, Decimals on the way out.
    aggregate = sa.func.bit_or if connection.dialect.name == "postgresql" else sa.func.sum
    question = answer_t.c.question_id
    value = sa.cast(answer_t.c.value, sa.BigInteger)
    packed = []
    for column in range(columns):
        low = first + column * per_column
        high = low + per_column - 1
        packed_column = aggregate(value.op("<<")((question - low) * bits))
        # The WHERE below keeps first..last, so a column only needs the bounds inside it.
        # FILTER rather than CASE: both databases skip the other rows sooner.
        bounds = []
        if column > 0:
            bounds.append(question >= low)
        if column < columns - 1:
            bounds.append(question <= high)
        if bounds:
            packed_column = packed_column.filter(sa.and_(*bounds))
        packed.append(sa.func.coalesce(packed_column, 0))
    in_range = question
    if connection.dialect.name == "sqlite":
        # On a bare column SQLite would read this range through the (question_id, value)
        # index and then sort a million answers to group them; on an expression it walks
        # the (response_id, question_id) index instead, already in response order.
        in_range = question + 0
    # Choice and text answers in the range have no value and add nothing.
    return (
        sa.select(answer_t.c.response_id, *packed)
        .where(in_range.between(first, last))
        .group_by(answer_t.c.response_id)
    )


def _int_rows(connection: Connection, query: sa.Select, width: int) -> np.ndarray:
    """The rows of `query`, `width` integer columns each, as an int64 array.

    Read on the driver's own cursor, in the session's transaction: SQLAlchemy would make a
    Row object of each of 50,000 rows, a tenth of the time of a summary of England. The
    query's parameters are integers (ids, offsets), so they are rendered into its text.
    """
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    # Straight from the rows' values into one array: np.array of the rows would probe each
    # row for array protocols, several times slower than the query itself.
    values = itertools.chain.from_iterable(rows)
    return np.fromiter(values, dtype=np.int64, count=len(rows) * width).reshape(-1, width)


@dataclass(frozen=True, slots=True)
class _AnswerCounts:
    """Integer counts of the answers in each of several cells, from which every aggregate the
    statistics need follows exactly (value 0: unanswered; K: the survey's largest scale).

    ``responses``: responses per cell. ``items``: cells x items x (K + 1), answers by item and
    value. Per theme of m items, ``scores``: cells x (m + 1) x (m K + 1), the respondents with
    a theme score by how many of its items they answered and their total over those; and
    ``complete``: cells x m x (K + 1), the answers of respondents who answered all m, by item
    and value.
    """

    responses: np.ndarray
    items: np.ndarray
    scores: tuple[np.ndarray, ...]
    complete: tuple[np.ndarray, ...]

    def select(self, cells: np.ndarray) -> _AnswerCounts:
        """The counts of `cells` only (an index array), in that order."""
        return _AnswerCounts(
            responses=self.responses[cells],
            items=self.items[cells],
            scores=tuple(table[cells] for table in self.scores),
            complete=tuple(table[cells] for table in self.complete),
        )

    def summed(self) -> _AnswerCounts:
        """The counts of all the cells together, as one cell."""
        return _AnswerCounts(
            responses=self.responses.sum(keepdims=True),
            items=self.items.sum(axis=0, keepdims=True),
            scores=tuple(table.sum(axis=0, keepdims=True) for table in self.scores),
            complete=tuple(table.sum(axis=0, keepdims=True) for table in self.complete),
        )


def _count_answers(
    spec: SurveySpec, values: np.ndarray, group_of: np.ndarray, groups: int
) -> _AnswerCounts:
    """The `_AnswerCounts` of `groups` cells, response r being in cell `group_of[r]`.

    A few bincounts over the whole responses x items matrix, never a Python loop over
    responses or answers.
    """
    items = len(spec.items)
    width = max((item.points for item in spec.items), default=1) + 1
    item_table = np.bincount(
        ((group_of[:, None] * items + np.arange(items)) * width + values).ravel(),
        minlength=groups * items * width,
    ).reshape(groups, items, width)
    columns = {item.code: index for index, item in enumerate(spec.items)}
    scores = []
    complete = []
    for theme in spec.themes:
        m = len(theme.items)
        block = values[:, [columns[code] for code in theme.items]]
        answered = np.count_nonzero(block, axis=1)
        totals = block.sum(axis=1)
        total_width = m * (width - 1) + 1
        # Respondents left out (no score; not complete) are counted in an extra cell that is
        # dropped: cheaper than picking the others out of the matrix.
        scored_cell = np.where(answered >= minimum_answered(m), group_of, groups)
        scores.append(
            np.bincount(
                (scored_cell * (m + 1) + answered) * total_width + totals,
                minlength=(groups + 1) * (m + 1) * total_width,
            ).reshape(groups + 1, m + 1, total_width)[:groups]
        )
        complete_cell = np.where(answered == m, group_of, groups)
        complete.append(
            np.bincount(
                ((complete_cell[:, None] * m + np.arange(m)) * width + block).ravel(),
                minlength=(groups + 1) * m * width,
            ).reshape(groups + 1, m, width)[:groups]
        )
    return _AnswerCounts(
        responses=np.bincount(group_of, minlength=groups),
        items=item_table,
        scores=tuple(scores),
        complete=tuple(complete),
    )


def _cell_tables(spec: SurveySpec, counts: _AnswerCounts) -> CellTables:
    """The `CellTables` of the cells of `counts`."""
    return CellTables(
        responses=counts.responses,
        item_counts=tuple(
            counts.items[:, index, 1 : item.points + 1] for index, item in enumerate(spec.items)
        ),
        themes=tuple(
            _theme_table(scores, complete)
            for scores, complete in zip(counts.scores, counts.complete, strict=True)
        ),
    )


def _theme_table(scores: np.ndarray, complete: np.ndarray) -> ThemeTable:
    """The `ThemeTable` of one theme's `scores` and `complete` counts (see `_AnswerCounts`):
    each cell's sums equal to `ThemeAggregates.from_matrix` of its respondents' answers.

    Counts times values, in int64: exact. Score sums come from `_score_sums`.
    """
    cells, answered_bins, total_bins = scores.shape
    # Respondents who answered all m items are the complete ones; their totals lie here.
    complete_totals = scores[:, answered_bins - 1, :]
    totals = np.arange(total_bins)
    values = np.arange(complete.shape[2])
    score_sums, square_sums = _score_sums(
        scores.reshape(cells, answered_bins * total_bins), total_bins
    )
    return ThemeTable(
        scored=scores.sum(axis=(1, 2)),
        score_sum=score_sums,
        score_sum_squares=square_sums,
        complete=complete_totals.sum(axis=1),
        item_sums=complete @ values,
        item_sum_squares=complete @ (values * values),
        total_sum=complete_totals @ totals,
        total_sum_squares=complete_totals @ (totals * totals),
    )


#: Theme scores and their squares lie in [1, K**2]; there every float is a whole multiple of
#: 2**-52, so scaled by 2**52 they are exact integers.
_SCORE_SCALE = 52
_SPLIT = 26


def _score_sums(pairs: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cell, the sum of the theme scores and of their squares, each as `math.fsum` of the
    float scores would give it (the exact sum, rounded once).

    `pairs[cell, answered * width + total]` counts the cell's respondents with a score who
    answered `answered` items with this `total`; their score is total / answered. So a sum
    is counts times scores: the products are exact in int64 on the score scaled to an
    integer and split in two halves, and the halves are put together into floats rounded
    once. Summing the scores as floats would round at every step and depend on the order of
    the rows.
    """
    used = np.flatnonzero(pairs.any(axis=0))
    counts = pairs[:, used]
    pair_answered, pair_totals = np.divmod(used, width)
    scores = pair_totals / pair_answered
    results = []
    for addends in (scores, scores * scores):
        scaled = np.ldexp(addends, _SCORE_SCALE).astype(np.int64)
        high = counts @ (scaled >> _SPLIT)
        low = counts @ (scaled & ((1 << _SPLIT) - 1))
        if max(int(high.max(initial=0)), int(low.max(initial=0))) < 2**53:
            # Both halves convert to floats exactly, and one float addition rounds their
            # exact sum once: the correctly rounded (high * 2**26 + low) / 2**52.
            results.append(
                np.ldexp(high.astype(np.float64), _SPLIT - _SCORE_SCALE)
                + np.ldexp(low.astype(np.float64), -_SCORE_SCALE)
            )
        else:
            # Python's int / int rounds once at any size.
            results.append(
                np.array(
                    [
                        ((h << _SPLIT) + lo) / (1 << _SCORE_SCALE)
                        for h, lo in zip(high.tolist(), low.tolist(), strict=True)
                    ]
                )
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
        query = query.where(answer_t.c.response_id.in_(response_ids_in_scope(survey, scope)))
    answers: dict[str, list[str]] = {code: [] for code in ids.values()}
    for question_id, text in connection.execute(query):
        answers[ids[question_id]].append(text)
    return answers


def _group_names(
    session: Session, grouping: Grouping, ids: list[int]
) -> tuple[list[str], list[str]]:
    """The codes and names of the organisations (or the codes and labels of the options) with
    these ids, in the same order."""
    if grouping.level is not None:
        query = sa.select(org_t.c.id, org_t.c.code, org_t.c.name).where(org_t.c.id.in_(ids))
    else:
        option_t = ChoiceOption.__table__  # type: ignore[attr-defined]
        query = sa.select(option_t.c.id, option_t.c.code, option_t.c.label).where(
            option_t.c.id.in_(ids)
        )
    names = {key: (code, name) for key, code, name in session.connection().execute(query)}
    return [names[key][0] for key in ids], [names[key][1] for key in ids]


def _scope_json(scope: Organisation | None) -> dict[str, str] | None:
    if scope is None:
        return None
    return {"code": scope.code, "name": scope.name, "level": scope.level.value}
