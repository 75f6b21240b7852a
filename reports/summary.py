"""The summary JSON of a survey: the one entry point that turns aggregates into published figures.

The database layer hands over, for the scope and for each group of a breakdown, a
``CellAggregates``: response counts, per-item count tables and per-theme sums. ``build_summary``
applies the definitions of docs/methodology.md, suppression included, and returns the plain
dict of the spec (``json.dumps(..., allow_nan=False)`` safe). The web page, the API, the CSV/XLSX
export and the PDF all read that one dict, so they cannot disagree.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reports.comparisons import (
    GroupEstimate,
    benjamini_hochberg,
    kruskal_from_counts,
    outlier_flags,
)
from reports.free_text import TextTheme, summarise_text_question
from reports.likert import ITEM_STATISTICS, ItemSummary, summarise_items, whole_number
from reports.suppression import check_min_n, suppress_cells, suppressed_groups
from reports.themes import THEME_STATISTICS, ThemeAggregates, ThemeSummary, summarise_theme


@dataclass(frozen=True, slots=True)
class LikertItemSpec:
    """A Likert item: its code, statement text, theme code (or None) and number of points K."""

    code: str
    text: str
    theme: str | None
    points: int

    def __post_init__(self) -> None:
        if self.points < 2:
            raise ValueError(f"item {self.code!r}: a Likert scale needs >= 2 points")


@dataclass(frozen=True, slots=True)
class ThemeSpec:
    """A theme: its code, title and the codes of its items (m = len(items))."""

    code: str
    title: str
    items: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.items:
            raise ValueError(f"theme {self.code!r} has no items")


@dataclass(frozen=True, slots=True)
class TextQuestionSpec:
    """A free-text question: its code, question text and codebook themes (maybe none)."""

    code: str
    text: str
    themes: tuple[TextTheme, ...] = ()


@dataclass(frozen=True, slots=True)
class SurveySpec:
    """What the summary needs of a survey definition: items in question order, themes, texts.

    Refuses (ValueError) duplicate codes, a theme listing an unknown item, and an item whose
    ``theme`` disagrees with the themes' item lists.
    """

    slug: str
    title: str
    items: tuple[LikertItemSpec, ...]
    themes: tuple[ThemeSpec, ...] = ()
    text_questions: tuple[TextQuestionSpec, ...] = ()

    def __post_init__(self) -> None:
        for kind, codes in (
            ("item", [item.code for item in self.items]),
            ("theme", [theme.code for theme in self.themes]),
            ("text question", [question.code for question in self.text_questions]),
        ):
            if len(set(codes)) != len(codes):
                raise ValueError(f"survey {self.slug!r}: duplicate {kind} codes")
        theme_of = {item.code: item.theme for item in self.items}
        listed: dict[str, str] = {}
        for theme in self.themes:
            for code in theme.items:
                if code not in theme_of:
                    raise ValueError(f"theme {theme.code!r} lists unknown item {code!r}")
                if code in listed:
                    raise ValueError(
                        f"item {code!r} is in themes {listed[code]!r} and {theme.code!r}"
                    )
                listed[code] = theme.code
        for code, theme_code in theme_of.items():
            if listed.get(code) != theme_code:
                raise ValueError(
                    f"item {code!r} says theme {theme_code!r}, the themes say {listed.get(code)!r}"
                )


@dataclass(slots=True, kw_only=True)
class CellAggregates:
    """The aggregates of one cell (the scope, or one group of a breakdown).

    ``responses``: responses in the cell, answered or not. ``item_counts``: per item code, the
    count table (index i = answers with scale value i + 1, length K); an item absent from the
    mapping had no answers. ``themes``: per theme code, its ``ThemeAggregates`` (item order as
    in the ``ThemeSpec``); a theme absent from the mapping had no scores.
    """

    responses: int
    item_counts: Mapping[str, np.ndarray | Sequence[int]] = field(default_factory=dict)
    themes: Mapping[str, ThemeAggregates] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A plain int whatever the driver returned, so the JSON never meets np.int64.
        self.responses = whole_number(self.responses)
        if self.responses < 0:
            raise ValueError(f"responses must be >= 0, got {self.responses}")


@dataclass(slots=True, kw_only=True)
class GroupAggregates(CellAggregates):
    """A ``CellAggregates`` of one group: its ``key`` (organisation code or option value,
    which orders the groups) and the ``label`` shown to readers."""

    key: str
    label: str

    def __post_init__(self) -> None:
        # Named, not super(): zero-argument super() breaks in slotted dataclasses.
        CellAggregates.__post_init__(self)
        if not isinstance(self.key, str) or not isinstance(self.label, str):
            raise ValueError(f"group key and label must be strings, got {self.key!r}")


@dataclass(frozen=True, slots=True)
class _CellSummary:
    """Every item and theme of one cell summarised, before suppression."""

    responses: int
    items: dict[str, ItemSummary]
    themes: dict[str, ThemeSummary]


def _summarise_cells(
    spec: SurveySpec, cells: Sequence[CellAggregates], names: Sequence[str]
) -> list[_CellSummary]:
    """Summarise every item and theme of each cell; an item is done across all cells at once."""
    item_codes = {item.code for item in spec.items}
    theme_codes = {theme.code for theme in spec.themes}
    for cell, where in zip(cells, names, strict=True):
        unknown = (set(cell.item_counts) - item_codes) | (set(cell.themes) - theme_codes)
        if unknown:
            raise ValueError(f"{where}: aggregates for codes not in the survey: {sorted(unknown)}")
    responses = [cell.responses for cell in cells]
    items: list[dict[str, ItemSummary]] = [{} for _ in cells]
    for item in spec.items:
        absent = (0,) * item.points
        tables = [cell.item_counts.get(item.code, absent) for cell in cells]
        summaries = summarise_items(tables, responses)
        # summarise_items has checked that every table has the same length.
        if summaries and len(summaries[0].counts) != item.points:
            raise ValueError(
                f"item {item.code!r} has {item.points} points, "
                f"its counts give {len(summaries[0].counts)}"
            )
        for cell_items, summary in zip(items, summaries, strict=True):
            cell_items[item.code] = summary
    themes: list[dict[str, ThemeSummary]] = [{} for _ in cells]
    for theme in spec.themes:
        m = len(theme.items)
        for cell, where, cell_themes in zip(cells, names, themes, strict=True):
            aggregates = cell.themes.get(theme.code)
            if aggregates is None:
                aggregates = ThemeAggregates.empty(m)
            if aggregates.scored > cell.responses:
                raise ValueError(f"{where}: theme {theme.code!r} has more scores than responses")
            cell_themes[theme.code] = summarise_theme(aggregates, m)
    return [
        _CellSummary(responses=cell.responses, items=cell_items, themes=cell_themes)
        for cell, cell_items, cell_themes in zip(cells, items, themes, strict=True)
    ]


def _item_json(
    item: LikertItemSpec,
    summary: ItemSummary,
    withheld: bool,
) -> dict[str, Any]:
    row: dict[str, Any] = {"code": item.code, "text": item.text, "theme": item.theme}
    row.update(dict.fromkeys(ITEM_STATISTICS) if withheld else summary.to_json())
    row["suppressed"] = withheld
    return row


def _theme_json(
    theme: ThemeSpec,
    summary: ThemeSummary,
    withheld: bool,
    min_n: int,
) -> dict[str, Any]:
    row: dict[str, Any] = {"code": theme.code, "title": theme.title}
    if withheld:
        row.update(dict.fromkeys(THEME_STATISTICS))
    else:
        row.update(summary.to_json())
        if summary.complete < min_n:
            # Alpha rests on the complete respondents only: fewer than k of them is a small cell.
            row["alpha"] = None
            row["alpha_ci95"] = None
    row["suppressed"] = withheld
    return row


def _estimate(summary: ItemSummary | ThemeSummary) -> GroupEstimate:
    return GroupEstimate(mean=summary.mean, ci95=summary.ci95)


def _suppress_and_flag(
    groups: Mapping[str, ItemSummary | ThemeSummary],
    scope: ItemSummary | ThemeSummary,
    min_n: int,
    whole: frozenset[str],
) -> tuple[frozenset[str], dict[str, str]]:
    """For one item or theme: the groups withheld (primary and secondary), and the flags of
    the others against the scope's mean."""
    scope_published = scope.n >= min_n
    answers = {key: summary.n for key, summary in groups.items()}
    withheld = suppress_cells(
        answers,
        min_n,
        scope_published=scope_published,
        always_suppressed=whole,
        unassigned=scope.n - sum(answers.values()),
    )
    flags = outlier_flags(
        {key: _estimate(summary) for key, summary in groups.items() if key not in withheld},
        scope.mean if scope_published else None,
    )
    return withheld, dict(flags)


