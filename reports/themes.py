"""Theme scores and their internal consistency, from sufficient statistics.

A theme groups m Likert items. The database hands over, per cell, the sums this module needs
(``ThemeAggregates``) rather than one row per respondent; ``ThemeAggregates.from_matrix`` builds
the same sums from a respondents x items matrix, for tests and small data. ``summarise_theme``
summarises one cell; ``theme_columns`` gives the same figures for many cells at once from a
``ThemeTable`` of their sums, which a breakdown by a thousand practices needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import stats

from reports.likert import (
    QUANTILE_CACHE_SIZE,
    VARIANCE_RELATIVE_TOLERANCE,
    estimate_mean,
    finite_float,
    optional_pair,
    plain_number,
    t_criticals,
    variance_from_sums,
    whole_number,
)

#: The statistics of a theme in the order the summary JSON lists them.
THEME_STATISTICS: tuple[str, ...] = ("n", "mean", "sd", "ci95", "alpha", "alpha_ci95")


def minimum_answered(items: int) -> int:
    """Return how many of a theme's ``items`` a respondent must answer to get a theme score.

    That is ceil(m / 2): half the items, rounded up. Refuses (ValueError) ``items < 1``.
    """
    if items < 1:
        raise ValueError(f"a theme needs at least one item, got {items}")
    return -(-items // 2)


@dataclass(frozen=True, slots=True)
class ThemeAggregates:
    """Sufficient statistics of one theme in one cell (the scope or a group).

    Theme scores (the mean of a respondent's answered items of the theme, for respondents who
    answered at least ceil(m / 2) of the m items) give ``scored``, ``score_sum`` and
    ``score_sum_squares``. Respondents who answered every item ("complete", listwise) give
    ``complete``, per-item ``item_sums`` and ``item_sum_squares`` (in the theme's item order),
    and ``total_sum`` / ``total_sum_squares`` of their per-respondent total over the m items.

    Integer sums (answers are integers) make alpha exact; float score sums should be summed
    accurately (``math.fsum``, SQL ``numeric``): see ``reports.likert.variance_from_sums``.
    Numbers may be numpy or Decimal; they are stored as plain ints and floats. Refuses
    (ValueError) non-numbers, negative or fractional counts, more complete than scored
    respondents, and item sums of different lengths or of length 0.
    """

    scored: int
    score_sum: float
    score_sum_squares: float
    complete: int
    item_sums: tuple[float, ...]
    item_sum_squares: tuple[float, ...]
    total_sum: float
    total_sum_squares: float

    def __post_init__(self) -> None:
        # Plain ints and floats whatever the driver returned (np.int64, Decimal), so the
        # statistics and the JSON never meet a numpy or Decimal number.
        for name in ("scored", "complete"):
            object.__setattr__(self, name, whole_number(getattr(self, name)))
        for name in ("score_sum", "score_sum_squares", "total_sum", "total_sum_squares"):
            object.__setattr__(self, name, plain_number(getattr(self, name)))
        for name in ("item_sums", "item_sum_squares"):
            object.__setattr__(self, name, tuple(plain_number(v) for v in getattr(self, name)))
        if self.scored < 0 or self.complete < 0:
            raise ValueError("respondent counts must be >= 0")
        if self.complete > self.scored:
            raise ValueError("complete respondents all have a theme score: complete <= scored")
        if len(self.item_sums) != len(self.item_sum_squares) or not self.item_sums:
            raise ValueError("item_sums and item_sum_squares need one entry per item (>= 1)")

    @property
    def items(self) -> int:
        """Return m, the number of items of the theme."""
        return len(self.item_sums)

    @classmethod
    def empty(cls, items: int) -> ThemeAggregates:
        """Return the aggregates of a cell with no theme scores for a theme of ``items`` items.

        Refuses (ValueError) ``items < 1``.
        """
        minimum_answered(items)
        return cls(
            scored=0,
            score_sum=0.0,
            score_sum_squares=0.0,
            complete=0,
            item_sums=(0,) * items,
            item_sum_squares=(0,) * items,
            total_sum=0,
            total_sum_squares=0,
        )

    @classmethod
    def from_matrix(cls, matrix: np.ndarray | Sequence[Sequence[float]]) -> ThemeAggregates:
        """Return the aggregates of a respondents x items matrix (``np.nan`` = not answered).

        Applies the theme-score rule (at least ceil(m / 2) items answered) and listwise
        completeness. Sums of scores are correctly rounded (``math.fsum``); item and total sums
        are exact Python ints. Refuses (ValueError) a matrix that is not two-dimensional, has
        no columns, or holds values that are not whole numbers.
        """
        answers = np.asarray(matrix, dtype=float)
        if answers.ndim != 2:
            raise ValueError(f"matrix must be respondents x items, got shape {answers.shape}")
        items = answers.shape[1]
        required = minimum_answered(items)
        answered_mask = ~np.isnan(answers)
        if not np.all(np.isfinite(answers[answered_mask])) or not np.all(
            answers[answered_mask] == np.round(answers[answered_mask])
        ):
            raise ValueError("answers must be whole scale values or nan")
        answered = answered_mask.sum(axis=1)
        row_totals = np.where(answered_mask, answers, 0.0).sum(axis=1)
        has_score = answered >= required
        scores = row_totals[has_score] / answered[has_score]
        complete_rows = answers[answered == items].astype(np.int64)
        totals = complete_rows.sum(axis=1)
        return cls(
            scored=int(has_score.sum()),
            score_sum=math.fsum(scores.tolist()),
            score_sum_squares=math.fsum((scores * scores).tolist()),
            complete=int(complete_rows.shape[0]),
            item_sums=tuple(int(value) for value in complete_rows.sum(axis=0)),
            item_sum_squares=tuple(int(value) for value in (complete_rows**2).sum(axis=0)),
            total_sum=int(totals.sum()),
            total_sum_squares=int((totals**2).sum()),
        )


@dataclass(frozen=True, slots=True)
class ThemeSummary:
    """Every published statistic of one theme in one cell, plus ``complete`` (not published).

    ``complete`` is the number of listwise-complete respondents alpha rests on; the summary
    uses it to suppress alpha computed from fewer than k of them.
    """

    n: int
    mean: float | None
    sd: float | None
    ci95: tuple[float, float] | None
    complete: int
    alpha: float | None
    alpha_ci95: tuple[float, float] | None

    def to_json(self) -> dict[str, Any]:
        """Return the statistics as JSON-ready plain values, keyed and ordered as in THEME."""
        return {
            "n": self.n,
            "mean": self.mean,
            "sd": self.sd,
            "ci95": optional_pair(self.ci95),
            "alpha": self.alpha,
            "alpha_ci95": optional_pair(self.alpha_ci95),
        }


@lru_cache(maxsize=4096)
def _f_upper_quantile(tail: float, df_between: int, df_within: int) -> float:
    return float(stats.f.isf(tail, df_between, df_within))


def cronbach_alpha(aggregates: ThemeAggregates) -> float | None:
    """Return Cronbach's alpha over the complete respondents, or None where it is undefined.

    alpha = m / (m - 1) * (1 - sum of item variances / variance of the total), variances with
    n - 1. None when m < 2, fewer than 3 complete respondents, or the total's variance is 0.
    With integer sums the n(n - 1) denominators cancel and alpha is computed exactly.
    """
    m = aggregates.items
    n = aggregates.complete
    if m < 2 or n < 3:
        return None
    sums = (*aggregates.item_sums, aggregates.total_sum)
    squares = (*aggregates.item_sum_squares, aggregates.total_sum_squares)
    if all(isinstance(value, int) for value in (*sums, *squares)):
        # n^2 (n - 1) times each variance, in exact integers; the common factor cancels.
        item_spread = sum(
            n * sq - s**2
            for s, sq in zip(aggregates.item_sums, aggregates.item_sum_squares, strict=True)
        )
        total_spread = n * aggregates.total_sum_squares - aggregates.total_sum**2
        if total_spread <= 0:
            return None
        # int / int is correctly rounded: alpha is exact up to its final rounding.
        return finite_float(m * (total_spread - item_spread) / ((m - 1) * total_spread))
    item_variances = [
        variance_from_sums(n, s, sq)
        for s, sq in zip(aggregates.item_sums, aggregates.item_sum_squares, strict=True)
    ]
    total_variance = variance_from_sums(n, aggregates.total_sum, aggregates.total_sum_squares)
    if not total_variance:
        return None
    item_total = math.fsum(v for v in item_variances if v is not None)
    return finite_float(m / (m - 1) * (1 - item_total / total_variance))


def feldt_interval(
    alpha: float, respondents: int, items: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Return Feldt's confidence interval for Cronbach's alpha.

    lower = 1 - (1 - alpha) * F.isf(tail, n - 1, (n - 1)(m - 1)) and upper the same with
    F.isf(1 - tail), tail = (1 - confidence) / 2, n = ``respondents`` (complete ones). Refuses
    (ValueError) n < 2, m < 2 and a confidence outside (0, 1).
    """
    if respondents < 2 or items < 2:
        raise ValueError("Feldt's interval needs at least 2 respondents and 2 items")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    tail = (1 - confidence) / 2
    df_between = respondents - 1
    df_within = df_between * (items - 1)
    lower = 1 - (1 - alpha) * _f_upper_quantile(tail, df_between, df_within)
    upper = 1 - (1 - alpha) * _f_upper_quantile(1 - tail, df_between, df_within)
    return (finite_float(lower), finite_float(upper))


def summarise_theme(aggregates: ThemeAggregates, m: int) -> ThemeSummary:
    """Return the summary of one theme of ``m`` items from its aggregates.

    n, mean, sd and ci95 are over respondents' theme scores (as for an item); alpha and its
    Feldt interval over complete respondents (None where ``cronbach_alpha`` is). Refuses
    (ValueError) ``m`` different from the number of items the aggregates carry, which would
    mean the caller mixed up two themes.
    """
    if m != aggregates.items:
        raise ValueError(f"theme has {m} items but its aggregates carry {aggregates.items}")
    estimate = estimate_mean(aggregates.scored, aggregates.score_sum, aggregates.score_sum_squares)
    alpha = cronbach_alpha(aggregates)
    alpha_ci95 = None if alpha is None else feldt_interval(alpha, aggregates.complete, m)
    return ThemeSummary(
        n=estimate.n,
        mean=estimate.mean,
        sd=estimate.sd,
        ci95=estimate.ci95,
        complete=aggregates.complete,
        alpha=alpha,
        alpha_ci95=alpha_ci95,
    )


@dataclass(frozen=True, slots=True)
class ThemeTable:
    """The ``ThemeAggregates`` of one theme in many cells, one array per sum (index: the cell).

    Counts and integer sums are int64 (``item_sums`` and ``item_sum_squares`` are cells x m, in
    the theme's item order); the score sums are float64. That is what answers counted by
    ``reports.answer_counts`` give, and the kind of sums ``theme_columns`` computes with.
    """

    scored: np.ndarray
    score_sum: np.ndarray
    score_sum_squares: np.ndarray
    complete: np.ndarray
    item_sums: np.ndarray
    item_sum_squares: np.ndarray
    total_sum: np.ndarray
    total_sum_squares: np.ndarray

    @property
    def items(self) -> int:
        """Return m, the number of items of the theme."""
        return int(self.item_sums.shape[1])

    @classmethod
    def of(cls, aggregates: Sequence[ThemeAggregates], items: int) -> ThemeTable | None:
        """Return the table of one theme's ``aggregates`` (one per cell, each of ``items``
        items), or None when a sum is not of the table's kind: a score sum given as an integer,
        an item or total sum given as a fraction, or an integer beyond int64.
        """
        if not all(
            type(cell.score_sum) is float
            and type(cell.score_sum_squares) is float
            and type(cell.total_sum) is int
            and type(cell.total_sum_squares) is int
            and all(type(value) is int for value in (*cell.item_sums, *cell.item_sum_squares))
            for cell in aggregates
        ):
            return None
        try:
            return cls(
                scored=np.array([cell.scored for cell in aggregates], dtype=np.int64),
                score_sum=np.array([cell.score_sum for cell in aggregates], dtype=np.float64),
                score_sum_squares=np.array(
                    [cell.score_sum_squares for cell in aggregates], dtype=np.float64
                ),
                complete=np.array([cell.complete for cell in aggregates], dtype=np.int64),
                item_sums=np.array([cell.item_sums for cell in aggregates], dtype=np.int64).reshape(
                    -1, items
                ),
                item_sum_squares=np.array(
                    [cell.item_sum_squares for cell in aggregates], dtype=np.int64
                ).reshape(-1, items),
                total_sum=np.array([cell.total_sum for cell in aggregates], dtype=np.int64),
                total_sum_squares=np.array(
                    [cell.total_sum_squares for cell in aggregates], dtype=np.int64
                ),
            )
        except OverflowError:
            return None


@dataclass(frozen=True, slots=True)
class ThemeColumns:
    """The figures of one theme in many cells, one array per statistic (index: the cell).

    The numbers ``summarise_theme`` gives, before any is made None: ``mean`` is a placeholder
    where ``n == 0``; ``sd``, ``ci_lower`` and ``ci_upper`` are placeholders where ``n < 2``;
    ``alpha``, ``alpha_lower`` and ``alpha_upper`` are NaN where alpha is undefined.
    """

    n: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    complete: np.ndarray
    alpha: np.ndarray
    alpha_lower: np.ndarray
    alpha_upper: np.ndarray


def summarise_themes(aggregates: Sequence[ThemeAggregates], m: int) -> ThemeColumns:
    """Return ``summarise_theme`` of each cell's aggregates of one theme of ``m`` items, as
    columns.

    Sums of the ``ThemeTable`` kind (what the database gives) are done on whole arrays; any
    other kind, cell by cell. Refuses (ValueError) what ``summarise_theme`` refuses.
    """
    for cell in aggregates:
        if cell.items != m:
            raise ValueError(f"theme has {m} items but its aggregates carry {cell.items}")
    table = ThemeTable.of(aggregates, m)
    if table is not None:
        return theme_columns(table)
    summaries = [summarise_theme(cell, m) for cell in aggregates]

    def column(values: list[float | None]) -> np.ndarray:
        return np.array([np.nan if value is None else value for value in values], dtype=float)

    def bound(intervals: list[tuple[float, float] | None], side: int) -> np.ndarray:
        return column([None if interval is None else interval[side] for interval in intervals])

    intervals = [summary.ci95 for summary in summaries]
    alpha_intervals = [summary.alpha_ci95 for summary in summaries]
    return ThemeColumns(
        n=np.array([summary.n for summary in summaries], dtype=np.int64),
        mean=column([summary.mean for summary in summaries]),
        sd=column([summary.sd for summary in summaries]),
        ci_lower=bound(intervals, 0),
        ci_upper=bound(intervals, 1),
        complete=np.array([summary.complete for summary in summaries], dtype=np.int64),
        alpha=column([summary.alpha for summary in summaries]),
        alpha_lower=bound(alpha_intervals, 0),
        alpha_upper=bound(alpha_intervals, 1),
    )


def theme_columns(table: ThemeTable) -> ThemeColumns:
    """Return every figure of one theme in each cell of ``table``, as arrays.

    The same numbers, bit for bit, as ``summarise_theme`` of each cell: the same float
    operations in the same order (the variance's float path with its tolerance, since score
    sums are floats), and alpha from exact integers, its one division rounded once. Refuses
    (ValueError) a variance clearly below zero, as ``variance_from_sums`` does, and
    (ArithmeticError) a non-finite figure.
    """
    n = table.scored
    safe_n = np.maximum(n, 1)
    spread_n = np.maximum(n - 1, 1)
    spread = n >= 2
    mean = table.score_sum / safe_n
    # variance_from_sums for float sums, term for term; cells with n < 2 get placeholders.
    variance = (table.score_sum_squares - table.score_sum * table.score_sum / safe_n) / spread_n
    scale = np.abs(table.score_sum_squares) / spread_n
    zero = np.abs(variance) <= VARIANCE_RELATIVE_TOLERANCE * scale
    if np.any(spread & ~zero & (variance < 0)):
        raise ValueError("sum of squares is smaller than the square of the sum allows")
    sd = np.sqrt(np.where(zero, 0.0, variance))
    half_width = t_criticals(spread_n) * sd / np.sqrt(safe_n.astype(np.float64))
    ci_lower = mean - half_width
    ci_upper = mean + half_width
    alpha = _alphas(table)
    alpha_lower, alpha_upper = _feldt_bounds(alpha, table.complete, table.items)
    figures = (mean[n > 0], sd[spread], ci_lower[spread], ci_upper[spread])
    defined = ~np.isnan(alpha)
    bounds = (alpha[defined], alpha_lower[defined], alpha_upper[defined])
    if not all(np.all(np.isfinite(column)) for column in (*figures, *bounds)):
        raise ArithmeticError("non-finite theme statistic")
    return ThemeColumns(
        n=n,
        mean=mean,
        sd=sd,
        ci_lower=ci_lower,
        ci_upper=ci_upper,
        complete=table.complete,
        alpha=alpha,
        alpha_lower=alpha_lower,
        alpha_upper=alpha_upper,
    )


def _alphas(table: ThemeTable) -> np.ndarray:
    """``cronbach_alpha`` of each cell (NaN where None), from its exact integer sums.

    int64 while every product stays below 2**53, where int64 is exact and numpy's division of
    two such integers rounds once, as Python's int / int does; Python ints beyond that.
    """
    m = table.items
    n = table.complete
    alpha = np.full(n.shape, np.nan)
    if m < 2 or not n.size:
        return alpha
    sums = (table.item_sums, table.item_sum_squares, table.total_sum, table.total_sum_squares)
    largest = max(1, *(int(np.abs(array).max()) for array in sums))
    # Every product below is n x sum or sum x sum, so at most `peak`; the numerator adds up
    # 2 (m + 1) of them, times m.
    peak = max(int(n.max()), largest) * largest
    exact_type: type = np.int64 if 2 * m * (m + 1) * peak < 2**53 else object
    exact: list[np.ndarray] = [array.astype(exact_type) for array in sums]
    item_sums, item_squares, total_sum, total_squares = exact
    respondents: np.ndarray = n.astype(exact_type)
    item_spread = (respondents[:, None] * item_squares - item_sums * item_sums).sum(axis=1)
    total_spread = respondents * total_squares - total_sum * total_sum
    defined = (n >= 3) & (total_spread > 0)
    quotient = (m * (total_spread - item_spread))[defined] / ((m - 1) * total_spread[defined])
    alpha[defined] = quotient.astype(np.float64)
    return alpha


def _feldt_bounds(
    alpha: np.ndarray, respondents: np.ndarray, items: int
) -> tuple[np.ndarray, np.ndarray]:
    """``feldt_interval`` (95%) of each defined alpha; NaN where alpha is NaN."""
    lower = np.full(alpha.shape, np.nan)
    upper = np.full(alpha.shape, np.nan)
    defined = ~np.isnan(alpha)
    if not defined.any():
        return lower, upper
    sizes, position = np.unique(respondents[defined], return_inverse=True)
    quantiles = np.array(_feldt_quantiles(sizes.tolist(), items), dtype=np.float64)[position]
    lower[defined] = 1 - (1 - alpha[defined]) * quantiles[:, 0]
    upper[defined] = 1 - (1 - alpha[defined]) * quantiles[:, 1]
    return lower, upper


#: ``_feldt_quantiles``' memory: the F quantiles of Feldt's 95% interval by (n, m).
_FELDT_QUANTILES: dict[tuple[int, int], tuple[float, float]] = {}


def _feldt_quantiles(sizes: list[int], items: int) -> list[tuple[float, float]]:
    """The two F quantiles ``feldt_interval`` (95%) multiplies by, for n = each of ``sizes``
    complete respondents (n >= 2) and m = ``items``.

    Remembered; those not yet known come from one vectorised scipy call per tail, the same
    numbers as one call each (the same ufunc).
    """
    tail = (1 - 0.95) / 2
    values = [_FELDT_QUANTILES.get((size, items)) for size in sizes]
    unknown = [size for size, value in zip(sizes, values, strict=True) if value is None]
    found: dict[int, tuple[float, float]] = {}
    if unknown:
        df_between = np.array(unknown) - 1
        df_within = df_between * (items - 1)
        lower = np.asarray(stats.f.isf(tail, df_between, df_within)).tolist()
        upper = np.asarray(stats.f.isf(1 - tail, df_between, df_within)).tolist()
        found = dict(zip(unknown, zip(lower, upper, strict=True), strict=True))
        if len(_FELDT_QUANTILES) + len(found) > QUANTILE_CACHE_SIZE:
            _FELDT_QUANTILES.clear()
        _FELDT_QUANTILES.update(((size, items), pair) for size, pair in found.items())
    return [
        found[size] if value is None else value for size, value in zip(sizes, values, strict=True)
    ]
