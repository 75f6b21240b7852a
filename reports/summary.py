"""The summary JSON of a survey: the one entry point that turns aggregates into published figures.

For the scope and for each group of a breakdown the caller hands over a ``CellAggregates``:
response counts, per-item count tables and per-theme sums. ``build_summary`` checks them, applies
the definitions of docs/methodology.md, suppression included, and returns the plain dict of the
spec (``json.dumps(..., allow_nan=False)`` safe). ``reports.data`` counts its aggregates for all
cells at once into arrays (``CellTables``) and hands them to ``build_summary_from_tables``, which
skips the checks its own counting makes needless. Either way every figure is computed for all
groups of an item or theme at once, with arrays. The web page, the API, the CSV/XLSX export and
the PDF all read that one dict, so they cannot disagree.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reports.comparisons import Flag, benjamini_hochberg, flag_groups, kruskal_from_counts
from reports.free_text import TextTheme, summarise_text_question
from reports.likert import (
    ITEM_STATISTICS,
    ItemColumns,
    item_columns,
    validate_counts,
    whole_number,
)
from reports.suppression import check_min_n, withheld_groups
from reports.themes import (
    THEME_STATISTICS,
    ThemeAggregates,
    ThemeColumns,
    ThemeTable,
    summarise_themes,
    theme_columns,
)


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
class CellTables:
    """The aggregates of several cells as arrays (index: the cell), as ``reports.data`` counts
    them: what a ``CellAggregates`` per cell holds, without one Python object per figure.

    ``responses``: responses per cell (int64). ``item_counts``: for each item of the spec, in
    its order, the cells x K count table (int64). ``themes``: for each theme of the spec, in its
    order, the cells' ``ThemeTable``.
    """

    responses: np.ndarray
    item_counts: tuple[np.ndarray, ...]
    themes: tuple[ThemeTable, ...]


@dataclass(frozen=True, slots=True)
class GroupTables:
    """The groups of a breakdown as ``CellTables``, with each group's ``key`` (organisation code
    or option value, which orders the groups) and the ``label`` shown to readers."""

    keys: Sequence[str]
    labels: Sequence[str]
    cells: CellTables


@dataclass(frozen=True, slots=True)
class _CellFigures:
    """Every item and theme of several cells summarised, before suppression: one
    ``ItemColumns`` per item and one ``ThemeColumns`` per theme, in the spec's order."""

    responses: np.ndarray
    items: tuple[ItemColumns, ...]
    themes: tuple[ThemeColumns, ...]

    def select(self, cells: np.ndarray) -> _CellFigures:
        """The figures of ``cells`` only (an index array), in that order."""
        return _CellFigures(
            responses=self.responses[cells],
            items=tuple(_take(columns, cells) for columns in self.items),
            themes=tuple(_take(columns, cells) for columns in self.themes),
        )


def _take(columns: Any, cells: np.ndarray | slice) -> Any:
    """The same columns (an ItemColumns or ThemeColumns) for ``cells`` only."""
    return type(columns)(*(getattr(columns, name)[cells] for name in columns.__dataclass_fields__))


def _whole_numbers(values: Sequence[int] | Sequence[Sequence[int]]) -> np.ndarray:
    """Checked whole numbers as an int64 array; Python ints where int64 would overflow."""
    try:
        return np.array(values, dtype=np.int64)
    except OverflowError:
        return np.array(values, dtype=object)


def _figures_of_aggregates(
    spec: SurveySpec, cells: Sequence[CellAggregates], names: Sequence[str]
) -> _CellFigures:
    """Check a caller's aggregates of each cell against the survey and summarise them.

    Refuses (ValueError) codes not in the survey, invalid count tables (``validate_counts``),
    tables of the wrong length, more answers than responses and more theme scores than
    responses, naming the cell (``names``).
    """
    item_codes = {item.code for item in spec.items}
    theme_codes = {theme.code for theme in spec.themes}
    for cell, where in zip(cells, names, strict=True):
        unknown = (set(cell.item_counts) - item_codes) | (set(cell.themes) - theme_codes)
        if unknown:
            raise ValueError(f"{where}: aggregates for codes not in the survey: {sorted(unknown)}")
    responses = _whole_numbers([cell.responses for cell in cells])
    items = []
    for item in spec.items:
        absent = (0,) * item.points
        rows = [validate_counts(cell.item_counts.get(item.code, absent)) for cell in cells]
        for row, cell, where in zip(rows, cells, names, strict=True):
            if len(row) != item.points:
                raise ValueError(
                    f"{where}: item {item.code!r} has {item.points} points, "
                    f"its counts give {len(row)}"
                )
            if cell.responses < sum(row):
                raise ValueError(
                    f"{where}: responses ({cell.responses}) cannot be fewer than the answers "
                    f"to {item.code!r} ({sum(row)})"
                )
        items.append(_whole_numbers(rows).reshape(len(rows), item.points))
    themes = []
    for theme in spec.themes:
        m = len(theme.items)
        aggregates = []
        for cell, where in zip(cells, names, strict=True):
            cell_theme = cell.themes.get(theme.code)
            if cell_theme is None:
                cell_theme = ThemeAggregates.empty(m)
            if cell_theme.scored > cell.responses:
                raise ValueError(f"{where}: theme {theme.code!r} has more scores than responses")
            aggregates.append(cell_theme)
        themes.append(summarise_themes(aggregates, m))
    return _CellFigures(
        responses=responses, items=_columns_of_items(items, responses), themes=tuple(themes)
    )


