"""Comparing a survey's wave with the previous one, statement by statement.

A survey runs in waves (one per period, such as each rotation). For every Likert statement the
comparison gives each wave's n, mean and percent positive (the definitions of ``reports.likert``),
the changes in both, a Mann-Whitney U test of the current wave's answers against the previous
wave's with its rank-biserial effect size, and the p-values adjusted by Benjamini-Hochberg across
the statements compared. Everything is worked out from the two waves' count tables for the whole
scope, as ``reports.summary`` takes them: nothing is expanded into individual answers, and all
statements are done at once with arrays. The result is plain JSON-ready dicts
(``json.dumps(..., allow_nan=False)`` safe), in the survey's question order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
from scipy import special

from reports.comparisons import benjamini_hochberg
from reports.likert import item_columns, validate_counts
from reports.summary_inputs import LikertItemSpec
from reports.summary_types import ItemChange, WaveFigures
from reports.suppression import check_min_n

#: Per item code, a wave's count table for the scope (index i = answers with scale value
#: i + 1, length K); an item absent from the mapping had no answers in that wave.
WaveCounts = Mapping[str, np.ndarray | Sequence[int]]

#: The test named in every row of a wave comparison.
WAVE_TEST: Final = "mann-whitney"

#: While a statement's answers in both waves together number fewer than this, every integer of
#: its Mann-Whitney test (N^3 the largest) fits in int64; beyond, Python ints keep them exact.
_INT64_SAFE_ANSWERS = 2**20


def compare_waves(
    items: Sequence[LikertItemSpec],
    previous_counts: WaveCounts,
    current_counts: WaveCounts,
    min_n: int,
    withheld: Sequence[bool] | None = None,
) -> list[ItemChange]:
    """Return the comparison of the current wave with the previous one, one row per item.

    ``items`` are the Likert items in question order; ``previous_counts`` and
    ``current_counts`` the two waves' count tables for the whole scope (see ``WaveCounts``).
    Each row is ``{"item", "text", "theme", "previous": {"n", "mean", "percent_positive"},
    "current": {...}, "change_mean", "change_percent_positive", "test": "mann-whitney",
    "statistic", "p", "p_adjusted", "effect_size", "suppressed"}``, where the changes are
    current minus previous, ``statistic`` is U of the current wave (midranks, tie correction,
    continuity correction, two-sided normal approximation: ``scipy.stats.mannwhitneyu(current,
    previous, method="asymptotic")``), ``effect_size`` the rank-biserial r = 2U / (n1 n2) - 1
    (positive when the current wave rates higher) and ``p_adjusted`` Benjamini-Hochberg across
    the rows with a ``p``.

    An item with fewer than ``min_n`` answers in either wave, or withheld in either wave's
    scope as ``withheld`` says (one per item: the caller's disclosure decision of each wave
    over the whole hierarchy), is ``"suppressed": true`` with every number None, the waves' n
    included, and takes no part in the adjustment. When every
    answer of both waves is the same value the test is undefined: ``p`` and ``p_adjusted``
    are None (scipy reports 1.0 there), while U = n1 n2 / 2 and r = 0 stand.

    Refuses (ValueError) ``min_n < 1``, duplicate item codes, counts for codes not among
    ``items``, invalid count tables (``validate_counts``) and tables whose length is not the
    item's K.
    """
    check_min_n(min_n)
    codes = [item.code for item in items]
    if len(set(codes)) != len(codes):
        raise ValueError("duplicate item codes in a wave comparison")
    previous = _count_rows(items, previous_counts, "the previous wave")
    current = _count_rows(items, current_counts, "the current wave")
    previous_n = [sum(row) for row in previous]
    current_n = [sum(row) for row in current]
    hidden = [False] * len(items) if withheld is None else list(withheld)
    if len(hidden) != len(items):
        raise ValueError("withheld needs one entry per item")
    compared = [
        index
        for index in range(len(items))
        if previous_n[index] >= min_n and current_n[index] >= min_n and not hidden[index]
    ]

    previous_mean, previous_positive, current_mean, current_positive = _wave_figures(
        items, previous, current, compared
    )
    statistic, p, effect_size = _mann_whitney(
        _padded_table([previous[index] for index in compared]),
        _padded_table([current[index] for index in compared]),
    )
    # NaN marks an undefined test; NaN is the only float not equal to itself.
    p_values = [value if value == value else None for value in p.tolist()]
    adjusted = benjamini_hochberg(p_values)

    rows = [_withheld_row(item) for item in items]
    for (
        index,
        mean_before,
        positive_before,
        mean_now,
        positive_now,
        u,
        p_value,
        p_adjusted,
        r,
    ) in zip(
        compared,
        previous_mean.tolist(),
        previous_positive.tolist(),
        current_mean.tolist(),
        current_positive.tolist(),
        statistic.tolist(),
        p_values,
        adjusted,
        effect_size.tolist(),
        strict=True,
    ):
        item = items[index]
        row: ItemChange = {
            "item": item.code,
            "text": item.text,
            "theme": item.theme,
            "previous": {
                "n": previous_n[index],
                "mean": mean_before,
                "percent_positive": positive_before,
            },
            "current": {
                "n": current_n[index],
                "mean": mean_now,
                "percent_positive": positive_now,
            },
            "change_mean": mean_now - mean_before,
            "change_percent_positive": positive_now - positive_before,
            "test": WAVE_TEST,
            "statistic": u,
            "p": p_value,
            "p_adjusted": p_adjusted,
            "effect_size": r,
            "suppressed": False,
        }
        rows[index] = row
    return rows


def _count_rows(
    items: Sequence[LikertItemSpec], counts: WaveCounts, wave: str
) -> list[tuple[int, ...]]:
    """Each item's checked count table in one wave (zeros where the wave has none)."""
    unknown = set(counts) - {item.code for item in items}
    if unknown:
        raise ValueError(f"{wave}: counts for codes not among the items: {sorted(unknown)}")
    rows = []
    for item in items:
        row = validate_counts(counts.get(item.code, (0,) * item.points))
        if len(row) != item.points:
            raise ValueError(
                f"{wave}: item {item.code!r} has {item.points} points, its counts give {len(row)}"
            )
        rows.append(row)
    return rows


