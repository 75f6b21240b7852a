"""Comparing groups: Kruskal-Wallis from count tables, Benjamini-Hochberg, GMC-style flags."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from reports.likert import finite_float

Flag = Literal["red", "pink", "green", "light-green", "none"]

#: Fewer groups than this are never flagged: quartiles of two or three means say nothing.
MINIMUM_GROUPS_FOR_FLAGS = 4


@dataclass(frozen=True, slots=True)
class KruskalResult:
    """Kruskal-Wallis H (tie-corrected) over the groups of a count table.

    ``groups_compared`` counts the groups with at least one answer and ``answers`` their
    answers (N). ``statistic``, ``p`` and ``effect_size`` (epsilon-squared, H / (N - 1)) are
    None when H is undefined: fewer than two groups with answers, or every answer identical.
    """

    groups_compared: int
    answers: int
    statistic: float | None
    p: float | None
    effect_size: float | None


def kruskal_from_counts(table: Sequence[Sequence[int]] | np.ndarray) -> KruskalResult:
    """Return Kruskal-Wallis H with the tie correction from a groups x scale-values count table.

    ``table[g][v]`` is the number of answers of group g with the v-th scale value (values in
    increasing order). Every answer of a scale value shares the midrank of its tie block, so
    rank sums, H and the tie correction follow from the counts alone, and H equals
    ``scipy.stats.kruskal`` on the expanded answers. Rows without answers are left out (they
    carry no ranks). Refuses (ValueError) a table that is not two-dimensional or holds
    negative or non-integer counts.
    """
    counts = _count_table(table)
    sizes = counts.sum(axis=1)
    counts = counts[sizes > 0]
    sizes = sizes[sizes > 0]
    groups = int(sizes.shape[0])
    answers = int(sizes.sum())
    if groups < 2:
        return KruskalResult(groups, answers, None, None, None)

    value_totals = [int(total) for total in counts.sum(axis=0).tolist()]
    ties = sum(t**3 - t for t in value_totals)
    # N^3 - N - sum(t^3 - t) is the tie correction's numerator; 0 means every answer tied.
    untied = answers**3 - answers - ties
    if untied == 0:
        return KruskalResult(groups, answers, None, None, None)

    # Twice each value's midrank minus twice the mean rank (N + 1) / 2 is an integer, so each
    # group's centred rank sum D_g is an exact integer, and H is a sum of positive terms
    # (no cancellation, unlike 12 / (N (N + 1)) * sum R^2 / n - 3 (N + 1)):
    #   H = 3 (N - 1) * sum_g D_g^2 / n_g / (N^3 - N - sum(t^3 - t)).
    centred_ranks = []
    below = 0
    for total in value_totals:
        centred_ranks.append(2 * below + total - answers)
        below += total
    rank_sums = counts @ np.array(centred_ranks, dtype=counts.dtype)
    # Each D_g^2 / n_g is rounded once: in floats while D_g^2 is below 2**53 (then D_g, its
    # square and n_g are exact floats and the division rounds once, as int / int does), in
    # Python ints beyond.
    if counts.dtype != object and int(np.abs(rank_sums).max()) < _FLOAT_EXACT_ROOT:
        squared = rank_sums.astype(np.float64)
        terms = (squared * squared / sizes).tolist()
    else:
        terms = [
            int(d) ** 2 / int(n) for d, n in zip(rank_sums.tolist(), sizes.tolist(), strict=True)
        ]
    spread = math.fsum(terms)
    statistic = finite_float(3 * (answers - 1) * spread / untied)
    effect_size = finite_float(statistic / (answers - 1))
    p = finite_float(stats.chi2.sf(statistic, groups - 1))
    return KruskalResult(groups, answers, statistic, p, effect_size)


#: Below this many answers in all, every centred rank sum (at most N^2) fits in int64.
_INT64_SAFE_ANSWERS = 2**31
#: Integers below this have squares below 2**53, exact as floats.
_FLOAT_EXACT_ROOT = 94_906_265


def _count_table(table: Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
    """The table as a 2-D integer array: int64, or Python ints when int64 could overflow."""
    array = np.asarray(table)
    if array.ndim != 2:
        raise ValueError(f"count table must be groups x scale values, got shape {array.shape}")
    whole_floats = array.dtype.kind == "f" and bool(np.all(array == np.round(array)))
    if whole_floats or array.size == 0:
        array = array.astype(np.int64)
    elif array.dtype.kind not in "iu":
        raise ValueError("counts must be integers")
    if np.any(array < 0):
        raise ValueError("counts must be >= 0")
    # The int64 sum cannot overflow while the largest count times their number does not.
    largest = int(array.max(initial=0))
    exact_sum = array.sum() if largest * array.size < 2**63 else array.sum(dtype=object)
    if int(exact_sum) >= _INT64_SAFE_ANSWERS:
        return array.astype(object)
    return array.astype(np.int64)


def benjamini_hochberg(pvalues: Sequence[float | None]) -> list[float | None]:
    """Return Benjamini-Hochberg adjusted p-values, in the order given.

    None entries (undefined tests) stay None and take no part in the adjustment. Uses
    ``scipy.stats.false_discovery_control``. Refuses (ValueError) p-values outside [0, 1].
    """
    defined = [index for index, p in enumerate(pvalues) if p is not None]
    adjusted: list[float | None] = [None] * len(pvalues)
    if not defined:
        return adjusted
    values = np.array([pvalues[index] for index in defined], dtype=float)
    if np.any(~np.isfinite(values)) or np.any((values < 0) | (values > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    for index, value in zip(defined, stats.false_discovery_control(values), strict=True):
        adjusted[index] = finite_float(value)
    return adjusted


@dataclass(frozen=True, slots=True)
class GroupEstimate:
    """A group's mean and 95% interval for one item or theme, as the flags need them."""

    mean: float | None
    ci95: tuple[float, float] | Sequence[float] | None


