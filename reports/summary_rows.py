"""The summary's rows: each item and theme of the scope and of each group as JSON, with
primary and secondary suppression, the groups' flags and the Kruskal-Wallis comparisons.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np

from reports.cell_states import CellStates
from reports.comparisons import Flag, benjamini_hochberg, flag_groups, kruskal_from_counts
from reports.likert import ItemColumns
from reports.summary_figures import CellFigures, take
from reports.summary_inputs import LikertItemSpec, SurveySpec, ThemeSpec
from reports.summary_types import (
    Group,
    GroupComparison,
    GroupItem,
    GroupTheme,
    ScopeItem,
    ScopeTheme,
)
from reports.themes import ThemeColumns


def _scale_keys(points: int) -> tuple[str, ...]:
    return tuple(str(value) for value in range(1, points + 1))


def item_rows(
    item: LikertItemSpec,
    columns: ItemColumns,
    withheld: Sequence[bool],
    flags: Sequence[Flag | None],
) -> list[GroupItem]:
    """Return the item's JSON row (ITEM of the spec, then the group's flag) in each cell of
    ``columns``; a withheld cell's figures and flag are None. Refuses nothing: the caller
    gives one ``withheld`` and one flag per cell."""
    code, text, theme = item.code, item.text, item.theme
    hidden: GroupItem = {
        "code": code,
        "text": text,
        "theme": theme,
        "n": None,
        "missing": None,
        "counts": None,
        "mean": None,
        "sd": None,
        "median": None,
        "ci95": None,
        "percent_positive": None,
        "percent_positive_ci95": None,
        "net_agreement": None,
        "indicator": None,
        "suppressed": True,
        "flag": None,
    }
    scale = _scale_keys(item.points)
    rows: list[GroupItem] = []
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
        if n == 0:
            # No answers: published as such, with zero counts and no statistics.
            rows.append(
                {
                    **hidden,
                    "n": 0,
                    "missing": missing,
                    "counts": dict.fromkeys(scale, 0),
                    "suppressed": False,
                    "flag": "none",
                }
            )
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


def theme_rows(
    theme: ThemeSpec,
    columns: ThemeColumns,
    withheld: Sequence[bool],
    flags: Sequence[Flag | None],
    min_n: int,
) -> list[GroupTheme]:
    """Return the theme's JSON row (THEME of the spec, then the group's flag) in each cell of
    ``columns``; a withheld cell's figures and flag are None. Refuses nothing: the caller
    gives one ``withheld`` and one flag per cell."""
    code, title = theme.code, theme.title
    hidden: GroupTheme = {
        "code": code,
        "title": title,
        "n": None,
        "mean": None,
        "sd": None,
        "ci95": None,
        "alpha": None,
        "alpha_ci95": None,
        "suppressed": True,
        "flag": None,
    }
    rows: list[GroupTheme] = []
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
        if n == 0:
            rows.append({**hidden, "n": 0, "suppressed": False, "flag": "none"})
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


def scope_item(item: LikertItemSpec, columns: ItemColumns, withheld: bool) -> ScopeItem:
    """Return the item's row of the scope (``columns`` of one cell, ``withheld`` or not): as a
    group's, without the flag, as the scope is the benchmark. Refuses nothing."""
    row: dict[str, object] = dict(item_rows(item, columns, [withheld], [None])[0])
    del row["flag"]
    # A group's row less its flag, which mypy cannot follow through the deletion.
    return cast(ScopeItem, row)


def scope_theme(theme: ThemeSpec, columns: ThemeColumns, withheld: bool, min_n: int) -> ScopeTheme:
    """Return the theme's row of the scope (``columns`` of one cell, ``withheld`` or not): as a
    group's, without the flag, as the scope is the benchmark. Refuses nothing."""
    row: dict[str, object] = dict(theme_rows(theme, columns, [withheld], [None], min_n)[0])
    del row["flag"]
    # A group's row less its flag, which mypy cannot follow through the deletion.
    return cast(ScopeTheme, row)


