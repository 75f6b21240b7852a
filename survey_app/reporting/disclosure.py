"""Disclosure control of a wave: which cells are withheld, decided once over every cell a user
could request, and read by every output.

`wave_disclosure` reads every response of a wave once (its organisation, its Likert answers,
its choice answers and whether it answered each text question, and which codebook themes it
mentions), counts them per organisation, and hands the counts to
`reports.disclosure.decide_withheld` over the whole organisation hierarchy (under a root,
England) crossed with every choice question of the survey. The measures are the responses, each
Likert item's answers, each text question's answers and each codebook theme's mentions; a second
decision covers the themes' scores, with a theme withheld wherever one of its statements is.

`WaveDisclosure.states` then gives the `reports.cell_states.CellStates` of one summary (a scope,
grouped by a level or by a choice question, or not): the same cell has the same state in every
request, so no combination of requests differences a withheld cell out.

The decision is kept per process, keyed by the wave, the survey's definition revision, k, and a
fingerprint of the wave's responses and of the organisations (their number and the sums of
their ids), so a response stored or deleted, or an organisation imported, makes a new one.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from reports.cell_states import CellStates, themes_forced
from reports.disclosure import (
    CellCounts,
    Hierarchy,
    Withheld,
    decide_withheld,
    subtree_totals,
)
from reports.free_text import is_answered
from reports.summary import SurveySpec
from reports.themes import minimum_answered
from survey_app.models import Answer, ChoiceOption, Organisation, OrgLevel, Response, Survey, Wave
from survey_app.models.responses import LIKERT_ZERO
from survey_app.process_cache import ProcessCache
from survey_app.questions import kind_of
from survey_app.reporting.scope import scoped, snapshot_cutoff, survey_spec

answer_t = Answer.__table__  # type: ignore[attr-defined]
response_t = Response.__table__  # type: ignore[attr-defined]
org_t = Organisation.__table__  # type: ignore[attr-defined]
option_t = ChoiceOption.__table__  # type: ignore[attr-defined]

_DECISIONS: ProcessCache[WaveDisclosure] = ProcessCache(limit=16)


@dataclass(frozen=True, slots=True)
class _Crossing:
    """A choice question the hierarchy is crossed with: its index among them and the slot of
    each of its options (option id -> 0..P-1; P is "no answer")."""

    index: int
    slots: dict[int, int]


@dataclass(frozen=True, slots=True)
class WaveDisclosure:
    """The withheld cells of one wave: ``first`` over [responses, items, text questions
    answered], ``second`` over [themes' scores, codebook themes' mentions], each of the second
    forced where what it derives from is withheld (a theme's statements, a mention's question);
    nodes are the root (0, England) and each organisation (``node_of``: organisation id ->
    node)."""

    node_of: dict[int, int]
    crossings: dict[int, _Crossing]  # question id -> its crossing
    items: int
    themes: int
    first: Withheld
    second: Withheld

    def states(
        self,
        scope_id: int | None,
        groups: Sequence[int] = (),
        question_id: int | None = None,
    ) -> CellStates:
        """The states of a summary's cells: the scope (an organisation id, None for England)
        and its groups: organisation ids (a grouping by level), or with ``question_id`` option
        ids of that choice question (each crossed with the scope)."""
        scope = 0 if scope_id is None else self.node_of[scope_id]
        if question_id is None:
            nodes = [scope, *(self.node_of[group] for group in groups)]
            first, first_primary = self.first.totals[nodes], self.first.primary_totals[nodes]
            second, second_primary = self.second.totals[nodes], self.second.primary_totals[nodes]
        else:
            crossing = self.crossings[question_id]
            slots = [crossing.slots[option] for option in groups]

            def crossed(withheld: Withheld) -> tuple[np.ndarray, np.ndarray]:
                cells = withheld.crossed[crossing.index][scope, slots]
                primary = withheld.primary_crossed[crossing.index][scope, slots]
                return (
                    np.concatenate([withheld.totals[[scope]], cells]),
                    np.concatenate([withheld.primary_totals[[scope]], primary]),
                )

            first, first_primary = crossed(self.first)
            second, second_primary = crossed(self.second)
        # The cells this output shows: everything of the scope, and of each group its
        # responses, items and themes (free text is shown for the scope only).
        shown_first = np.zeros(first.shape, dtype=bool)
        shown_first[0] = True
        shown_first[1:, : 1 + self.items] = True
        shown_second = np.zeros(second.shape, dtype=bool)
        shown_second[0] = True
        shown_second[1:, : self.themes] = True
        secondary = int(
            (first & ~first_primary & shown_first).sum()
            + (second & ~second_primary & shown_second).sum()
        )
        return CellStates(
            responses=first[:, 0],
            items=first[:, 1 : 1 + self.items],
            themes=second[:, : self.themes],
            text_answered=first[:, 1 + self.items :],
            secondary=secondary,
            text_mentions=second[:, self.themes :],
        )


def wave_disclosure(
    connection: Connection, survey: Survey, wave: Wave, min_n: int
) -> WaveDisclosure:
    """The withheld cells of `wave` of `survey` at k = `min_n` (see the module's docstring)."""
    key: Hashable = (
        wave.id,
        survey.definition_revision,
        min_n,
        snapshot_cutoff(wave),
        _fingerprint(connection, wave),
    )
    decision = _DECISIONS.get(key, lambda: _decide(connection, survey, wave, min_n))
    assert decision is not None  # _decide always makes one
    return decision


def _fingerprint(connection: Connection, wave: Wave) -> tuple[int, ...]:
    responses = connection.execute(
        scoped(
            sa.select(
                sa.func.count(), sa.func.coalesce(sa.func.sum(response_t.c.id), 0)
            ).select_from(response_t),
            wave,
            None,
        )
    ).one()
    organisations = connection.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(org_t.c.id), 0),
            sa.func.coalesce(sa.func.sum(org_t.c.parent_id), 0),
        )
    ).one()
    return (*responses, *organisations)