def outlier_flags(groups: Mapping[str, GroupEstimate], benchmark: float | None) -> dict[str, Flag]:
    """Return the GMC-style flag of every group for one item or theme.

    ``groups`` are the groups not suppressed for it; ``benchmark`` is the scope's mean (None
    when the scope's figure is not published). Q1 and Q3 are numpy's default-interpolation
    25th and 75th percentiles of the group means. A group at or below Q1 is ``red`` when its
    interval lies wholly below the benchmark, else ``pink``; otherwise one at or above Q3 is
    ``green`` when its interval lies wholly above, else ``light-green``; anything else is
    ``none``. Every group is ``none`` when fewer than four groups have a mean. The low flags
    are tested first, so when Q1 == Q3 a group on it is red or pink. A group without an
    interval (or a missing benchmark) cannot meet the strict conditions, so it is at most pink
    or light-green; a group without a mean is ``none`` and not counted.
    """
    keys = list(groups)

    def column(values: list[float | None]) -> np.ndarray:
        return np.array([np.nan if value is None else value for value in values], dtype=float)

    intervals = [groups[key].ci95 for key in keys]
    flags = flag_groups(
        column([groups[key].mean for key in keys]),
        column([None if interval is None else interval[0] for interval in intervals]),
        column([None if interval is None else interval[1] for interval in intervals]),
        benchmark,
    )
    return dict(zip(keys, flags, strict=True))


def flag_groups(
    means: np.ndarray, lower: np.ndarray, upper: np.ndarray, benchmark: float | None
) -> list[Flag]:
    """Return ``outlier_flags`` for groups given as arrays, in their order.

    ``means[g]`` is NaN for a group without a mean; ``lower[g]`` and ``upper[g]`` bound its
    95% interval, NaN without one. The quartiles are those of the defined means, taken in the
    order given.
    """
    flags = np.full(means.shape, "none", dtype=object)
    has_mean = ~np.isnan(means)
    if int(has_mean.sum()) < MINIMUM_GROUPS_FOR_FLAGS:
        return flags.tolist()
    lower_quartile, upper_quartile = np.percentile(means[has_mean], [25, 75]).tolist()
    # NaN compares false, so a group without an interval, or a missing benchmark, can never
    # meet the strict conditions: such a group is at most pink or light-green.
    reference = np.nan if benchmark is None else benchmark
    low = has_mean & (means <= lower_quartile)
    high = has_mean & ~low & (means >= upper_quartile)
    flags[low] = np.where(upper[low] < reference, "red", "pink")
    flags[high] = np.where(lower[high] > reference, "green", "light-green")
    return flags.tolist()
