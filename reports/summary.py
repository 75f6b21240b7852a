"""The summary JSON of a survey: the one entry point that turns aggregates into published figures.

For the scope and for each group of a breakdown the caller hands over a ``CellAggregates``
(``reports.summary_inputs``): response counts, per-item count tables and per-theme sums.
``build_summary`` checks them, applies the definitions of docs/methodology.md, suppression
included, and returns a ``Summary`` (``reports.summary_types``: a TypedDict, so the plain dict of
the spec, ``json.dumps(..., allow_nan=False)`` safe). ``reports.answer_counts`` counts its
aggregates for all cells at once into arrays (``CellTables``) and hands them to
``build_summary_from_tables``, which skips the checks its own counting makes needless. Either
way every figure is computed for all groups of an item or theme at once, with arrays
(``reports.summary_figures``), then suppressed, flagged and written out as rows
(``reports.summary_rows``). The web page, the API, the CSV/XLSX export and the PDF all read that
one dict, so they cannot disagree.
"""

from __future__ import annotations

import gc
from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np

from reports.cell_states import CellCountsOfTable, CellStates, states_of_tables
from reports.free_text import count_mentions, summarise_text_question, summarise_text_themes
from reports.summary_figures import CellFigures, figures_of_aggregates, figures_of_tables
from reports.summary_inputs import (
    CellAggregates,
    CellTables,
    GroupAggregates,
    GroupTables,
    LikertItemSpec,
    SurveySpec,
    TextQuestionSpec,
    ThemeSpec,
)
from reports.summary_rows import breakdown, scope_item, scope_theme
from reports.summary_types import ScopeName, Summary
from reports.suppression import check_min_n

__all__ = [
    "CellAggregates",
    "CellStates",
    "CellTables",
    "GroupAggregates",
    "GroupTables",
    "LikertItemSpec",
    "Summary",
    "SurveySpec",
    "TextQuestionSpec",
    "ThemeSpec",
    "build_summary",
    "build_summary_from_tables",
]


def _scope_json(scope: Mapping[str, object] | None) -> ScopeName | None:
    if scope is None:
        return None
    try:
        code, name, level = (str(scope[key]) for key in ("code", "name", "level"))
    except KeyError as error:
        raise ValueError(f"scope needs code, name and level; missing {error}") from error
    return {"code": code, "name": name, "level": level}


def build_summary(
    spec: SurveySpec,
    scope: Mapping[str, object] | None,
    total: CellAggregates,
    text_answers: Mapping[str, Sequence[str | None]],
    by: str | None,
    groups: Sequence[GroupAggregates],
    min_n: int,
    *,
    text_respondents: Mapping[str, Sequence[Hashable]] | None = None,
) -> Summary:
    """Return the summary JSON (a ``Summary``) for one scope and, with ``by``, one breakdown.

    ``scope`` is ``{"code", "name", "level"}`` or None (all of England); ``total`` holds the
    scope's aggregates; ``text_answers`` maps a text question's code to the scope's answers
    (None or "" for unanswered; questions absent had none); ``groups`` are the breakdown's
    cells (any order; groups with no responses are left out, as the spec defines groups by
    having one). ``text_respondents`` maps a text question's code to the response each of its
    answers comes from, for ``text_themes`` counted per respondent (without it, the answers of
    the questions are taken as aligned by position: ``free_text.summarise_text_themes``).
    Suppression, flags, Kruskal-Wallis and Benjamini-Hochberg follow
    docs/methodology.md. Refuses (ValueError) ``min_n < 1``, groups without ``by``, duplicate
    group keys, aggregates or text answers for codes not in the survey, count tables of the
    wrong length, and counts inconsistent with the responses.
    """
    with _collector_paused():
        _check_arguments(spec, text_answers, by, bool(groups), min_n)
        keys = [group.key for group in groups]
        if len(set(keys)) != len(keys):
            raise ValueError("group keys must be unique within a breakdown")
        # Groups are the organisations or options with at least one response in scope.
        ordered = sorted((group for group in groups if group.responses > 0), key=lambda g: g.key)
        scope_figures = figures_of_aggregates(spec, [total], ["scope"])
        group_figures = figures_of_aggregates(
            spec, ordered, [f"group {group.key!r}" for group in ordered]
        )
        return _assemble_summary(
            spec,
            scope,
            scope_figures,
            text_answers,
            by,
            [group.key for group in ordered],
            [group.label for group in ordered],
            group_figures,
            min_n,
            _states_of_one_table(spec, scope_figures, group_figures, text_answers, min_n),
            text_respondents,
        )