def _decide(connection: Connection, survey: Survey, wave: Wave, min_n: int) -> WaveDisclosure:
    spec = survey_spec(survey)
    hierarchy, node_of = organisation_hierarchy(connection)
    response_ids, nodes, values = _likert(connection, survey, wave, spec, node_of)
    row_of = {response_id: row for row, response_id in enumerate(response_ids)}
    texts, mentions, question_of_mention = _text_measures(connection, survey, spec, row_of)
    columns = {item.code: index for index, item in enumerate(spec.items)}
    theme_items = tuple(tuple(columns[code] for code in theme.items) for theme in spec.themes)
    scored = np.zeros((len(response_ids), len(spec.themes)), dtype=bool)
    for index, of_theme in enumerate(theme_items):
        answered = np.count_nonzero(values[:, list(of_theme)], axis=1)
        scored[:, index] = answered >= minimum_answered(len(of_theme))
    crossings, slots = _crossings(connection, survey, wave, row_of)
    size = len(node_of) + 1

    def counts(per_response: np.ndarray) -> CellCounts:
        direct = _count(nodes, per_response, size)
        crossed = tuple(
            _count(nodes * (options + 1) + slot, per_response, size * (options + 1)).reshape(
                size, options + 1, -1
            )
            for options, slot in slots
        )
        return CellCounts(direct, crossed)

    single = np.ones((len(response_ids), 1), dtype=bool)
    first = decide_withheld(
        hierarchy, counts(np.concatenate([single, values > 0, texts], axis=1)), min_n
    )
    items = len(spec.items)
    # A theme is withheld wherever one of its statements is, and a codebook theme's mentions
    # wherever its question's answers are; not where the cell holds none of them.
    sources = tuple(
        [*(list(items_of) for items_of in theme_items), *([q] for q in question_of_mention)]
    )
    source_columns = tuple(
        tuple(column + 1 if n < len(theme_items) else column + 1 + items for column in group)
        for n, group in enumerate(sources)
    )
    second_counts = counts(np.concatenate([scored, mentions], axis=1))

    def forced(withheld: np.ndarray, n: np.ndarray) -> np.ndarray:
        shape = withheld.shape[:-1]
        flat = themes_forced(withheld.reshape(-1, withheld.shape[-1]), source_columns)
        return flat.reshape(*shape, -1) & (n > 0)

    second = decide_withheld(
        hierarchy,
        second_counts,
        min_n,
        forced=Withheld.forcing(
            forced(first.totals, subtree_totals(hierarchy, second_counts.direct)),
            tuple(
                forced(crossed, subtree_totals(hierarchy, direct[:, :-1, :]))
                for crossed, direct in zip(first.crossed, second_counts.crossed_direct, strict=True)
            ),
        ),
    )
    return WaveDisclosure(node_of, crossings, items, len(spec.themes), first, second)


def _count(cells: np.ndarray, per_response: np.ndarray, size: int) -> np.ndarray:
    """(size, measures): how many responses in each cell count for each measure."""
    table = np.zeros((size, per_response.shape[1]), dtype=np.int64)
    for measure in range(per_response.shape[1]):
        table[:, measure] = np.bincount(
            cells, weights=per_response[:, measure], minlength=size
        ).astype(np.int64)
    return table


def organisation_hierarchy(connection: Connection) -> tuple[Hierarchy, dict[int, int]]:
    """Every organisation as a node under the root (England, node 0), parents first."""
    rows = connection.execute(sa.select(org_t.c.id, org_t.c.parent_id, org_t.c.level)).all()
    rank = {level.value: level.rank for level in OrgLevel}
    ordered = sorted(rows, key=lambda row: (rank[str(row.level)], row.id))
    node_of = {row.id: node for node, row in enumerate(ordered, start=1)}
    parent = np.zeros(len(ordered) + 1, dtype=np.int64)
    level = np.zeros(len(ordered) + 1, dtype=np.int8)
    parent[0] = -1
    for node, row in enumerate(ordered, start=1):
        parent[node] = node_of[row.parent_id] if row.parent_id is not None else 0
        level[node] = rank[str(row.level)] + 1
    return Hierarchy(parent, level), node_of


