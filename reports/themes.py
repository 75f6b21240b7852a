"""Theme scores and their internal consistency, from sufficient statistics.

A theme groups m Likert items. The database hands over, per cell, the sums this module needs
(``ThemeAggregates``) rather than one row per respondent; ``ThemeAggregates.from_matrix`` builds
the same sums from a respondents x items matrix, for tests and small data.
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
    estimate_mean,
    finite_float,
    optional_pair,
    plain_number,
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
