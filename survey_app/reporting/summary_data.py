"""The summary of one wave of a survey: aggregates read from the database, never one Python
object per answer.

The Likert statistics read one row per response, not one per answer: each response carries
its Likert answers as a short vector written with it at submission (`Response.likert_values`;
the Answer rows stay the record). Per summary, one query has the database join the scope's
vectors, and their group keys, into two strings that numpy cuts into a responses x items
matrix; a grouping by level looks the responses' organisations up in the organisation table;
then come the groups' names, the scope's free-text answers and, from wave 2 on, the previous
wave's vectors in scope for the comparison of waves. Counting the matrix into integer tables
per group (`reports.answer_counts`), and everything after, is arithmetic on arrays:
`reports.summary.build_summary_from_tables` (and `reports.waves.compare_waves`) take it from
there.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from reports.answer_counts import cell_tables, count_answers, item_count_tables
from reports.summary import CellTables, GroupTables, SurveySpec, build_summary_from_tables
from reports.summary_types import Summary, WaveComparison
from reports.waves import compare_waves
from survey_app.models import (
    Answer,
    ChoiceOption,
    Organisation,
    OrgLevel,
    QuestionType,
    Response,
    Survey,
    Wave,
)
from survey_app.models.responses import LIKERT_ZERO
from survey_app.reporting.disclosure import wave_disclosure
from survey_app.reporting.scope import (
    Grouping,
    report_wave,
    resolve_grouping,
    response_ids_in_scope,
    scoped,
    snapshot_cutoff,
    survey_spec,
)

answer_t = Answer.__table__  # type: ignore[attr-defined]
response_t = Response.__table__  # type: ignore[attr-defined]
org_t = Organisation.__table__  # type: ignore[attr-defined]


def load_summary(
    session: Session,
    survey: Survey,
    scope: Organisation | None,
    by: str | None,
    min_n: int,
    wave: Wave | None = None,
) -> Summary:
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
    counts = count_answers(spec, answers.values, group_of, len(keys))
    # The scope's counts are its cells' counts added up, exactly: integers all.
    total = cell_tables(spec, counts.summed())
    groups = None
    disclosure = wave_disclosure(connection, survey, wave, min_n)
    states = disclosure.states(scope.id if scope is not None else None)
    if grouping is not None:
        grouped = np.flatnonzero(keys != NO_GROUP)
        codes, labels = _group_names(session, grouping, keys[grouped].tolist())
        groups = GroupTables(codes, labels, cell_tables(spec, counts.select(grouped)))
        states = disclosure.states(
            scope.id if scope is not None else None,
            keys[grouped].tolist(),
            grouping.question.id if grouping.question is not None else None,
        )
    texts, respondents = _text_answers(connection, survey, wave, scope)
    summary = build_summary_from_tables(
        spec,
        _scope_json(scope),
        total,
        texts,
        grouping.by if grouping else None,
        groups,
        min_n,
        states,
        text_respondents=respondents,
    )
    # The wave right after the survey it belongs to, the comparison last; every other key as
    # the engine made it, in its order.
    return {
        "survey": summary["survey"],
        "wave": {"number": wave.number, "name": wave.name},
        "scope": summary["scope"],
        "suppression_min_n": summary["suppression_min_n"],
        "responses": summary["responses"],
        "secondary_suppressed": summary["secondary_suppressed"],
        "items": summary["items"],
        "themes": summary["themes"],
        "free_text": summary["free_text"],
        "text_themes": summary["text_themes"],
        "by": summary["by"],
        "groups": summary["groups"],
        "comparisons": summary["comparisons"],
        "wave_comparison": _wave_comparison(
            connection, survey, wave, spec, scope, total, min_n, states.items[0]
        ),
    }


def _wave_comparison(
    connection: Connection,
    survey: Survey,
    wave: Wave,
    spec: SurveySpec,
    scope: Organisation | None,
    current: CellTables,
    min_n: int,
    current_withheld: np.ndarray,
) -> WaveComparison | None:
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
    # Each wave's scope cells are withheld as that wave's own decision says.
    before = wave_disclosure(connection, survey, previous, min_n).states(
        scope.id if scope is not None else None
    )
    withheld = (current_withheld | before.items[0]).tolist()
    return {
        "previous_wave": {"number": previous.number, "name": previous.name},
        "items": compare_waves(
            spec.items,
            item_count_tables(spec, answers.values),
            {
                item.code: table[0]
                for item, table in zip(spec.items, current.item_counts, strict=True)
            },
            min_n,
            withheld,
        ),
    }


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
    columns: list[sa.ColumnElement[Any]] = [
        sa.func.count(),
        sa.func.count(vectors),
        sa.func.min(first),
        sa.func.max(first),
    ]
    columns.append(_joined(connection, vectors, chr(_SEPARATOR)))
    if grouping is not None:
        # One pass over the rows feeds every aggregate of the query, so both strings list the
        # responses in the same order; `_vector_block` checks that neither left one out. 0
        # stands for no group (no option chosen): a NULL would be left out of the list.
        key = group_answer.c.option_id if grouping.question else response_t.c.organisation_id
        columns.append(_joined(connection, sa.cast(sa.func.coalesce(key, 0), sa.Text), ","))
    query = scoped(
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


def _text_answers(
    connection: Connection,
    survey: Survey,
    wave: Wave,
    scope: Organisation | None,
) -> tuple[dict[str, list[str]], dict[str, list[int]]]:
    """The free-text answers of `wave` in scope by question code (every text question,
    maybe []), and the id of the response each comes from, in the same order."""
    ids = {q.id: q.code for q in survey.questions if q.type == QuestionType.TEXT}
    if not ids:
        return {}, {}
    # The questions are this survey's, so their answers are its responses' answers: reading
    # them through the question index, rather than looking each response up for them, costs
    # the text answers only. A scope, a survey run in several waves, or a daily snapshot keeps
    # those of the wave's responses in scope.
    query = sa.select(answer_t.c.question_id, answer_t.c.response_id, answer_t.c.text).where(
        answer_t.c.question_id.in_(list(ids)), answer_t.c.text.is_not(None)
    )
    if scope is not None or len(survey.waves) > 1 or snapshot_cutoff(wave) is not None:
        query = query.where(answer_t.c.response_id.in_(response_ids_in_scope(wave, scope)))
    answers: dict[str, list[str]] = {code: [] for code in ids.values()}
    respondents: dict[str, list[int]] = {code: [] for code in ids.values()}
    for question_id, response_id, text in connection.execute(query):
        answers[ids[question_id]].append(text)
        respondents[ids[question_id]].append(response_id)
    return answers, respondents


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
