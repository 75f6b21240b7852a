"""Loading a survey's data for the statistics: aggregates from the database, never one Python
object per answer.

The Likert statistics read one row per response, not one per answer: each response carries
its Likert answers as a short vector written with it at submission (`Response.likert_values`;
the Answer rows stay the record). Per summary, one query has the database join the scope's
vectors, and their group keys, into two strings that numpy cuts into a responses x items
matrix; a grouping by level looks the responses' organisations up in the organisation table;
then come the groups' names, the scope's free-text answers and, from wave 2 on, the previous
wave's vectors in scope for the comparison of waves. Counting the matrix into integer tables
per group (`_AnswerCounts`), and everything after, is arithmetic on arrays:
`reports.summary.build_summary_from_tables` (and `reports.waves.compare_waves`) take it from
there.
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
from reports.waves import compare_waves
from survey_app.models import (
    Answer,
    ChoiceOption,
    Organisation,
    OrgLevel,
    Question,
    QuestionType,
    Response,
    Survey,
    SurveyStatus,
    Wave,
)
from survey_app.models.responses import LIKERT_ZERO
from survey_app.services import ServiceError
from survey_app.services import responses as response_service

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


def _scoped(
    select: sa.Select,
    wave: Wave,
    scope: Organisation | None,
    group_question: Question | None = None,
    group_answer: sa.Table | None = None,
) -> sa.Select:
    """`select` (over `response_t`) restricted to the wave and scope, and outer-joined to
    `group_answer`, the answers to `group_question`, when grouping by a choice question."""
    select = select.where(response_t.c.wave_id == wave.id)
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
    return _scoped(sa.select(response_t.c.id), wave, scope)


def load_summary(
    session: Session,
    survey: Survey,
    scope: Organisation | None,
    by: str | None,
    min_n: int,
    wave: Wave | None = None,
) -> dict:
    """The summary JSON of `wave` of `survey` (default: `report_wave`'s choice) for `scope`
    (None: England), grouped `by` a level or a choice question code; it names the wave as
    ``"wave": {"number", "name"}`` and compares it with the wave before, over the whole scope
    whatever `by`, as ``"wave_comparison"`` (`_wave_comparison`; null for wave 1). Refuses
    (ServiceError) an unknown `by`, and (ValueError) a wave of another survey."""
    grouping = resolve_grouping(survey, by)
    if wave is None:
        wave = report_wave(session, survey)
    elif wave.survey_id != survey.id:
        raise ValueError(f"{wave.label} is not a wave of {survey.slug}")
    spec = survey_spec(survey)
    connection = session.connection()
    answers = _likert_answers(connection, survey, wave, spec, scope, grouping)
    # Group keys are database ids (the ancestors' organisations, or options); NO_GROUP is in
    # scope but in no group, as the NULL key of a GROUP BY would be.
    keys, group_of = np.unique(answers.group_keys, return_inverse=True)
    counts = _count_answers(spec, answers.values, group_of, len(keys))
    # The scope's counts are its cells' counts added up, exactly: integers all.
    total = _cell_tables(spec, counts.summed())
    groups = None
    if grouping is not None:
        grouped = np.flatnonzero(keys != NO_GROUP)
        codes, labels = _group_names(session, grouping, keys[grouped].tolist())
        groups = GroupTables(codes, labels, _cell_tables(spec, counts.select(grouped)))
    summary = build_summary_from_tables(
        spec,
        _scope_json(scope),
        total,
        _text_answers(connection, survey, wave, scope),
        grouping.by if grouping else None,
        groups,
        min_n,
    )
    # Right after the survey it belongs to; every other key as the engine made it.
    named = {"survey": summary.pop("survey"), "wave": {"number": wave.number, "name": wave.name}}
    comparison = _wave_comparison(connection, survey, wave, spec, scope, total, min_n)
    return named | summary | {"wave_comparison": comparison}


def _wave_comparison(
    connection: Connection,
    survey: Survey,
    wave: Wave,
    spec: SurveySpec,
    scope: Organisation | None,
    current: CellTables,
    min_n: int,
) -> dict | None:
    """The summary's ``"wave_comparison"``: None for a first wave, else ``{"previous_wave":
    {"number", "name"}, "items": compare_waves(...)}`` of `wave` against the wave before it,
    over the whole scope (`current`: the scope's tables of `wave`, one cell).

    The previous wave's answers are read as the current wave's are (`_likert_answers`: one
    row per response, no grouping) and counted per item with one bincount.
    """
    previous = survey.wave(wave.number - 1)
    if previous is None:
        return None
    answers = _likert_answers(connection, survey, previous, spec, scope, None)
    return {
        "previous_wave": {"number": previous.number, "name": previous.name},
        "items": compare_waves(
            spec.items,
            _item_count_tables(spec, answers.values),
            {
                item.code: table[0]
                for item, table in zip(spec.items, current.item_counts, strict=True)
            },
            min_n,
        ),
    }


def _item_count_tables(spec: SurveySpec, values: np.ndarray) -> dict[str, np.ndarray]:
    """Per item code, its count table (index i: answers of value i + 1) over the responses x
    items matrix `values` (0: unanswered)."""
    width = max((item.points for item in spec.items), default=1) + 1
    # Item i's answers of value v land in bin i * width + v: one bincount for every item.
    bins = values.astype(np.int64) + np.arange(len(spec.items), dtype=np.int64) * width
    table = np.bincount(bins.ravel(), minlength=len(spec.items) * width).reshape(-1, width)
    return {item.code: table[index, 1 : item.points + 1] for index, item in enumerate(spec.items)}


#: The group key of a response in scope that falls in no group (no ancestor at the level, or
#: the grouping question unanswered). Database ids are positive.
NO_GROUP = -1


@dataclass(frozen=True, slots=True)
class LikertAnswers:
    """The scope's responses, one row each: ``group_keys`` (a database id, or NO_GROUP) and
    ``values`` (uint8), responses x Likert items in the survey's item order, 0 where
    unanswered."""

    group_keys: np.ndarray
    values: np.ndarray


#: Between two responses' vectors in the concatenation; never a character of a vector.
_SEPARATOR = ord("|")


def _likert_answers(
    connection: Connection,
    survey: Survey,
    wave: Wave,
    spec: SurveySpec,
    scope: Organisation | None,
    grouping: Grouping | None,
) -> LikertAnswers:
    """Every response in scope with its group and its Likert answers.

    Each response carries its Likert answers as a short string written when it was stored
    (`Response.likert_values`: one character per question id from
    `Response.likert_first_question_id`), so the summary reads one row per response rather
    than one per answer. The database concatenates the scope's strings into one, with the
    responses' group keys into another in the same row order, so Python receives two strings
    rather than 50,000 rows, and numpy cuts the first into a responses x characters matrix.
    Grouping by a level reads each response's organisation and looks its ancestor up in
    numpy: cheaper than joining every response to its organisation.

    The strings are laid out alike unless the survey was reloaded with new questions; then a
    second query concatenates each layout on its own.

    Refuses (ValueError) a response stored without its vector, and a stored value that is
    not a point of its item's scale: a summary never reads a vector it cannot trust.
    """
    ids = {q.code: q.id for q in survey.questions}
    item_ids = np.array([ids[item.code] for item in spec.items], dtype=np.int64)
    group_answer = answer_t.alias("group_answer")
    first, vectors = response_t.c.likert_first_question_id, response_t.c.likert_values
    columns = [sa.func.count(), sa.func.count(vectors), sa.func.min(first), sa.func.max(first)]
    columns.append(_joined(connection, vectors, chr(_SEPARATOR)))
    if grouping is not None:
        # One pass over the rows feeds every aggregate of the query, so both strings list the
        # responses in the same order; `_vector_block` checks that neither left one out. 0
        # stands for no group (no option chosen): a NULL would be left out of the list.
        key = group_answer.c.option_id if grouping.question else response_t.c.organisation_id
        columns.append(_joined(connection, sa.cast(sa.func.coalesce(key, 0), sa.Text), ","))
    query = _scoped(
        sa.select(*columns).select_from(response_t),
        wave,
        scope,
        grouping.question if grouping is not None else None,
        group_answer,
    )
    blocks = [_vector_block(survey, row, item_ids) for row in connection.execute(query)]
    if None in blocks:
        # Vectors of more than one layout: concatenate each layout on its own.
        layouts = query.group_by(first, sa.func.length(vectors))
        blocks = [_vector_block(survey, row, item_ids) for row in connection.execute(layouts)]
        if None in blocks:
            raise ValueError(f"stored Likert vectors of {survey.slug} are not laid out alike")
    group_keys = np.concatenate([block[0] for block in blocks])  # type: ignore[index]
    values = np.concatenate([block[1] for block in blocks])  # type: ignore[index]
    if grouping is not None and grouping.level is not None:
        group_keys = _ancestors(connection, grouping.level, scope, group_keys)
    else:
        group_keys[group_keys == 0] = NO_GROUP
    for item, highest in zip(spec.items, values.max(axis=0, initial=0).tolist(), strict=True):
        if highest > item.points:
            raise ValueError(
                f"item {item.code!r} has a stored value that is not a point of its scale 1.."
                f"{item.points}"
            )
    return LikertAnswers(group_keys, values)


def _joined(connection: Connection, text: sa.ColumnElement, separator: str) -> sa.ColumnElement:
    """The aggregate joining `text` of every row with `separator` between (NULLs left out)."""
    if connection.dialect.name == "postgresql":
        return sa.func.string_agg(text, sa.literal_column(f"'{separator}'"))
    return sa.func.group_concat(text, sa.literal_column(f"'{separator}'"))


def _vector_block(
    survey: Survey, row: sa.Row, item_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The group keys (0: none; NO_GROUP without grouping) and responses x items values of one
    concatenation `row`: (responses, vectors stored, lowest and highest first question id,
    the joined vectors[, the joined keys]). None when its vectors are not all laid out alike.

    Refuses (ValueError) a response without its vector.
    """
    count, stored, first_low, first_high, vectors = row[:5]
    if stored != count:
        raise ValueError(
            f"{count - stored} response(s) to {survey.slug} were stored without their Likert "
            "vector (Response.likert_values)"
        )
    if not count:
        return np.zeros(0, np.int64), np.zeros((0, len(item_ids)), np.uint8)
    keys = np.full(count, NO_GROUP, dtype=np.int64)
    if len(row) > 5:
        keys = np.fromstring(row[5], dtype=np.int64, sep=",")
        if len(keys) != count:
            raise ValueError(f"{count} responses but {len(keys)} group keys")
    # With a separator after each, every vector of one length fills one row of a matrix; the
    # separators all in its last column (and nowhere else) prove they are all that long.
    buffer = np.frombuffer((vectors + chr(_SEPARATOR)).encode("ascii"), dtype=np.uint8)
    width, extra = divmod(len(buffer), count)
    if first_low != first_high or extra:
        return None
    matrix = buffer.reshape(count, width)
    if not (matrix[:, -1] == _SEPARATOR).all() or np.count_nonzero(matrix == _SEPARATOR) != count:
        return None
    if first_low is None and width > 1:
        raise ValueError(f"a stored Likert vector of {survey.slug} has no first question id")
    slots = item_ids - (first_low or 0)
    # A question beyond a vector's end was added to the survey after the response was stored:
    # it reads the separator's column, which becomes 0 below like an unanswered slot.
    slots[(slots < 0) | (slots >= width - 1)] = width - 1
    values = matrix[:, slots]
    values[values == _SEPARATOR] = LIKERT_ZERO
    # Characters below "0" wrap round to large values, which the scale check then refuses.
    values -= LIKERT_ZERO
    return keys, values


def _ancestors(
    connection: Connection,
    level: OrgLevel,
    scope: Organisation | None,
    organisation_ids: np.ndarray,
) -> np.ndarray:
    """Each organisation's ancestor at `level` (NO_GROUP where it has none), for the ids of
    organisations in `scope` (or anywhere)."""
    query = sa.select(org_t.c.id, sa.func.coalesce(org_t.c[level.path_column], NO_GROUP))
    if scope is not None:
        query = query.where(org_t.c[scope.level.path_column] == scope.id)
    rows = connection.execute(query.order_by(org_t.c.id)).all()
    known = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=2 * len(rows))
    known = known.reshape(-1, 2)
    if not len(organisation_ids):
        return organisation_ids
    position = np.minimum(np.searchsorted(known[:, 0], organisation_ids), max(len(known) - 1, 0))
    if not len(known) or not (known[position, 0] == organisation_ids).all():
        raise ValueError("a response's organisation is not in the scope of its summary")
    return known[position, 1]


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

    A bincount per item and two per theme, each over all responses at once; never a Python
    loop over responses or answers.
    """
    items = len(spec.items)
    width = max((item.points for item in spec.items), default=1) + 1
    # One contiguous row per item: the bincounts and each theme's sums read whole rows.
    by_item_row = np.ascontiguousarray(values.T)

    def by_item(cell_of: np.ndarray, rows: list[int], cells: int) -> np.ndarray:
        """cells x len(rows) x width: the answers to each item of `rows` by cell and value."""
        bins = cell_of * width
        table = np.empty((len(rows), cells * width), dtype=np.int64)
        for position, row in enumerate(rows):
            table[position] = np.bincount(bins + by_item_row[row], minlength=cells * width)
        return table.reshape(len(rows), cells, width).transpose(1, 0, 2)

    item_table = by_item(group_of, list(range(items)), groups)
    columns = {item.code: index for index, item in enumerate(spec.items)}
    scores = []
    complete = []
    for theme in spec.themes:
        m = len(theme.items)
        rows = [columns[code] for code in theme.items]
        block = by_item_row[rows]
        answered = np.count_nonzero(block, axis=0)
        totals = block.sum(axis=0, dtype=np.int64)
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
        complete.append(by_item(complete_cell, rows, groups + 1)[:groups])
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
    wave: Wave,
    scope: Organisation | None,
) -> dict[str, list[str]]:
    """The free-text answers of `wave` in scope by question code (every text question,
    maybe [])."""
    ids = {q.id: q.code for q in survey.questions if q.type == QuestionType.TEXT}
    if not ids:
        return {}
    # The questions are this survey's, so their answers are its responses' answers: reading
    # them through the question index, rather than looking each response up for them, costs
    # the text answers only. A scope, or a survey run in several waves, keeps those of the
    # wave's responses in scope.
    query = sa.select(answer_t.c.question_id, answer_t.c.text).where(
        answer_t.c.question_id.in_(list(ids)), answer_t.c.text.is_not(None)
    )
    if scope is not None or len(survey.waves) > 1:
        query = query.where(answer_t.c.response_id.in_(response_ids_in_scope(wave, scope)))
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