def _comparison(code: str, tables: list[tuple[int, ...]]) -> dict[str, Any]:
    result = kruskal_from_counts(tables)
    return {
        "item": code,
        "test": "kruskal",
        "groups_compared": result.groups_compared,
        "statistic": result.statistic,
        "p": result.p,
        "p_adjusted": None,  # filled in once every item of the breakdown is compared
        "effect_size": result.effect_size,
    }


def _breakdown(
    spec: SurveySpec,
    scope: _CellSummary,
    groups: Sequence[GroupAggregates],
    min_n: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the groups and comparisons of one breakdown, suppression and flags applied."""
    keys = [group.key for group in groups]
    if len(set(keys)) != len(keys):
        raise ValueError("group keys must be unique within a breakdown")
    # Groups are the organisations or options with at least one response in scope.
    ordered = sorted((group for group in groups if group.responses > 0), key=lambda g: g.key)
    summaries = _summarise_cells(spec, ordered, [f"group {group.key!r}" for group in ordered])
    cells = {group.key: summary for group, summary in zip(ordered, summaries, strict=True)}
    whole = suppressed_groups({key: cell.responses for key, cell in cells.items()}, min_n)

    withheld: dict[str, frozenset[str]] = {}
    flags: dict[str, dict[str, str]] = {}
    comparisons: list[dict[str, Any]] = []
    for item in spec.items:
        by_group = {key: cell.items[item.code] for key, cell in cells.items()}
        withheld[item.code], flags[item.code] = _suppress_and_flag(
            by_group, scope.items[item.code], min_n, whole
        )
        compared = [key for key in cells if key not in withheld[item.code]]
        if len(compared) >= 2:
            comparisons.append(_comparison(item.code, [by_group[key].counts for key in compared]))
    adjusted = benjamini_hochberg([comparison["p"] for comparison in comparisons])
    for comparison, p_adjusted in zip(comparisons, adjusted, strict=True):
        comparison["p_adjusted"] = p_adjusted
    # Item and theme codes are distinct namespaces; keep their suppression apart.
    theme_withheld: dict[str, frozenset[str]] = {}
    theme_flags: dict[str, dict[str, str]] = {}
    for theme in spec.themes:
        by_group_theme = {key: cell.themes[theme.code] for key, cell in cells.items()}
        theme_withheld[theme.code], theme_flags[theme.code] = _suppress_and_flag(
            by_group_theme, scope.themes[theme.code], min_n, whole
        )

    rows: list[dict[str, Any]] = []
    for group in ordered:
        if group.key in whole:
            rows.append(
                {
                    "key": group.key,
                    "label": group.label,
                    "responses": None,
                    "suppressed": True,
                    "items": [],
                    "themes": [],
                }
            )
            continue
        cell = cells[group.key]
        item_rows = [
            _item_json(item, cell.items[item.code], group.key in withheld[item.code])
            for item in spec.items
        ]
        theme_rows = [
            _theme_json(
                theme, cell.themes[theme.code], group.key in theme_withheld[theme.code], min_n
            )
            for theme in spec.themes
        ]
        # The flag comes last in ITEM and THEME, and only inside groups; withheld: null.
        for row in item_rows:
            row["flag"] = flags[row["code"]].get(group.key)
        for row in theme_rows:
            row["flag"] = theme_flags[row["code"]].get(group.key)
        rows.append(
            {
                "key": group.key,
                "label": group.label,
                "responses": cell.responses,
                "suppressed": False,
                "items": item_rows,
                "themes": theme_rows,
            }
        )
    return rows, comparisons


def _scope_json(scope: Mapping[str, Any] | None) -> dict[str, str] | None:
    if scope is None:
        return None
    try:
        return {key: str(scope[key]) for key in ("code", "name", "level")}
    except KeyError as error:
        raise ValueError(f"scope needs code, name and level; missing {error}") from error


def build_summary(
    spec: SurveySpec,
    scope: Mapping[str, Any] | None,
    total: CellAggregates,
    text_answers: Mapping[str, Sequence[str | None]],
    by: str | None,
    groups: Sequence[GroupAggregates],
    min_n: int,
) -> dict[str, Any]:
    """Return the summary JSON dict of the spec for one scope and, with ``by``, one breakdown.

    ``scope`` is ``{"code", "name", "level"}`` or None (all of England); ``total`` holds the
    scope's aggregates; ``text_answers`` maps a text question's code to the scope's answers
    (None or "" for unanswered; questions absent had none); ``groups`` are the breakdown's
    cells (any order; groups with no responses are left out, as the spec defines groups by
    having one). Suppression, flags, Kruskal-Wallis and Benjamini-Hochberg follow
    docs/methodology.md. Refuses (ValueError) ``min_n < 1``, groups without ``by``, duplicate
    group keys, aggregates or text answers for codes not in the survey, count tables of the
    wrong length, and counts inconsistent with the responses.
    """
    with _collector_paused():
        return _assemble_summary(spec, scope, total, text_answers, by, groups, min_n)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector while a summary is assembled.

    A breakdown by a thousand practices allocates hundreds of thousands of small dicts and
    lists, none in a reference cycle, and the collector would traverse them again and again
    (about 40% of the time). Reference counting still frees everything; the collector is
    re-enabled on the way out, exception or not, if it was enabled on the way in.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _assemble_summary(
    spec: SurveySpec,
    scope: Mapping[str, Any] | None,
    total: CellAggregates,
    text_answers: Mapping[str, Sequence[str | None]],
    by: str | None,
    groups: Sequence[GroupAggregates],
    min_n: int,
) -> dict[str, Any]:
    check_min_n(min_n)
    if by is None and groups:
        raise ValueError("groups were given without the breakdown they belong to (by)")
    text_codes = {question.code for question in spec.text_questions}
    unknown_text = set(text_answers) - text_codes
    if unknown_text:
        raise ValueError(f"text answers for questions not in the survey: {sorted(unknown_text)}")
    (scope_cell,) = _summarise_cells(spec, [total], ["scope"])
    items = [
        _item_json(item, scope_cell.items[item.code], scope_cell.items[item.code].n < min_n)
        for item in spec.items
    ]
    themes = [
        _theme_json(
            theme, scope_cell.themes[theme.code], scope_cell.themes[theme.code].n < min_n, min_n
        )
        for theme in spec.themes
    ]
    free_text = [
        summarise_text_question(
            question.code,
            text_answers.get(question.code, ()),
            question.themes,
            total.responses,
            min_n,
        )
        for question in spec.text_questions
    ]
    group_rows, comparisons = (
        _breakdown(spec, scope_cell, groups, min_n) if by is not None else ([], [])
    )
    return {
        "survey": {"slug": spec.slug, "title": spec.title},
        "scope": _scope_json(scope),
        "suppression_min_n": min_n,
        "responses": total.responses,
        "items": items,
        "themes": themes,
        "free_text": free_text,
        "by": by,
        "groups": group_rows,
        "comparisons": comparisons,
    }