def _figures_of_tables(spec: SurveySpec, tables: CellTables) -> _CellFigures:
    """Summarise the cells of ``tables``, which must hold one table per item and theme."""
    if len(tables.item_counts) != len(spec.items) or len(tables.themes) != len(spec.themes):
        raise ValueError("the tables need one count table per item and one per theme")
    return _CellFigures(
        responses=tables.responses,
        items=_columns_of_items(tables.item_counts, tables.responses),
        themes=tuple(theme_columns(table) for table in tables.themes),
    )


def _columns_of_items(
    count_tables: Sequence[np.ndarray], responses: np.ndarray
) -> tuple[ItemColumns, ...]:
    """``item_columns`` of each item's cells x K count table, in order.

    The items with the same K are stacked and done in one call: a survey's twenty items on
    one scale cost one round of array operations, not twenty.
    """
    cells = len(responses)
    by_points: dict[int, list[int]] = {}
    for index, counts in enumerate(count_tables):
        by_points.setdefault(counts.shape[1], []).append(index)
    columns: dict[int, ItemColumns] = {}
    for indexes in by_points.values():
        stacked = item_columns(
            np.concatenate([count_tables[index] for index in indexes]),
            np.tile(responses, len(indexes)),
        )
        for position, index in enumerate(indexes):
            columns[index] = _take(stacked, slice(position * cells, (position + 1) * cells))
    return tuple(columns[index] for index in range(len(count_tables)))


def _scale_keys(points: int) -> tuple[str, ...]:
    return tuple(str(value) for value in range(1, points + 1))


def _item_rows(
    item: LikertItemSpec,
    columns: ItemColumns,
    withheld: Sequence[bool],
    flags: Sequence[Flag | None],
) -> list[dict[str, Any]]:
    """The item's JSON row (ITEM of the spec, then the group's flag) in each cell of
    ``columns``; a withheld cell's figures and flag are None."""
    code, text, theme = item.code, item.text, item.theme
    hidden = {
        "code": code,
        "text": text,
        "theme": theme,
        **dict.fromkeys(ITEM_STATISTICS),
        "suppressed": True,
        "flag": None,
    }
    scale = _scale_keys(item.points)
    rows = []
    # One dict display per row, from plain lists: a thousand groups make 20,000 of them.
    for (
        n,
        missing,
        counts,
        mean,
        sd,
        median,
        lower,
        upper,
        positive,
        positive_lower,
        positive_upper,
        net_agreement,
        indicator,
        cell_withheld,
        flag,
    ) in zip(
        columns.n.tolist(),
        columns.missing.tolist(),
        columns.counts.tolist(),
        columns.mean.tolist(),
        columns.sd.tolist(),
        columns.median.tolist(),
        columns.ci_lower.tolist(),
        columns.ci_upper.tolist(),
        columns.percent_positive.tolist(),
        columns.positive_lower.tolist(),
        columns.positive_upper.tolist(),
        columns.net_agreement.tolist(),
        columns.indicator.tolist(),
        withheld,
        flags,
        strict=True,
    ):
        if cell_withheld:
            rows.append(hidden.copy())
            continue
        # A published figure rests on at least k >= 1 answers; sd and ci95 need two.
        spread = n >= 2
        rows.append(
            {
                "code": code,
                "text": text,
                "theme": theme,
                "n": n,
                "missing": missing,
                # Both have K entries; zip's strict check would cost 3 ms a summary.
                "counts": dict(zip(scale, counts)),  # noqa: B905
                "mean": mean,
                "sd": sd if spread else None,
                "median": median,
                "ci95": [lower, upper] if spread else None,
                "percent_positive": positive,
                "percent_positive_ci95": [positive_lower, positive_upper],
                "net_agreement": net_agreement,
                "indicator": indicator,
                "suppressed": False,
                "flag": flag,
            }
        )
    return rows