def _likert(
    connection: Connection,
    survey: Survey,
    wave: Wave,
    spec: SurveySpec,
    node_of: dict[int, int],
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """The wave's response ids, each response's node, and its Likert answers (responses x
    items, 0 where unanswered) read from the vector stored with it."""
    ids = {q.code: q.id for q in survey.questions}
    item_ids = [int(ids[item.code] or 0) for item in spec.items]
    # The responses a report of the wave counts (an open wave's daily snapshot included).
    rows = connection.execute(
        scoped(
            sa.select(
                response_t.c.id,
                response_t.c.organisation_id,
                response_t.c.likert_first_question_id,
                response_t.c.likert_values,
            ),
            wave,
            None,
        )
    ).all()
    values = np.zeros((len(rows), len(item_ids)), dtype=np.int64)
    # Vectors of one layout (first question id, length) are cut into a matrix at once.
    layouts: dict[tuple[int, int], list[int]] = {}
    for row, (_, _, first, vector) in enumerate(rows):
        if vector:
            layouts.setdefault((first or 0, len(vector)), []).append(row)
    wanted = np.array(item_ids, dtype=np.int64)
    for (first, width), members in layouts.items():
        joined = "".join(rows[row][3] for row in members).encode("ascii")
        matrix = np.frombuffer(joined, dtype=np.uint8).reshape(len(members), width)
        slots = wanted - first
        inside = (slots >= 0) & (slots < width)
        block = np.zeros((len(members), len(item_ids)), dtype=np.int64)
        block[:, inside] = matrix[:, slots[inside]].astype(np.int64) - LIKERT_ZERO
        values[members] = block
    nodes = np.array([node_of[row.organisation_id] for row in rows], dtype=np.int64)
    return [row.id for row in rows], nodes, values


def _text_measures(
    connection: Connection,
    survey: Survey,
    spec: SurveySpec,
    row_of: dict[int, int],
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """For each response (rows as `row_of` numbers them): whether it answered each text
    question (responses x questions), and whether that answer mentions each codebook theme
    (responses x every question's themes, in the spec's order), with each of those themes'
    question (its index among the text questions)."""
    question_ids = {q.code: q.id for q in survey.questions}
    answered = np.zeros((len(row_of), len(spec.text_questions)), dtype=bool)
    theme_columns = [
        (index, theme)
        for index, question in enumerate(spec.text_questions)
        for theme in question.themes
    ]
    mentions = np.zeros((len(row_of), len(theme_columns)), dtype=bool)
    question_of = [index for index, _ in theme_columns]
    if not spec.text_questions or not row_of:
        return answered, mentions, question_of
    column_of = {question_ids[q.code]: index for index, q in enumerate(spec.text_questions)}
    query = sa.select(answer_t.c.response_id, answer_t.c.question_id, answer_t.c.text).where(
        answer_t.c.question_id.in_(list(column_of)), answer_t.c.text.is_not(None)
    )
    for response_id, question_id, text in connection.execute(query):
        row = row_of.get(response_id)
        if row is None or not is_answered(text):
            continue
        question = column_of[question_id]
        answered[row, question] = True
        for column, (index, theme) in enumerate(theme_columns):
            if index == question and theme.is_mentioned_in(text):
                mentions[row, column] = True
    return answered, mentions, question_of


def _crossings(
    connection: Connection, survey: Survey, wave: Wave, row_of: dict[int, int]
) -> tuple[dict[int, _Crossing], list[tuple[int, np.ndarray]]]:
    """The survey's choice questions (those that can group a report), each with the slot of
    every response: its option's, or P for no answer."""
    questions = [q for q in survey.questions if kind_of(q.type).groups_reports]
    crossings: dict[int, _Crossing] = {}
    slots: list[tuple[int, np.ndarray]] = []
    for index, question in enumerate(questions):
        options = connection.execute(
            sa.select(option_t.c.id)
            .where(option_t.c.question_id == question.id)
            .order_by(option_t.c.position, option_t.c.id)
        ).scalars()
        slot_of = {option: slot for slot, option in enumerate(options)}
        crossings[int(question.id)] = _Crossing(index, slot_of)  # type: ignore[arg-type]
        chosen = np.full(len(row_of), len(slot_of), dtype=np.int64)
        query = (
            sa.select(answer_t.c.response_id, answer_t.c.option_id)
            .join(response_t, response_t.c.id == answer_t.c.response_id)
            .where(
                response_t.c.wave_id == wave.id,
                answer_t.c.question_id == question.id,
                answer_t.c.option_id.is_not(None),
            )
        )
        for response_id, option_id in connection.execute(query):
            row = row_of.get(response_id)
            if row is not None and option_id in slot_of:
                chosen[row] = slot_of[option_id]
        slots.append((len(slot_of), chosen))
    return crossings, slots
