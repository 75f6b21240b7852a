"""Kruskal-Wallis from count tables, Benjamini-Hochberg and outlier flags, checked against
scipy on the expanded answers and against hand-built cases."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from reports.comparisons import (
    GroupEstimate,
    benjamini_hochberg,
    kruskal_from_counts,
    outlier_flags,
)


def count_table(groups: list[list[int]], points: int) -> np.ndarray:
    """Tabulate raw answers (values 1..points) into a groups x values count table."""
    return np.array([np.bincount(group, minlength=points + 1)[1:] for group in groups])


def expand(row: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(1, len(row) + 1), row)


def test_scipy_docstring_examples() -> None:
    result = kruskal_from_counts(count_table([[1, 3, 5, 7, 9], [2, 4, 6, 8, 10]], 10))
    assert result.statistic == pytest.approx(0.2727272727272734, rel=1e-12)
    assert result.p == pytest.approx(0.6015081344405895, rel=1e-12)
    tied = kruskal_from_counts(count_table([[1, 1, 1], [2, 2, 2], [2, 2]], 2))
    assert tied.statistic == pytest.approx(7.0, rel=1e-12)
    assert tied.p == pytest.approx(0.0301973834223185, rel=1e-12)
    assert tied.effect_size == pytest.approx(7.0 / 7, rel=1e-12)
    assert (tied.groups_compared, tied.answers) == (3, 8)


def test_random_tables_match_scipy_on_expanded_answers() -> None:
    rng = np.random.default_rng(11)
    for _ in range(150):
        groups = int(rng.integers(2, 9))
        points = int(rng.choice([3, 5, 7]))
        table = rng.integers(0, 25, size=(groups, points))
        table[rng.random(table.shape) < 0.25] = 0
        samples = [expand(row) for row in table if row.sum() > 0]
        result = kruskal_from_counts(table)
        assert result.groups_compared == len(samples)
        everything = np.concatenate(samples) if samples else np.array([])
        if len(samples) < 2 or np.all(everything == everything[0]):
            assert result.statistic is None and result.p is None
            continue
        expected = stats.kruskal(*samples)
        assert result.statistic == pytest.approx(expected.statistic, rel=1e-9)
        assert result.p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
        assert result.effect_size == pytest.approx(
            expected.statistic / (everything.size - 1), rel=1e-9
        )


def test_large_groups_match_scipy() -> None:
    table = np.array(
        [[20_000, 31_000, 9_000, 40_000, 15_000], [18_000, 35_000, 12_000, 38_000, 9_000]]
    )
    expected = stats.kruskal(*(expand(row) for row in table))
    result = kruskal_from_counts(table)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert result.p == pytest.approx(expected.pvalue, rel=1e-7)


def test_undefined_statistic_gives_none() -> None:
    identical = kruskal_from_counts([[0, 4, 0], [0, 7, 0]])
    assert (identical.statistic, identical.p, identical.effect_size) == (None, None, None)
    one_group = kruskal_from_counts([[1, 2, 3], [0, 0, 0]])
    assert one_group.groups_compared == 1 and one_group.statistic is None
    assert kruskal_from_counts(np.zeros((0, 5), dtype=int)).statistic is None


def test_refuses_invalid_tables() -> None:
    with pytest.raises(ValueError):
        kruskal_from_counts([1, 2, 3])
    with pytest.raises(ValueError):
        kruskal_from_counts([[1, -2], [3, 4]])
    with pytest.raises(ValueError):
        kruskal_from_counts([[1.5, 2.0], [3.0, 4.0]])


def test_benjamini_hochberg_matches_scipy_and_skips_none() -> None:
    rng = np.random.default_rng(5)
    pvalues = rng.random(12) ** 3
    with_gaps: list[float | None] = [float(p) for p in pvalues]
    with_gaps[2] = None
    with_gaps[9] = None
    defined = np.array([p for p in with_gaps if p is not None])
    expected = iter(stats.false_discovery_control(defined))
    adjusted = benjamini_hochberg(with_gaps)
    for original, value in zip(with_gaps, adjusted, strict=True):
        if original is None:
            assert value is None
        else:
            assert value == pytest.approx(next(expected), rel=1e-15)
            assert isinstance(value, float)
    assert benjamini_hochberg([]) == []
    assert benjamini_hochberg([None, None]) == [None, None]
    with pytest.raises(ValueError):
        benjamini_hochberg([0.5, 1.5])


def estimates(means_and_intervals: dict[str, tuple[float, tuple[float, float] | None]]) -> dict:
    return {key: GroupEstimate(mean, ci) for key, (mean, ci) in means_and_intervals.items()}


def test_each_flag_from_constructed_groups() -> None:
    groups = estimates(
        {
            "A": (1.0, (0.8, 1.2)),  # lowest, interval wholly below 3: red
            "B": (2.0, (1.0, 3.5)),  # at Q1, interval reaches 3: pink
            "C": (3.0, (2.9, 3.1)),  # between the quartiles: none
            "D": (4.0, (2.5, 5.0)),  # at Q3, interval reaches below 3: light-green
            "E": (5.0, (4.5, 5.5)),  # highest, interval wholly above 3: green
        }
    )
    means = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert (np.percentile(means, 25), np.percentile(means, 75)) == (2.0, 4.0)
    assert outlier_flags(groups, benchmark=3.0) == {
        "A": "red",
        "B": "pink",
        "C": "none",
        "D": "light-green",
        "E": "green",
    }


def test_quartiles_use_numpys_linear_interpolation() -> None:
    # Four means: Q1 = 1.75 and Q3 = 3.25 by linear interpolation, so 2 is not at/below Q1.
    groups = estimates({key: (mean, None) for key, mean in zip("ABCD", [1, 2, 3, 4], strict=True)})
    assert (np.percentile([1, 2, 3, 4], 25), np.percentile([1, 2, 3, 4], 75)) == (1.75, 3.25)
    assert outlier_flags(groups, benchmark=2.5) == {
        "A": "pink",
        "B": "none",
        "C": "none",
        "D": "light-green",
    }


def test_strict_conditions_need_an_interval_and_a_benchmark() -> None:
    groups = estimates(
        {"A": (1.0, None), "B": (2.5, (2.4, 2.6)), "C": (2.6, (2.5, 2.7)), "E": (5.0, None)}
    )
    assert outlier_flags(groups, benchmark=3.0) == {
        "A": "pink",
        "B": "none",
        "C": "none",
        "E": "light-green",
    }
    with_intervals = estimates(
        {"A": (1.0, (0.9, 1.1)), "B": (2.5, None), "C": (2.6, None), "E": (5.0, (4.9, 5.1))}
    )
    assert outlier_flags(with_intervals, benchmark=None) == {
        "A": "pink",
        "B": "none",
        "C": "none",
        "E": "light-green",
    }


def test_an_interval_touching_the_benchmark_is_not_strictly_beyond_it() -> None:
    groups = estimates(
        {"A": (1.0, (0.5, 3.0)), "B": (2.0, None), "C": (4.0, None), "D": (5.0, (3.0, 6.0))}
    )
    flags = outlier_flags(groups, benchmark=3.0)
    assert (flags["A"], flags["D"]) == ("pink", "light-green")


@pytest.mark.parametrize("count", [0, 1, 2, 3])
def test_fewer_than_four_groups_are_never_flagged(count: int) -> None:
    groups = estimates(
        {f"G{i}": (float(i * 10), (i * 10 - 0.1, i * 10 + 0.1)) for i in range(count)}
    )
    assert outlier_flags(groups, benchmark=15.0) == {key: "none" for key in groups}


def test_groups_without_a_mean_are_not_counted() -> None:
    groups = estimates({"A": (1.0, (0.9, 1.1)), "B": (2.0, None), "C": (3.0, None)})
    groups["D"] = GroupEstimate(None, None)
    assert set(outlier_flags(groups, benchmark=2.0).values()) == {"none"}


def test_equal_means_are_flagged_low_first() -> None:
    groups = estimates({key: (3.0, (2.0, 4.0)) for key in "ABCD"})
    assert set(outlier_flags(groups, benchmark=3.0).values()) == {"pink"}


@settings(max_examples=80, deadline=None, database=None)
@given(
    st.lists(
        st.lists(st.integers(min_value=0, max_value=30), min_size=5, max_size=5),
        min_size=0,
        max_size=6,
    )
)
def test_row_order_changes_nothing(rows: list[list[int]]) -> None:
    table = np.array(rows, dtype=int).reshape(len(rows), 5)
    forward = kruskal_from_counts(table)
    backward = kruskal_from_counts(table[::-1])
    assert forward == backward


def textbook_kruskal(table: list[list[int]]) -> float:
    """H by the textbook formula in exact fractions: 12 / (N (N + 1)) sum R_g^2 / n_g
    - 3 (N + 1), divided by 1 - sum(t^3 - t) / (N^3 - N)."""
    totals = [sum(column) for column in zip(*table, strict=True)]
    answers = sum(totals)
    midranks, below = [], 0
    for total in totals:
        midranks.append(Fraction(below + 1 + below + total, 2))
        below += total
    between = sum(
        sum((c * r for c, r in zip(row, midranks, strict=True)), Fraction(0)) ** 2 / sum(row)
        for row in table
    )
    h = Fraction(12, answers * (answers + 1)) * between - 3 * (answers + 1)
    correction = 1 - Fraction(sum(t**3 - t for t in totals), answers**3 - answers)
    return float(h / correction)


def test_tables_beyond_int64_use_exact_integers() -> None:
    table = [[1_500_000_000, 200_000_000, 900_000_000], [3, 900_000_000, 7]]
    result = kruskal_from_counts(table)
    assert result.answers >= 2**31
    assert result.statistic == pytest.approx(textbook_kruskal(table), rel=1e-12)