def _theme_rows(
    theme: ThemeSpec,
    columns: ThemeColumns,
    withheld: Sequence[bool],
    flags: Sequence[Flag | None],
    min_n: int,
) -> list[dict[str, Any]]:
    """The theme's JSON row (THEME of the spec, then the group's flag) in each cell of
    ``columns``; a withheld cell's figures and flag are None."""
    code, title = theme.code, theme.title
    hidden = {
        "code": code,
        "title": title,
        **dict.fromkeys(THEME_STATISTICS),
        "suppressed": True,
        "flag": None,
    }
    rows = []
    for (
        n,
        mean,
        sd,
        lower,
        upper,
        complete,
        alpha,
        alpha_lower,
        alpha_upper,
        cell_withheld,
        flag,
    ) in zip(
        columns.n.tolist(),
        columns.mean.tolist(),
        columns.sd.tolist(),
        columns.ci_lower.tolist(),
        columns.ci_upper.tolist(),
        columns.complete.tolist(),
        columns.alpha.tolist(),
        columns.alpha_lower.tolist(),
        columns.alpha_upper.tolist(),
        withheld,
        flags,
        strict=True,
    ):
        if cell_withheld:
            rows.append(hidden.copy())
            continue
        spread = n >= 2
        # Alpha rests on the complete respondents only: fewer than k of them is a small cell.
        # NaN (alpha undefined) is the only float not equal to itself.
        published_alpha = complete >= min_n and alpha == alpha
        rows.append(
            {
                "code": code,
                "title": title,
                "n": n,
                "mean": mean,
                "sd": sd if spread else None,
                "ci95": [lower, upper] if spread else None,
                "alpha": alpha if published_alpha else None,
                "alpha_ci95": [alpha_lower, alpha_upper] if published_alpha else None,
                "suppressed": False,
                "flag": flag,
            }
        )
    return rows


def _scope_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of the scope: as a group's, without the flag (the scope is the benchmark)."""
    del row["flag"]
    return row