def build_summary_from_tables(
    spec: SurveySpec,
    scope: Mapping[str, object] | None,
    total: CellTables,
    text_answers: Mapping[str, Sequence[str | None]],
    by: str | None,
    groups: GroupTables | None,
    min_n: int,
    states: CellStates | None = None,
    *,
    text_respondents: Mapping[str, Sequence[Hashable]] | None = None,
) -> Summary:
    """Return ``build_summary`` of aggregates counted into arrays: ``total`` is the scope, one
    cell; ``groups`` the breakdown's (None without ``by``).

    ``states`` says which cells are withheld (row 0 the scope, then ``groups`` in the order
    given), as the application decides them once per wave over the whole hierarchy; without it
    they are decided on this table alone (``reports.cell_states.states_of_tables``).

    For ``reports.answer_counts``, whose counting makes the per-cell checks of ``build_summary``
    needless: the tables are trusted to be consistent counts (values within each item's
    scale, answers and scores no more than responses). The arguments are still checked as
    ``build_summary`` checks them, and groups are put in key order and those without
    responses left out.
    """
    with _collector_paused():
        _check_arguments(spec, text_answers, by, groups is not None, min_n)
        keys: list[str] = []
        labels: list[str] = []
        figures = CellFigures(np.zeros(0, dtype=np.int64), (), ())
        if groups is not None:
            if len(set(groups.keys)) != len(groups.keys):
                raise ValueError("group keys must be unique within a breakdown")
            order = sorted(
                (index for index, count in enumerate(groups.cells.responses.tolist()) if count),
                key=lambda index: groups.keys[index],
            )
            keys = [groups.keys[index] for index in order]
            labels = [groups.labels[index] for index in order]
            figures = figures_of_tables(spec, groups.cells).select(np.array(order, dtype=np.intp))
            if states is not None:
                states = states.select(np.array(order, dtype=np.intp))
        scope_figures = figures_of_tables(spec, total)
        if states is None:
            states = _states_of_one_table(spec, scope_figures, figures, text_answers, min_n)
        return _assemble_summary(
            spec,
            scope,
            scope_figures,
            text_answers,
            by,
            keys,
            labels,
            figures,
            min_n,
            states,
            text_respondents,
        )


def _states_of_one_table(
    spec: SurveySpec,
    scope: CellFigures,
    groups: CellFigures,
    text_answers: Mapping[str, Sequence[str | None]],
    min_n: int,
) -> CellStates:
    """The states of a summary's cells decided on its own table (no hierarchy around it)."""
    cells = 1 + len(groups.responses)
    item_index = {item.code: index for index, item in enumerate(spec.items)}
    answered = np.zeros((cells, len(spec.text_questions)), dtype=np.int64)
    for index, question in enumerate(spec.text_questions):
        answered[0, index] = count_mentions(text_answers.get(question.code, ()), ()).answered
    return states_of_tables(
        CellCountsOfTable(
            responses=np.concatenate([scope.responses, groups.responses]),
            items=_stacked(
                [columns.n for columns in scope.items], [c.n for c in groups.items], cells
            ),
            themes=_stacked(
                [columns.n for columns in scope.themes], [c.n for c in groups.themes], cells
            ),
            text_answered=answered,
            theme_items=tuple(
                tuple(item_index[code] for code in theme.items) for theme in spec.themes
            ),
        ),
        min_n,
    )


def _stacked(scope: list[np.ndarray], groups: list[np.ndarray], cells: int) -> np.ndarray:
    """(cells, columns): the scope's n of each item (or theme), then each group's (none when
    there are no groups)."""
    stacked = np.zeros((cells, len(scope)), dtype=np.int64)
    for column, n in enumerate(scope):
        stacked[0, column] = n[0]
    for column, n in enumerate(groups):
        stacked[1:, column] = n
    return stacked