def _withheld_row(item: LikertItemSpec) -> ItemChange:
    hidden: WaveFigures = {"n": None, "mean": None, "percent_positive": None}
    return {
        "item": item.code,
        "text": item.text,
        "theme": item.theme,
        "previous": hidden,
        "current": hidden.copy(),
        "change_mean": None,
        "change_percent_positive": None,
        "test": WAVE_TEST,
        "statistic": None,
        "p": None,
        "p_adjusted": None,
        "effect_size": None,
        "suppressed": True,
    }


def _wave_figures(
    items: Sequence[LikertItemSpec],
    previous: Sequence[tuple[int, ...]],
    current: Sequence[tuple[int, ...]],
    compared: Sequence[int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The previous wave's mean and percent positive, then the current wave's, of each
    compared item (in the order of ``compared``), by ``item_columns``: the same numbers the
    summary publishes for each wave.

    The items with the same K go through ``item_columns`` together, both waves as two cells.
    """
    figures = np.zeros((4, len(compared)), dtype=np.float64)
    by_points: dict[int, list[int]] = {}
    for position, index in enumerate(compared):
        by_points.setdefault(items[index].points, []).append(position)
    for positions in by_points.values():
        rows = [previous[compared[position]] for position in positions]
        rows += [current[compared[position]] for position in positions]
        table = _whole_table(rows)
        columns = item_columns(table, table.sum(axis=1))
        size = len(positions)
        figures[0, positions] = columns.mean[:size]
        figures[1, positions] = columns.percent_positive[:size]
        figures[2, positions] = columns.mean[size:]
        figures[3, positions] = columns.percent_positive[size:]
    return figures[0], figures[1], figures[2], figures[3]


def _whole_table(rows: Sequence[Sequence[int]]) -> np.ndarray:
    """Count rows of one length as int64, or as Python ints where int64 would overflow."""
    try:
        return np.array(rows, dtype=np.int64)
    except OverflowError:
        return np.array(rows, dtype=object)


def _padded_table(rows: Sequence[tuple[int, ...]]) -> np.ndarray:
    """Count rows of any lengths as one items x values table, shorter rows padded with zeros.

    A scale value nobody gave holds no ranks and no ties, so padding changes no rank
    statistic. int64 while the rows' answers allow it (``_INT64_SAFE_ANSWERS``, counting both
    waves), Python ints beyond.
    """
    width = max((len(row) for row in rows), default=2)
    padded = [row + (0,) * (width - len(row)) for row in rows]
    # Each wave under half the limit keeps both waves together under it.
    if max((sum(row) for row in rows), default=0) < _INT64_SAFE_ANSWERS // 2:
        return np.array(padded, dtype=np.int64).reshape(len(rows), width)
    return np.array(padded, dtype=object).reshape(len(rows), width)


def _mann_whitney(
    previous: np.ndarray, current: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return U of the current wave, the two-sided p (NaN where undefined) and the
    rank-biserial r, for each row of two items x values count tables with answers in both.

    Every answer of one value shares the midrank of its tie block, so U, the tie term and
    therefore the test follow from the counts alone, equal to ``scipy.stats.mannwhitneyu``
    with ``method="asymptotic"`` on the expanded answers.
    """
    if previous.dtype == object or current.dtype == object:
        previous, current = previous.astype(object), current.astype(object)
    n_previous = previous.sum(axis=1)
    n_current = current.sum(axis=1)
    answers = n_previous + n_current
    pairs = n_previous * n_current
    # U counts the (current, previous) pairs the current answer wins, a tie counting half: a
    # current answer of value v wins against the previous answers below v and ties with those
    # at v. Twice U is thus an exact integer.
    previous_below = np.cumsum(previous, axis=1) - previous
    twice_u = (current * (2 * previous_below + previous)).sum(axis=1)
    # sigma^2 = n1 n2 / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1)))
    #         = n1 n2 * (N^3 - N - sum(t^3 - t)) / (12 N (N - 1)), t the tie blocks;
    # the bracket, an exact integer, is 0 only when every answer is the same value.
    tied = previous + current
    untied = answers**3 - answers - (tied**3 - tied).sum(axis=1)
    defined = (untied > 0).astype(bool)
    sigma = np.sqrt(
        _as_float(pairs)
        * _as_float(np.where(defined, untied, 1))
        / (12 * _as_float(answers) * _as_float(answers - 1))
    )
    # scipy's two-sided test takes the larger of U and n1 n2 - U, less its mean n1 n2 / 2 and
    # the continuity correction 1/2; doubled, that is |2U - n1 n2| - 1, an exact integer.
    excess = _as_float(np.abs(twice_u - pairs) - 1) / 2
    p = np.where(defined, np.clip(2 * special.ndtr(-excess / sigma), 0.0, 1.0), np.nan)
    statistic = _as_float(twice_u) / 2
    effect_size = _as_float(twice_u - pairs) / _as_float(pairs)
    finite = (statistic, effect_size, p[defined])
    if not all(np.all(np.isfinite(column)) for column in finite):
        raise ArithmeticError("non-finite wave comparison statistic")
    return statistic, p, effect_size


def _as_float(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype(np.float64)