def _flags(
    columns: ItemColumns | ThemeColumns,
    scope: ItemColumns | ThemeColumns,
    withheld: np.ndarray,
    scope_published: bool,
) -> np.ndarray:
    """For one item or theme across the groups (in key order), withheld as ``withheld`` says:
    each group's flag against the scope's mean (an object array, None where withheld)."""
    # Groups of no answers are published as such but have no mean to flag ("none").
    published = ~withheld & (columns.n > 0)
    # A flagged group has n >= k >= 1, so a mean; an interval needs n >= 2.
    spread = columns.n[published] >= 2
    flags = np.full(len(withheld), None, dtype=object)
    flags[published] = flag_groups(
        columns.mean[published],
        np.where(spread, columns.ci_lower[published], np.nan),
        np.where(spread, columns.ci_upper[published], np.nan),
        float(scope.mean[0]) if scope_published else None,
    )
    return flags


def _comparison(code: str, counts: np.ndarray) -> GroupComparison:
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


def breakdown(
    spec: SurveySpec,
    scope: CellFigures,
    keys: Sequence[str],
    labels: Sequence[str],
    groups: CellFigures,
    min_n: int,
    states: CellStates,
) -> tuple[list[Group], list[GroupComparison]]:
    """Return the groups and comparisons of one breakdown, with the cells withheld that
    ``states`` says (row 0 the scope, then the groups in this order) and flags.

    The groups come in key order, each with at least one response. Refuses nothing: the
    caller gives one key and one label per cell of ``groups``.
    """
    # A group under k responses is listed by name only: no rows to build for it.
    whole = groups.responses < min_n
    hidden_responses = states.responses[1:]
    shown = np.flatnonzero(~whole)
    rows_of_items: list[list[GroupItem]] = []
    comparisons: list[GroupComparison] = []
    for index, (item, columns, scope_columns) in enumerate(
        zip(spec.items, groups.items, scope.items, strict=True)
    ):
        withheld = states.items[1:, index] | whole
        flags = _flags(columns, scope_columns, withheld, not states.items[0, index])
        compared = ~withheld & (columns.n > 0)
        if int(compared.sum()) >= 2:
            comparisons.append(_comparison(item.code, columns.counts[compared]))
        rows_of_items.append(
            item_rows(
                item,
                take(columns, shown),
                withheld[shown].tolist(),
                flags[shown].tolist(),
            )
        )
    adjusted = benjamini_hochberg([comparison["p"] for comparison in comparisons])
    for comparison, p_adjusted in zip(comparisons, adjusted, strict=True):
        comparison["p_adjusted"] = p_adjusted
    # Item and theme codes are distinct namespaces; their suppression is worked out apart.
    rows_of_themes: list[list[GroupTheme]] = []
    for index, (theme, theme_columns, scope_theme_columns) in enumerate(
        zip(spec.themes, groups.themes, scope.themes, strict=True)
    ):
        withheld = states.themes[1:, index] | whole
        flags = _flags(theme_columns, scope_theme_columns, withheld, not states.themes[0, index])
        rows_of_themes.append(
            theme_rows(
                theme,
                take(theme_columns, shown),
                withheld[shown].tolist(),
                flags[shown].tolist(),
                min_n,
            )
        )

    # Rows per item (and per theme) become rows per shown group.
    items_of = [list(rows) for rows in zip(*rows_of_items, strict=True)] or [[] for _ in shown]
    themes_of = [list(rows) for rows in zip(*rows_of_themes, strict=True)] or [[] for _ in shown]
    rows: list[Group] = []
    position = 0
    for key, label, responses, group_whole, responses_withheld in zip(
        keys,
        labels,
        groups.responses.tolist(),
        whole.tolist(),
        hidden_responses.tolist(),
        strict=True,
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
                "responses": None if responses_withheld else responses,
                "suppressed": False,
                "items": items_of[position],
                "themes": themes_of[position],
            }
        )
        position += 1
    return rows, comparisons
