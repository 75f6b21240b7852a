"""The summary's rows: each item and theme of the scope and of each group as JSON, with
primary and secondary suppression, the groups' flags and the Kruskal-Wallis comparisons.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np

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
from reports.suppression import withheld_groups
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


def scope_item(item: LikertItemSpec, columns: ItemColumns, min_n: int) -> ScopeItem:
    """Return the item's row of the scope (``columns`` of one cell): as a group's, without
    the flag, as the scope is the benchmark. Refuses nothing."""
    row: dict[str, object] = dict(item_rows(item, columns, [int(columns.n[0]) < min_n], [None])[0])
    del row["flag"]
    # A group's row less its flag, which mypy cannot follow through the deletion.
    return cast(ScopeItem, row)


def scope_theme(theme: ThemeSpec, columns: ThemeColumns, min_n: int) -> ScopeTheme:
    """Return the theme's row of the scope (``columns`` of one cell): as a group's, without
    the flag, as the scope is the benchmark. Refuses nothing."""
    withheld = [int(columns.n[0]) < min_n]
    row: dict[str, object] = dict(theme_rows(theme, columns, withheld, [None], min_n)[0])
    del row["flag"]
    # A group's row less its flag, which mypy cannot follow through the deletion.
    return cast(ScopeTheme, row)


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
) -> tuple[list[Group], list[GroupComparison]]:
    """Return the groups and comparisons of one breakdown, suppression and flags applied.

    The groups come in key order, each with at least one response. Refuses nothing: the
    caller gives one key and one label per cell of ``groups``.
    """
    whole = groups.responses < min_n
    # Groups under k responses are listed by name only: no rows to build for them.
    shown = np.flatnonzero(~whole)
    rows_of_items: list[list[GroupItem]] = []
    comparisons: list[GroupComparison] = []
    for item, columns, scope_columns in zip(spec.items, groups.items, scope.items, strict=True):
        withheld, flags = _suppress_and_flag(columns, scope_columns, min_n, whole)
        compared = ~withheld
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
    for theme, theme_columns, scope_theme_columns in zip(
        spec.themes, groups.themes, scope.themes, strict=True
    ):
        withheld, flags = _suppress_and_flag(theme_columns, scope_theme_columns, min_n, whole)
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