def _suppress_and_flag(
    columns: ItemColumns | ThemeColumns,
    scope: ItemColumns | ThemeColumns,
    min_n: int,
    whole: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For one item or theme across the groups (in key order): which groups are withheld
    (primary and secondary), and each group's flag against the scope's mean (an object
    array, None where withheld)."""
    scope_n = int(scope.n[0])
    scope_published = scope_n >= min_n
    withheld = withheld_groups(
        columns.n,
        min_n,
        scope_published=scope_published,
        always_suppressed=whole,
        unassigned=scope_n - int(columns.n.sum()),
    )
    published = ~withheld
    # A published group has n >= k >= 1, so a mean; an interval needs n >= 2.
    spread = columns.n[published] >= 2
    flags = np.full(len(withheld), None, dtype=object)
    flags[published] = flag_groups(
        columns.mean[published],
        np.where(spread, columns.ci_lower[published], np.nan),
        np.where(spread, columns.ci_upper[published], np.nan),
        float(scope.mean[0]) if scope_published else None,
    )
    return withheld, flags


def _comparison(code: str, counts: np.ndarray) -> dict[str, Any]:
    result = kruskal_from_counts(counts)
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
    scope: _CellFigures,
    keys: Sequence[str],
    labels: Sequence[str],
    groups: _CellFigures,
    min_n: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the groups and comparisons of one breakdown, suppression and flags applied.

    The groups come in key order, each with at least one response.
    """
    whole = groups.responses < min_n
    # Groups under k responses are listed by name only: no rows to build for them.
    shown = np.flatnonzero(~whole)
    item_rows: list[list[dict[str, Any]]] = []
    comparisons: list[dict[str, Any]] = []
    for item, columns, scope_columns in zip(spec.items, groups.items, scope.items, strict=True):
        withheld, flags = _suppress_and_flag(columns, scope_columns, min_n, whole)
        compared = ~withheld
        if int(compared.sum()) >= 2:
            comparisons.append(_comparison(item.code, columns.counts[compared]))
        item_rows.append(
            _item_rows(
                item,
                _take(columns, shown),
                withheld[shown].tolist(),
                flags[shown].tolist(),
            )
        )
    adjusted = benjamini_hochberg([comparison["p"] for comparison in comparisons])
    for comparison, p_adjusted in zip(comparisons, adjusted, strict=True):
        comparison["p_adjusted"] = p_adjusted
    # Item and theme codes are distinct namespaces; their suppression is worked out apart.
    theme_rows: list[list[dict[str, Any]]] = []
    for theme, columns, scope_columns in zip(spec.themes, groups.themes, scope.themes, strict=True):
        withheld, flags = _suppress_and_flag(columns, scope_columns, min_n, whole)
        theme_rows.append(
            _theme_rows(
                theme,
                _take(columns, shown),
                withheld[shown].tolist(),
                flags[shown].tolist(),
                min_n,
            )
        )

    # Rows per item (and per theme) become rows per shown group.
    items_of = [list(rows) for rows in zip(*item_rows, strict=True)] or [[] for _ in shown]
    themes_of = [list(rows) for rows in zip(*theme_rows, strict=True)] or [[] for _ in shown]
    rows: list[dict[str, Any]] = []
    position = 0
    for key, label, responses, group_whole in zip(
        keys, labels, groups.responses.tolist(), whole.tolist(), strict=True
    ):
        if group_whole:
            rows.append(
                {
                    "key": key,
                    "label": label,
                    "responses": None,
                    "suppressed": True,
                    "items": [],
                    "themes": [],
                }
            )
            continue
        rows.append(
            {
                "key": key,
                "label": label,
                "responses": responses,
                "suppressed": False,
                "items": items_of[position],
                "themes": themes_of[position],
            }
        )
        position += 1
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
        _check_arguments(spec, text_answers, by, bool(groups), min_n)
        keys = [group.key for group in groups]
        if len(set(keys)) != len(keys):
            raise ValueError("group keys must be unique within a breakdown")
        # Groups are the organisations or options with at least one response in scope.
        ordered = sorted((group for group in groups if group.responses > 0), key=lambda g: g.key)
        return _assemble_summary(
            spec,
            scope,
            _figures_of_aggregates(spec, [total], ["scope"]),
            text_answers,
            by,
            [group.key for group in ordered],
            [group.label for group in ordered],
            _figures_of_aggregates(spec, ordered, [f"group {group.key!r}" for group in ordered]),
            min_n,
        )


def build_summary_from_tables(
    spec: SurveySpec,
    scope: Mapping[str, Any] | None,
    total: CellTables,
    text_answers: Mapping[str, Sequence[str | None]],
    by: str | None,
    groups: GroupTables | None,
    min_n: int,
) -> dict[str, Any]:
    """Return ``build_summary`` of aggregates counted into arrays: ``total`` is the scope, one
    cell; ``groups`` the breakdown's (None without ``by``).

    For ``reports.data``, whose counting makes the per-cell checks of ``build_summary``
    needless: the tables are trusted to be consistent counts (values within each item's
    scale, answers and scores no more than responses). The arguments are still checked as
    ``build_summary`` checks them, and groups are put in key order and those without
    responses left out.
    """
    with _collector_paused():
        _check_arguments(spec, text_answers, by, groups is not None, min_n)
        keys: list[str] = []
        labels: list[str] = []
        figures = _CellFigures(np.zeros(0, dtype=np.int64), (), ())
        if groups is not None:
            if len(set(groups.keys)) != len(groups.keys):
                raise ValueError("group keys must be unique within a breakdown")
            order = sorted(
                (index for index, count in enumerate(groups.cells.responses.tolist()) if count),
                key=lambda index: groups.keys[index],
            )
            keys = [groups.keys[index] for index in order]
            labels = [groups.labels[index] for index in order]
            figures = _figures_of_tables(spec, groups.cells).select(np.array(order, dtype=np.intp))
        return _assemble_summary(
            spec,
            scope,
            _figures_of_tables(spec, total),
            text_answers,
            by,
            keys,
            labels,
            figures,
            min_n,
        )


def _check_arguments(
    spec: SurveySpec,
    text_answers: Mapping[str, Sequence[str | None]],
    by: str | None,
    has_groups: bool,
    min_n: int,
) -> None:
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
    scope: Mapping[str, Any] | None,
    total: _CellFigures,
    text_answers: Mapping[str, Sequence[str | None]],
    by: str | None,
    keys: Sequence[str],
    labels: Sequence[str],
    groups: _CellFigures,
    min_n: int,
) -> dict[str, Any]:
    responses = int(total.responses[0])
    items = [
        _scope_row(_item_rows(item, columns, [int(columns.n[0]) < min_n], [None])[0])
        for item, columns in zip(spec.items, total.items, strict=True)
    ]
    themes = [
        _scope_row(_theme_rows(theme, columns, [int(columns.n[0]) < min_n], [None], min_n)[0])
        for theme, columns in zip(spec.themes, total.themes, strict=True)
    ]
    free_text = [
        summarise_text_question(
            question.code,
            text_answers.get(question.code, ()),
            question.themes,
            responses,
            min_n,
        )
        for question in spec.text_questions
    ]
    group_rows, comparisons = (
        _breakdown(spec, total, keys, labels, groups, min_n) if by is not None else ([], [])
    )
    return {
        "survey": {"slug": spec.slug, "title": spec.title},
        "scope": _scope_json(scope),
        "suppression_min_n": min_n,
        "responses": responses,
        "items": items,
        "themes": themes,
        "free_text": free_text,
        "by": by,
        "groups": group_rows,
        "comparisons": comparisons,
    }