def _check_arguments(
    spec: SurveySpec,
    text_answers: Mapping[str, Sequence[str | None]],
    by: str | None,
    has_groups: bool,
    min_n: int,
) -> None:
    """Refuse (ValueError) ``min_n < 1``, groups without ``by`` and text answers for
    questions not in the survey."""
    check_min_n(min_n)
    if by is None and has_groups:
        raise ValueError("groups were given without the breakdown they belong to (by)")
    text_codes = {question.code for question in spec.text_questions}
    unknown_text = set(text_answers) - text_codes
    if unknown_text:
        raise ValueError(f"text answers for questions not in the survey: {sorted(unknown_text)}")


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector while a summary is assembled.

    A breakdown by a thousand practices allocates tens of thousands of small dicts and lists,
    none in a reference cycle, and the collector would traverse them again and again.
    Reference counting still frees everything; the collector is re-enabled on the way out,
    exception or not, if it was enabled on the way in.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:
                # The first allocation after re-enabling would start a young collection that
                # traverses everything made while paused (0.02 s for a breakdown by a
                # thousand practices), to free none of it. Freezing and unfreezing moves all
                # tracked objects to the oldest generation in constant time instead; a full
                # collection still finds any cycle. Skipped if someone froze objects on
                # purpose (before forking workers), as unfreezing would undo it.
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _assemble_summary(
    spec: SurveySpec,
    scope: Mapping[str, object] | None,
    total: CellFigures,
    text_answers: Mapping[str, Sequence[str | None]],
    by: str | None,
    keys: Sequence[str],
    labels: Sequence[str],
    groups: CellFigures,
    min_n: int,
    states: CellStates,
    text_respondents: Mapping[str, Sequence[Hashable]] | None,
) -> Summary:
    responses = int(total.responses[0])
    responses_withheld = bool(states.responses[0])
    items = [
        scope_item(item, columns, bool(withheld))
        for item, columns, withheld in zip(spec.items, total.items, states.items[0], strict=True)
    ]
    themes = [
        scope_theme(theme, columns, bool(withheld), min_n)
        for theme, columns, withheld in zip(
            spec.themes, total.themes, states.themes[0], strict=True
        )
    ]
    free_text = []
    secondary = states.secondary
    first_theme = 0
    for question, withheld in zip(spec.text_questions, states.text_answered[0], strict=True):
        themes_of_question = len(question.themes)
        mentions = (
            None
            if states.text_mentions is None
            else states.text_mentions[0, first_theme : first_theme + themes_of_question].tolist()
        )
        first_theme += themes_of_question
        counted = summarise_text_question(
            question.code,
            text_answers.get(question.code, ()),
            question.themes,
            responses,
            min_n,
            withheld=bool(withheld),
            mentions_withheld=mentions,
        )
        if responses_withheld:
            # Each share is a count over the responses: with them withheld, so is every share
            # and, so that none is left to divide, every count of the question (withheld to
            # protect others where it was published).
            hidden_here = [counted["answered"], *(t["mentions"] for t in counted["themes"])]
            secondary += sum(1 for count in hidden_here if count)
            counted["answered"] = None
            for theme in counted["themes"]:
                theme["of"] = None
                theme["mentions"] = None
                theme["percent"] = None
                theme["suppressed"] = True
        free_text.append(counted)
    text_themes = summarise_text_themes(
        [(question.code, question.themes) for question in spec.text_questions],
        text_answers,
        text_respondents,
        responses,
        min_n,
    )
    if responses_withheld:
        for text_theme in text_themes:
            text_theme["respondents"] = None
            text_theme["of"] = None
            text_theme["of_answered"] = None
            text_theme["percent"] = None
            text_theme["suppressed"] = True
    group_rows, comparisons = (
        breakdown(spec, total, keys, labels, groups, min_n, states) if by is not None else ([], [])
    )
    return {
        "survey": {"slug": spec.slug, "title": spec.title},
        "scope": _scope_json(scope),
        "suppression_min_n": min_n,
        "responses": None if responses_withheld else responses,
        "secondary_suppressed": secondary,
        "items": items,
        "themes": themes,
        "free_text": free_text,
        "text_themes": text_themes,
        "by": by,
        "groups": group_rows,
        "comparisons": comparisons,
    }
