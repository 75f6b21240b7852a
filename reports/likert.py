"""Summaries of one Likert item, computed from its count table.

The database hands the engine ``counts[i]`` = answers with scale value ``i + 1``; nothing here
ever expands those counts back into individual answers, so a cell of a million answers costs
the same as a cell of ten. Sums of answers are integers computed exactly, which makes the mean,
variance, percentages and indicator exact up to their final rounding to float.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import stats

#: The statistics of an item in the order the summary JSON lists them.
ITEM_STATISTICS: tuple[str, ...] = (
    "n",
    "missing",
    "counts",
    "mean",
    "sd",
    "median",
    "ci95",
    "percent_positive",
    "percent_positive_ci95",
    "net_agreement",
    "indicator",
)

# The JSON keys of a count table, "1" .. "K", built once (zip stops at K).
_SCALE_VALUE_KEYS = tuple(str(value) for value in range(1, 1001))

# Float sums (theme scores are means, so their sums are floats) lose digits when the variance
# is found as (sum of squares - square of sum / n): identical scores should give 0 but give a
# few ulps either side, i.e. a tiny nonzero sd or the square root of a negative number. So a
# variance within this fraction of the mean square is taken as exactly 0. The cost is bounded:
# a zeroed variance had an sd below sqrt(1e-9) * (root mean square) <= 3.2e-5 * K, invisible at
# any published precision. The margin covers sums that were not correctly rounded: naive
# summation of n floats errs by at most about n * 1.1e-16 relative, below 1e-9 up to ~10**7
# respondents. See docs/methodology.md.
VARIANCE_RELATIVE_TOLERANCE = 1e-9


def plain_number(value: object) -> int | float:
    """Return a number as a plain Python int or float, the only numbers JSON encoding knows.

    numpy and database drivers hand over ``np.int64``, ``np.float64`` or ``Decimal`` (SQL
    ``numeric`` sums); integers of any kind, and whole Decimals, become ints so that sums stay
    exact. Refuses (ValueError) booleans, non-numbers, NaN and infinities.
    """
    if isinstance(value, bool):
        raise ValueError("a boolean is not a count or a sum")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"non-finite number {value!r}")
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            raise ValueError(f"non-finite number {value!r}")
        return float(value)
    raise ValueError(f"not a number: {value!r}")


def whole_number(value: object) -> int:
    """Return a count as a plain int, accepting whole floats and Decimals as drivers return them.

    Refuses (ValueError) what ``plain_number`` refuses and numbers with a fractional part.
    """
    number = plain_number(value)
    if isinstance(number, float):
        if not number.is_integer():
            raise ValueError(f"a count must be a whole number, got {value!r}")
        return int(number)
    return number


def finite_float(value: float | np.floating[Any] | int) -> float:
    """Return ``value`` as a plain Python float; refuse (ArithmeticError) NaN and infinities.

    JSON has neither NaN nor Infinity, so a non-finite number reaching the output is a bug in
    the engine, and failing loudly beats publishing ``NaN``.
    """
    result = float(value)
    if not math.isfinite(result):
        raise ArithmeticError(f"non-finite statistic {result!r}")
    return result


def optional_pair(pair: tuple[float, float] | None) -> list[float] | None:
    """Return an interval as the JSON list ``[lower, upper]``, or None when undefined.

    The summaries' constructors have already refused non-finite bounds.
    """
    return None if pair is None else [pair[0], pair[1]]


@lru_cache(maxsize=4096)
def t_critical(df: int, confidence: float = 0.95) -> float:
    """Return the two-sided Student t critical value for ``df`` degrees of freedom.

    Cached because a breakdown by practice asks for the same few hundred values thousands of
    times. Refuses (ValueError) ``df < 1`` and a confidence outside (0, 1).
    """
    if df < 1:
        raise ValueError(f"t critical value needs df >= 1, got {df}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    return float(stats.t.isf((1 - confidence) / 2, df))


#: How many quantiles a vectorised cache below keeps before it starts afresh: far more than the
#: distinct cell sizes of any breakdown, and a few megabytes at most.
QUANTILE_CACHE_SIZE = 65_536

#: ``t_criticals``' memory: the 95% t critical value by degrees of freedom.
_T_CRITICAL_95: dict[int, float] = {}


def t_criticals(dfs: np.ndarray) -> np.ndarray:
    """Return ``t_critical`` (95%) of each of an array of degrees of freedom, as floats.

    Values are remembered, and those not yet known come from one vectorised scipy call (the
    same numbers as one call each: it is the same ufunc), so a breakdown by a thousand groups
    costs one call, not hundreds. Refuses (ValueError) ``df < 1``.
    """
    distinct, position = np.unique(dfs, return_inverse=True)
    wanted = distinct.tolist()
    values = [_T_CRITICAL_95.get(df) for df in wanted]
    unknown = [df for df, value in zip(wanted, values, strict=True) if value is None]
    if unknown:
        if min(unknown) < 1:
            raise ValueError(f"t critical value needs df >= 1, got {min(unknown)}")
        quantiles = np.asarray(stats.t.isf((1 - 0.95) / 2, unknown)).tolist()
        found = dict(zip(unknown, quantiles, strict=True))
        if len(_T_CRITICAL_95) + len(found) > QUANTILE_CACHE_SIZE:
            _T_CRITICAL_95.clear()
        _T_CRITICAL_95.update(found)
        values = [found.get(df, value) for df, value in zip(wanted, values, strict=True)]
    return np.array(values, dtype=np.float64)[position]


@lru_cache(maxsize=16)
def _normal_critical(confidence: float) -> float:
    return float(stats.norm.isf((1 - confidence) / 2))


def variance_from_sums(n: int, total: float, sum_squares: float) -> float | None:
    """Return the sample variance (n - 1 denominator) from a count, a sum and a sum of squares.

    Integer sums give the exact variance (rounded once to float). Float sums are guarded
    against cancellation: a result within ``VARIANCE_RELATIVE_TOLERANCE`` of zero relative to
    the mean square is returned as exactly 0.0, so identical scores have sd 0 rather than
    1e-9 or the square root of a negative number. Returns None when ``n < 2``; refuses
    (ValueError) a negative ``n`` or a variance clearly below zero, which no real data has.
    """
    if n < 0:
        raise ValueError(f"count must be >= 0, got {n}")
    if n < 2:
        return None
    if _is_integer(total) and _is_integer(sum_squares):
        numerator = n * int(sum_squares) - int(total) ** 2
        if numerator < 0:
            raise ValueError("sum of squares is smaller than the square of the sum allows")
        return numerator / (n * (n - 1))
    total = float(total)
    sum_squares = float(sum_squares)
    variance = (sum_squares - total * total / n) / (n - 1)
    scale = abs(sum_squares) / (n - 1)
    if abs(variance) <= VARIANCE_RELATIVE_TOLERANCE * scale:
        return 0.0
    if variance < 0:
        raise ValueError("sum of squares is smaller than the square of the sum allows")
    return variance


def _is_integer(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class MeanEstimate:
    """A mean with its spread: ``n`` values, their mean, sd (n - 1) and 95% t interval.

    ``mean`` is None when ``n == 0``; ``sd`` and ``ci95`` are None when ``n < 2``; ``ci95`` is
    ``(mean, mean)`` when the sd is 0.
    """

    n: int
    mean: float | None
    sd: float | None
    ci95: tuple[float, float] | None


def estimate_mean(n: int, total: float, sum_squares: float) -> MeanEstimate:
    """Return the mean, sd and t-based 95% interval of ``n`` values given their sums.

    Refuses (ValueError) what ``variance_from_sums`` refuses.
    """
    variance = variance_from_sums(n, total, sum_squares)
    if n == 0:
        return MeanEstimate(n=0, mean=None, sd=None, ci95=None)
    # int / int is correctly rounded in Python, so integer sums give the exact mean.
    mean = total / n if _is_integer(total) else float(total) / n
    mean = finite_float(mean)
    if variance is None:
        return MeanEstimate(n=n, mean=mean, sd=None, ci95=None)
    sd = finite_float(math.sqrt(variance))
    if sd == 0.0:
        return MeanEstimate(n=n, mean=mean, sd=0.0, ci95=(mean, mean))
    half_width = t_critical(n - 1) * sd / math.sqrt(n)
    return MeanEstimate(
        n=n,
        mean=mean,
        sd=sd,
        ci95=(finite_float(mean - half_width), finite_float(mean + half_width)),
    )


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Return the Wilson score interval for the proportion ``successes / n``, as proportions.

    The bounds are clipped to [0, 1], and are exactly 0 (no successes) and 1 (all successes)
    where the formula gives them mathematically. Refuses (ValueError) ``n < 1``,
    ``successes`` outside ``0..n`` and a confidence outside (0, 1).
    """
    if n < 1:
        raise ValueError(f"Wilson interval needs n >= 1, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie in 0..{n}, got {successes}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    lower, upper = _wilson_bounds(np.array([successes]), np.array([n]), confidence)
    return (float(lower[0]), float(upper[0]))


def _wilson_bounds(
    successes: np.ndarray, n: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson bounds for arrays of successes out of n (every n >= 1), as float arrays."""
    hits = _as_float(successes)
    trials = _as_float(n)
    z = _normal_critical(confidence)
    z2 = z * z
    proportion = hits / trials
    denominator = 1 + z2 / trials
    centre = (proportion + z2 / (2 * trials)) / denominator
    spread = np.sqrt(proportion * (1 - proportion) / trials + z2 / (4 * trials * trials))
    half_width = z * spread / denominator
    # At 0 and n successes the bound is exactly 0 or 1; the formula leaves an ulp of noise.
    lower = np.where(hits == 0, 0.0, np.clip(centre - half_width, 0.0, 1.0))
    upper = np.where(hits == trials, 1.0, np.clip(centre + half_width, 0.0, 1.0))
    return lower, upper


def _as_float(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class ItemSummary:
    """Every published statistic of one Likert item in one cell (scope or group).

    ``counts[i]`` holds the answers with scale value ``i + 1``. All statistics other than
    ``n``, ``missing`` and ``counts`` are None when ``n == 0``; see ``summarise_item``.
    """

    n: int
    missing: int
    counts: tuple[int, ...]
    mean: float | None
    sd: float | None
    median: float | None
    ci95: tuple[float, float] | None
    percent_positive: float | None
    percent_positive_ci95: tuple[float, float] | None
    net_agreement: float | None
    indicator: float | None

    def to_json(self) -> dict[str, Any]:
        """Return the statistics as JSON-ready plain values, keyed and ordered as the spec's ITEM.

        ``counts`` becomes ``{"1": c1, ..., "K": cK}``; intervals become two-element lists.
        """
        return {
            "n": self.n,
            "missing": self.missing,
            "counts": dict(zip(_SCALE_VALUE_KEYS, self.counts, strict=False)),
            "mean": self.mean,
            "sd": self.sd,
            "median": self.median,
            "ci95": optional_pair(self.ci95),
            "percent_positive": self.percent_positive,
            "percent_positive_ci95": optional_pair(self.percent_positive_ci95),
            "net_agreement": self.net_agreement,
            "indicator": self.indicator,
        }


def validate_counts(counts: Sequence[int] | np.ndarray) -> tuple[int, ...]:
    """Return a count table as a tuple of Python ints.

    Accepts any sequence or one-dimensional array of whole numbers (see ``whole_number``).
    Refuses (ValueError) a table that
    is not one-dimensional, has fewer than two scale points, or holds negative, non-integer or
    boolean counts.
    """
    if isinstance(counts, np.ndarray):
        if counts.ndim != 1:
            raise ValueError(f"counts must be one-dimensional, got shape {counts.shape}")
        values: list[object] = counts.tolist()
    else:
        values = list(counts)
    if len(values) < 2:
        raise ValueError(f"a Likert scale needs at least 2 points, got {len(values)}")
    # Plain Python checks: tables have a handful of entries, and numpy's per-call overhead
    # would dominate a breakdown of a thousand groups. Plain ints are the common case.
    plain = [count for count in values if type(count) is int]
    if len(plain) == len(values):
        if min(plain) < 0:
            raise ValueError("counts must be >= 0")
        return tuple(plain)
    table = tuple(whole_number(count) for count in values)
    if min(table) < 0:
        raise ValueError("counts must be >= 0")
    return table


#: While every cell has fewer than this many answers divided by K, every integer the item
#: statistics need (n * sum of squares, the largest) stays below 2**53: int64 arithmetic is
#: exact and each conversion to float is exact, so numpy's divisions round once, as Python's
#: int / int does. Larger cells (tens of millions of answers) use Python ints, exact at any size.
_INT64_EXACT_LIMIT = 2**26


def summarise_item(counts: Sequence[int] | np.ndarray, responses: int) -> ItemSummary:
    """Return the summary of one Likert item from its count table.

    ``counts[i]`` is the number of answers with scale value ``i + 1`` on a scale of
    ``K = len(counts)`` points; ``responses`` is the number of responses in the cell, so
    ``missing = responses - n``. Refuses (ValueError) invalid counts (see ``validate_counts``)
    and ``responses`` smaller than the number of answers.
    """
    return summarise_items([counts], [responses])[0]


def summarise_items(
    tables: Sequence[Sequence[int] | np.ndarray] | np.ndarray, responses: Sequence[int]
) -> list[ItemSummary]:
    """Return ``summarise_item`` of each row of a cells x scale-values count table, in order.

    One item across the groups of a breakdown: the work is done on whole arrays (see
    ``item_columns``). ``responses[g]`` is the responses of cell g. Refuses (ValueError) rows
    of different lengths, a ``responses`` of another length, invalid counts, and responses
    fewer than a row's answers.
    """
    rows = [validate_counts(row) for row in tables]
    if len(rows) != len(responses):
        raise ValueError(f"{len(rows)} count tables but {len(responses)} response counts")
    if not rows:
        return []
    points = len(rows[0])
    if any(len(row) != points for row in rows):
        raise ValueError("every count table of an item needs the same number of points")
    answers = [sum(row) for row in rows]
    for cell_responses, cell_answers in zip(responses, answers, strict=True):
        if cell_responses < cell_answers:
            raise ValueError(
                f"responses ({cell_responses}) cannot be fewer than answers ({cell_answers})"
            )
    integer_type: type = np.int64 if max(answers) * points < _INT64_EXACT_LIMIT else object
    columns = item_columns(
        np.array(rows, dtype=integer_type),
        np.array([int(cell_responses) for cell_responses in responses], dtype=object),
    )
    mean_l, sd_l, lower_l, upper_l, median_l, positive_l, pp_lower, pp_upper, net_l, indicator_l = (
        column.tolist()
        for column in (
            columns.mean,
            columns.sd,
            columns.ci_lower,
            columns.ci_upper,
            columns.median,
            columns.percent_positive,
            columns.positive_lower,
            columns.positive_upper,
            columns.net_agreement,
            columns.indicator,
        )
    )
    summaries = []
    for index, row in enumerate(rows):
        cell_n = answers[index]
        missing = int(responses[index]) - cell_n
        if cell_n == 0:
            summaries.append(ItemSummary(0, missing, row, *(None,) * 8))
            continue
        spread = cell_n >= 2
        summaries.append(
            ItemSummary(
                n=cell_n,
                missing=missing,
                counts=row,
                mean=mean_l[index],
                sd=sd_l[index] if spread else None,
                median=median_l[index],
                ci95=(lower_l[index], upper_l[index]) if spread else None,
                percent_positive=positive_l[index],
                percent_positive_ci95=(pp_lower[index], pp_upper[index]),
                net_agreement=net_l[index],
                indicator=indicator_l[index],
            )
        )
    return summaries


@dataclass(frozen=True, slots=True)
class ItemColumns:
    """The figures of one item in many cells, one array per statistic (index: the cell).

    The numbers ``summarise_items`` publishes, before any is made None: ``mean``, ``median``,
    ``percent_positive`` (with ``positive_lower`` and ``positive_upper``, its Wilson interval in
    percent), ``net_agreement`` and ``indicator`` are placeholders where ``n == 0``; ``sd``,
    ``ci_lower`` and ``ci_upper`` are placeholders where ``n < 2``. ``counts`` is the cells x K
    count table itself.
    """

    n: np.ndarray
    missing: np.ndarray
    counts: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    median: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    percent_positive: np.ndarray
    positive_lower: np.ndarray
    positive_upper: np.ndarray
    net_agreement: np.ndarray
    indicator: np.ndarray


def item_columns(counts: np.ndarray, responses: np.ndarray) -> ItemColumns:
    """Return every figure of one item in each cell of a cells x K count table, as arrays.

    ``responses[g]`` is the responses of cell g. The caller vouches for the input: whole counts
    (int64, or Python ints in an object array), K >= 2, and no cell with more answers than
    responses; ``summarise_items`` checks a caller's tables and comes here. Every figure is
    computed from the counts only; the integer sums are exact and each statistic is rounded
    once, at its final division (see ``_INT64_EXACT_LIMIT``). Refuses (ArithmeticError) a
    non-finite figure, which would be a bug.
    """
    cells, points = counts.shape
    n = counts.sum(axis=1)
    if cells and counts.dtype != object and int(n.max()) * points >= _INT64_EXACT_LIMIT:
        counts = counts.astype(object)
        n = counts.sum(axis=1)
    values = np.arange(1, points + 1).astype(counts.dtype)
    total = counts @ values
    sum_squares = counts @ (values * values)
    positive = counts[:, -1] + counts[:, -2]
    negative = counts[:, 0] + counts[:, 1]
    # Cells without answers (or with one) get placeholder denominators; their figures are
    # never published, and no division by zero is ever attempted.
    safe_n = np.maximum(n, 1)
    mean = _as_float(total / safe_n)
    variance = _as_float((n * sum_squares - total * total) / np.maximum(n * (n - 1), 1))
    sd = np.sqrt(variance)
    half_width = t_criticals(np.maximum(n - 1, 1)) * sd / np.sqrt(_as_float(safe_n))
    ci_lower = mean - half_width
    ci_upper = mean + half_width
    cumulative = np.cumsum(counts, axis=1)
    # numpy's median: the middle answer, or the mean of the two middle answers; the answer at
    # 0-based position i has the first value whose cumulative count exceeds i.
    lower_middle = (cumulative <= ((n - 1) // 2)[:, None]).sum(axis=1) + 1
    upper_middle = (cumulative <= (n // 2)[:, None]).sum(axis=1) + 1
    median = _as_float(lower_middle + upper_middle) / 2
    positive_lower, positive_upper = _wilson_bounds(positive, safe_n, 0.95)
    percent_positive = _as_float((100 * positive) / safe_n)
    net_agreement = _as_float((100 * (positive - negative)) / safe_n)
    indicator = _as_float((100 * (total - n)) / (safe_n * (points - 1)))

    columns = (mean, sd, ci_lower, ci_upper, median, percent_positive, net_agreement, indicator)
    answered = n > 0
    if not all(np.all(np.isfinite(column[answered])) for column in columns):
        raise ArithmeticError("non-finite item statistic")
    return ItemColumns(
        n=n,
        missing=np.asarray(responses) - n,
        counts=counts,
        mean=mean,
        sd=sd,
        median=median,
        ci_lower=ci_lower,
        ci_upper=ci_upper,
        percent_positive=percent_positive,
        positive_lower=100 * positive_lower,
        positive_upper=100 * positive_upper,
        net_agreement=net_agreement,
        indicator=indicator,
    )
