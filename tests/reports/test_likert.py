"""Likert item summaries from count tables, checked against numpy/scipy/statsmodels on the
expanded answers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from reports.likert import (
    ItemSummary,
    estimate_mean,
    summarise_item,
    summarise_items,
    variance_from_sums,
    wilson_interval,
)

RTOL = 1e-12


def expand(counts: list[int] | np.ndarray) -> np.ndarray:
    """The raw answers a count table describes: value v repeated counts[v - 1] times."""
    return np.repeat(np.arange(1, len(counts) + 1), np.asarray(counts, dtype=np.int64))


def assert_matches_raw_answers(summary: ItemSummary, counts: np.ndarray, responses: int) -> None:
    answers = expand(counts)
    points = len(counts)
    n = answers.size
    assert summary.n == n
    assert summary.missing == responses - n
    assert summary.to_json()["counts"] == {str(v): int(c) for v, c in enumerate(counts, 1)}
    assert summary.mean == pytest.approx(np.mean(answers), rel=RTOL)
    assert summary.median == np.median(answers)
    positive = np.mean(answers >= points - 1)
    negative = np.mean(answers <= 2)
    assert summary.percent_positive == pytest.approx(100 * positive, rel=RTOL)
    assert summary.net_agreement == pytest.approx(100 * positive - 100 * negative, abs=1e-9)
    assert summary.indicator == pytest.approx(100 * (np.mean(answers) - 1) / (points - 1), rel=RTOL)
    low, high = proportion_confint(int(np.sum(answers >= points - 1)), n, 0.05, method="wilson")
    assert summary.percent_positive_ci95 == pytest.approx((100 * low, 100 * high), rel=1e-10)
    if n < 2:
        assert summary.sd is None
        assert summary.ci95 is None
        return
    sd = np.std(answers, ddof=1)
    assert summary.sd == pytest.approx(sd, rel=1e-10, abs=1e-15)
    if sd == 0:
        assert summary.ci95 == (summary.mean, summary.mean)
    else:
        expected = stats.t.interval(0.95, n - 1, loc=np.mean(answers), scale=sd / math.sqrt(n))
        assert summary.ci95 == pytest.approx(expected, rel=1e-10)


def test_every_field_matches_independent_computation_on_random_tables() -> None:
    rng = np.random.default_rng(20240601)
    for _ in range(200):
        points = int(rng.choice([2, 3, 4, 5, 7, 10]))
        counts = rng.integers(0, 40, size=points)
        counts[rng.random(points) < 0.3] = 0  # empty scale values are common
        if counts.sum() == 0:
            counts[int(rng.integers(points))] = 1
        responses = int(counts.sum() + rng.integers(0, 10))
        assert_matches_raw_answers(summarise_item(counts, responses), counts, responses)


def test_large_cell_is_exact_against_numpy() -> None:
    counts = np.array([101_113, 250_009, 180_777, 300_001, 168_100])
    summary = summarise_item(counts, 1_000_000 + 5)
    assert_matches_raw_answers(summary, counts, 1_000_005)


def test_no_answers_gives_none_for_every_statistic() -> None:
    summary = summarise_item([0, 0, 0, 0, 0], 7)
    assert summary.to_json() == {
        "n": 0,
        "missing": 7,
        "counts": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
        "mean": None,
        "sd": None,
        "median": None,
        "ci95": None,
        "percent_positive": None,
        "percent_positive_ci95": None,
        "net_agreement": None,
        "indicator": None,
    }


def test_one_answer_has_a_mean_but_no_spread() -> None:
    summary = summarise_item([0, 0, 0, 1, 0], 1)
    assert (summary.n, summary.mean, summary.median) == (1, 4.0, 4.0)
    assert summary.sd is None and summary.ci95 is None
    assert summary.percent_positive == 100.0
    assert summary.net_agreement == 100.0
    assert summary.indicator == 75.0
    low, high = proportion_confint(1, 1, 0.05, method="wilson")
    assert summary.percent_positive_ci95 == pytest.approx((100 * low, 100 * high), rel=1e-12)


def test_identical_answers_have_sd_zero_and_a_zero_width_interval() -> None:
    summary = summarise_item([0, 0, 12, 0, 0], 12)
    assert summary.sd == 0.0
    assert summary.ci95 == (3.0, 3.0)
    assert summary.percent_positive == 0.0
    assert summary.net_agreement == 0.0


@pytest.mark.parametrize(
    ("counts", "expected"),
    [([1, 0, 0, 1], 2.5), ([2, 0, 2], 2.0), ([1, 1, 0], 1.5), ([0, 3, 1, 0, 1], 2.0)],
)
def test_median_is_numpys_median_including_between_scale_points(
    counts: list[int], expected: float
) -> None:
    assert summarise_item(counts, sum(counts)).median == expected == np.median(expand(counts))


def test_top_two_and_bottom_two_points_on_a_five_point_scale() -> None:
    # 2 strongly disagree, 3 disagree, 1 neutral, 4 agree, 10 strongly agree.
    summary = summarise_item([2, 3, 1, 4, 10], 20)
    assert summary.percent_positive == 70.0
    assert summary.net_agreement == 45.0


@pytest.mark.parametrize(
    ("counts", "responses"),
    [([1, -1, 2], 5), ([1, 2, 3], 5), ([4], 4), ([[1, 2], [3, 4]], 10), ([1.5, 2.0], 4)],
)
def test_refuses_invalid_tables(counts: list, responses: int) -> None:
    with pytest.raises(ValueError):
        summarise_item(counts, responses)


@pytest.mark.parametrize("confidence", [0.95, 0.9, 0.99])
def test_wilson_interval_matches_statsmodels(confidence: float) -> None:
    for n in (1, 2, 5, 17, 250, 10_000):
        for successes in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            if not 0 <= successes <= n:
                continue
            expected = proportion_confint(successes, n, 1 - confidence, method="wilson")
            got = wilson_interval(successes, n, confidence)
            assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
            assert 0.0 <= got[0] <= got[1] <= 1.0


@pytest.mark.parametrize(("successes", "n"), [(0, 0), (-1, 5), (6, 5)])
def test_wilson_interval_refuses_impossible_counts(successes: int, n: int) -> None:
    with pytest.raises(ValueError):
        wilson_interval(successes, n)


def test_float_sums_of_identical_scores_give_variance_zero_not_rounding_noise() -> None:
    n = 1_000_003
    score = 7 / 3
    naive_sum = 0.0
    naive_squares = 0.0
    for _ in range(n):  # deliberately naive summation, as a database SUM may do
        naive_sum += score
        naive_squares += score * score
    raw = (naive_squares - naive_sum * naive_sum / n) / (n - 1)
    assert raw != 0.0, "the guard is only tested if the plain formula is off"
    assert variance_from_sums(n, naive_sum, naive_squares) == 0.0
    estimate = estimate_mean(n, naive_sum, naive_squares)
    assert estimate.sd == 0.0
    assert estimate.ci95 == (estimate.mean, estimate.mean)


def test_float_sums_keep_a_small_genuine_variance() -> None:
    scores = np.full(10_000, 2.5)
    scores[0] = 2.5 + 1 / 3
    variance = variance_from_sums(scores.size, math.fsum(scores), math.fsum(scores * scores))
    assert variance == pytest.approx(np.var(scores, ddof=1), rel=1e-6)
    assert variance > 0


@settings(max_examples=150, deadline=None, database=None)
@given(
    counts=st.lists(st.integers(min_value=0, max_value=60), min_size=2, max_size=11),
    extra=st.integers(min_value=0, max_value=20),
)
def test_any_count_table_gives_json_safe_consistent_output(counts: list[int], extra: int) -> None:
    summary = summarise_item(counts, sum(counts) + extra)
    text = json.dumps(summary.to_json(), allow_nan=False)
    assert "NaN" not in text and "Infinity" not in text
    if summary.n == 0:
        return
    assert 1 <= summary.mean <= len(counts)
    assert 0 <= summary.percent_positive <= 100
    low, high = summary.percent_positive_ci95
    assert 0 <= low <= summary.percent_positive <= high <= 100
    assert -100 <= summary.net_agreement <= 100
    assert 0 <= summary.indicator <= 100
    if summary.ci95 is not None:
        assert summary.ci95[0] <= summary.mean <= summary.ci95[1]


def test_many_cells_at_once_equal_one_cell_at_a_time() -> None:
    rng = np.random.default_rng(31)
    tables = rng.integers(0, 30, size=(60, 5))
    tables[::7] = 0  # some cells without answers
    tables[3] = [0, 0, 1, 0, 0]  # one answer
    responses = (tables.sum(axis=1) + rng.integers(0, 5, size=60)).tolist()
    together = summarise_items(tables, responses)
    assert together == [summarise_item(row, r) for row, r in zip(tables, responses, strict=True)]
    for summary, row, cell_responses in zip(together, tables, responses, strict=True):
        if row.sum() > 0:
            assert_matches_raw_answers(summary, row, cell_responses)
    assert summarise_items([], []) == []


def test_many_cells_refuse_mismatched_input() -> None:
    with pytest.raises(ValueError):
        summarise_items([[1, 2, 3], [1, 2]], [10, 10])
    with pytest.raises(ValueError):
        summarise_items([[1, 2, 3]], [10, 10])


def test_cells_too_large_for_int64_are_still_exact() -> None:
    # 80 million answers: beyond the int64 fast path, computed with Python integers.
    counts = [30_000_000, 10_000_000, 5, 40_000_001, 7]
    summary = summarise_item(counts, sum(counts))
    values = np.arange(1, 6, dtype=float)
    weights = np.array(counts, dtype=float)
    n = weights.sum()
    mean = np.average(values, weights=weights)
    variance = np.sum(weights * (values - mean) ** 2) / (n - 1)
    assert summary.n == sum(counts)
    assert summary.mean == pytest.approx(mean, rel=1e-13)
    assert summary.sd == pytest.approx(math.sqrt(variance), rel=1e-10)
    assert summary.median == 4.0
    assert summary.percent_positive == pytest.approx(100 * 40_000_008 / n, rel=1e-14)
