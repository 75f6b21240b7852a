"""Every item and theme of the cells of a summary worked out, before suppression: the
statistics of ``reports.likert`` and ``reports.themes`` on whole arrays of cells.

The aggregates a caller counted cell by cell are checked against the survey first
(``figures_of_aggregates``); tables counted by ``reports.answer_counts`` are trusted
(``figures_of_tables``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from reports.likert import ItemColumns, item_columns, validate_counts
from reports.summary_inputs import CellAggregates, CellTables, SurveySpec
from reports.themes import ThemeAggregates, ThemeColumns, summarise_themes, theme_columns

#: The figures of one item or of one theme in many cells.
Columns = TypeVar("Columns", ItemColumns, ThemeColumns)


@dataclass(frozen=True, slots=True)
class CellFigures:
    """Every item and theme of several cells summarised, before suppression: one
    ``ItemColumns`` per item and one ``ThemeColumns`` per theme, in the spec's order."""

    responses: np.ndarray
    items: tuple[ItemColumns, ...]
    themes: tuple[ThemeColumns, ...]

    def select(self, cells: np.ndarray) -> CellFigures:
        """Return the figures of ``cells`` only (an index array), in that order; refuses
        nothing."""
        return CellFigures(
            responses=self.responses[cells],
            items=tuple(take(columns, cells) for columns in self.items),
            themes=tuple(take(columns, cells) for columns in self.themes),
        )


def take(columns: Columns, cells: np.ndarray | slice) -> Columns:
    """Return the same columns (an ItemColumns or ThemeColumns) for ``cells`` only (an index
    array or a slice); refuses nothing."""
    return type(columns)(*(getattr(columns, name)[cells] for name in columns.__dataclass_fields__))


def _whole_numbers(values: Sequence[int] | Sequence[Sequence[int]]) -> np.ndarray:
    """Return checked whole numbers as an int64 array, or as Python ints in an object array
    where int64 would overflow; refuses nothing."""
    try:
        return np.array(values, dtype=np.int64)
    except OverflowError:
        return np.array(values, dtype=object)


def figures_of_aggregates(
    spec: SurveySpec, cells: Sequence[CellAggregates], names: Sequence[str]
) -> CellFigures:
    """Return the figures of a caller's aggregates of each cell, checked against the survey.

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
    return CellFigures(
        responses=responses, items=columns_of_items(items, responses), themes=tuple(themes)
    )


def figures_of_tables(spec: SurveySpec, tables: CellTables) -> CellFigures:
    """Return the figures of the cells of ``tables``. Refuses (ValueError) tables without
    exactly one count table per item and one per theme."""
    if len(tables.item_counts) != len(spec.items) or len(tables.themes) != len(spec.themes):
        raise ValueError("the tables need one count table per item and one per theme")
    return CellFigures(
        responses=tables.responses,
        items=columns_of_items(tables.item_counts, tables.responses),
        themes=tuple(theme_columns(table) for table in tables.themes),
    )


def columns_of_items(
    count_tables: Sequence[np.ndarray], responses: np.ndarray
) -> tuple[ItemColumns, ...]:
    """Return ``item_columns`` of each item's cells x K count table, in order.

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
            columns[index] = take(stacked, slice(position * cells, (position + 1) * cells))
    return tuple(columns[index] for index in range(len(count_tables)))
