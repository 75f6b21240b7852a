"""Theme scores and Cronbach's alpha from sufficient statistics, checked against numpy, scipy
and pingouin on the respondent matrix."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pandas as pd
import pingouin
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from reports.themes import (
    ThemeAggregates,
    cronbach_alpha,
    feldt_interval,
    minimum_answered,
    summarise_theme,
)

# pingouin's bundled "cronbach_alpha" dataset (15 subjects x 10 items), typed in so the test
# needs no file; its docstring gives alpha 0.5917188485995826 and CI [0.195, 0.84].
PINGOUIN_EXAMPLE = np.array(
    [
        [3, 2, 2, 4, 1, 4, 5, 1, 4, 3],
        [5, 5, 4, 6, 3, 5, 1, 2, 5, 5],
        [7, 5, 3, 5, 5, 6, 4, 3, 3, 6],
        [2, 3, 4, 3, 3, 2, 2, 2, 6, 6],
        [6, 5, 5, 6, 5, 4, 4, 4, 6, 7],
        [1, 2, 2, 3, 4, 2, 5, 2, 3, 5],
        [4, 3, 3, 5, 3, 5, 2, 1, 2, 4],
        [2, 5, 4, 4, 3, 7, 2, 2, 4, 6],
        [6, 2, 5, 5, 5, 1, 6, 5, 2, 3],
        [5, 2, 4, 6, 4, 3, 5, 3, 1, 7],
        [4, 1, 3, 5, 2, 5, 3, 2, 3, 4],
        [4, 4, 2, 3, 2, 5, 3, 4, 2, 3],
        [5, 5, 5, 6, 2, 3, 3, 2, 4, 4],
        [6, 5, 5, 5, 4, 2, 2, 1, 4, 6],
        [4, 4, 3, 5, 5, 3, 1, 3, 2, 3],
    ],
    dtype=float,
)


def theme_scores(matrix: np.ndarray) -> np.ndarray:
    """Respondents' theme scores by the spec's rule, computed row by row."""
    items = matrix.shape[1]
    scores = []
    for row in matrix:
        answered = row[~np.isnan(row)]
        if answered.size >= math.ceil(items / 2):
            scores.append(answered.mean())
    return np.array(scores)


def feldt(alpha: float, n: int, m: int) -> tuple[float, float]:
    """Feldt's interval written with scipy's F quantile function (ppf), not isf."""
    df1, df2 = n - 1, (n - 1) * (m - 1)
    return (
        1 - (1 - alpha) * stats.f.ppf(0.975, df1, df2),
        1 - (1 - alpha) * stats.f.ppf(0.025, df1, df2),
    )


def random_theme_matrix(rng: np.random.Generator, respondents: int, items: int) -> np.ndarray:
    # A shared "attitude" makes items correlate, so alpha is realistic rather than near 0.
    attitude = rng.normal(3, 1, size=(respondents, 1))
    answers = np.clip(np.rint(attitude + rng.normal(0, 0.9, size=(respondents, items))), 1, 5)
    answers[rng.random(answers.shape) < 0.15] = np.nan
    return answers


def test_pingouin_docstring_example_alpha_and_interval() -> None:
    summary = summarise_theme(ThemeAggregates.from_matrix(PINGOUIN_EXAMPLE), 10)
    assert summary.alpha == pytest.approx(0.5917188485995826, rel=1e-12)
    # pingouin rounds its interval to 3 decimals; with no missing answers its n is ours.
    assert [round(bound, 3) for bound in summary.alpha_ci95] == [0.195, 0.84]


def test_every_field_matches_independent_computation() -> None:
    rng = np.random.default_rng(7)
    for respondents, items in [(40, 3), (120, 4), (300, 5), (25, 2), (60, 7)]:
        matrix = random_theme_matrix(rng, respondents, items)
        summary = summarise_theme(ThemeAggregates.from_matrix(matrix), items)
        scores = theme_scores(matrix)
        assert summary.n == scores.size
        assert summary.mean == pytest.approx(scores.mean(), rel=1e-12)
        assert summary.sd == pytest.approx(np.std(scores, ddof=1), rel=1e-9)
        expected_ci = stats.t.interval(
            0.95,
            scores.size - 1,
            loc=scores.mean(),
            scale=np.std(scores, ddof=1) / np.sqrt(scores.size),
        )
        assert summary.ci95 == pytest.approx(expected_ci, rel=1e-9)

        complete = matrix[~np.isnan(matrix).any(axis=1)]
        assert summary.complete == complete.shape[0]
        frame = pd.DataFrame(complete)
        expected_alpha, _ = pingouin.cronbach_alpha(data=frame)
        assert summary.alpha == pytest.approx(expected_alpha, rel=1e-10)
        assert summary.alpha_ci95 == pytest.approx(
            feldt(expected_alpha, complete.shape[0], items), rel=1e-10
        )


def test_alpha_by_hand_formula_on_a_small_matrix() -> None:
    matrix = np.array([[1, 2, 2], [2, 3, 3], [4, 4, 5], [5, 4, 4], [3, 3, 2]], dtype=float)
    item_variances = matrix.var(axis=0, ddof=1).sum()
    total_variance = matrix.sum(axis=1).var(ddof=1)
    expected = 3 / 2 * (1 - item_variances / total_variance)
    assert cronbach_alpha(ThemeAggregates.from_matrix(matrix)) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize(
    ("items", "required"), [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (6, 3), (7, 4)]
)
def test_minimum_answered_is_half_rounded_up(items: int, required: int) -> None:
    assert minimum_answered(items) == required == math.ceil(items / 2)


def test_missing_answers_follow_the_half_rule() -> None:
    nan = np.nan
    matrix = np.array(
        [
            [4, 5, 3],  # complete: score 4
            [2, nan, 4],  # two of three: score 3
            [nan, nan, 5],  # one of three: no score
            [nan, nan, nan],  # nothing
            [1, 2, nan],  # two of three: score 1.5
        ]
    )
    aggregates = ThemeAggregates.from_matrix(matrix)
    assert aggregates.scored == 3
    assert aggregates.complete == 1
    summary = summarise_theme(aggregates, 3)
    assert summary.mean == pytest.approx(np.mean([4, 3, 1.5]), rel=1e-15)
    assert summary.alpha is None  # a single complete respondent


def test_four_item_theme_accepts_exactly_two_answers() -> None:
    nan = np.nan
    matrix = np.array([[1, nan, 3, nan], [nan, nan, nan, 4], [2, 2, 2, 2]])
    aggregates = ThemeAggregates.from_matrix(matrix)
    assert aggregates.scored == 2
    assert summarise_theme(aggregates, 4).mean == pytest.approx(2.0)


def test_identical_answers_have_sd_zero_and_no_alpha() -> None:
    matrix = np.full((30, 4), 3.0)
    summary = summarise_theme(ThemeAggregates.from_matrix(matrix), 4)
    assert summary.sd == 0.0
    assert summary.ci95 == (3.0, 3.0)
    assert summary.alpha is None and summary.alpha_ci95 is None


def test_identical_non_integer_scores_from_float_sums_have_sd_zero() -> None:
    # 250_000 respondents scoring 11/3 each, summed naively as a database might.
    n = 250_000
    score = 11 / 3
    scores = np.full(n, score)
    naive_sum = float(np.cumsum(scores)[-1])
    naive_squares = float(np.cumsum(scores * scores)[-1])
    assert naive_squares - naive_sum * naive_sum / n != 0.0
    aggregates = ThemeAggregates(
        scored=n,
        score_sum=naive_sum,
        score_sum_squares=naive_squares,
        complete=0,
        item_sums=(0, 0, 0),
        item_sum_squares=(0, 0, 0),
        total_sum=0,
        total_sum_squares=0,
    )
    summary = summarise_theme(aggregates, 3)
    assert summary.sd == 0.0
    assert summary.ci95 == (summary.mean, summary.mean)


def test_alpha_needs_two_items_and_three_complete_respondents() -> None:
    one_item = ThemeAggregates.from_matrix(np.array([[1.0], [2.0], [5.0], [4.0]]))
    assert summarise_theme(one_item, 1).alpha is None
    two_complete = ThemeAggregates.from_matrix(np.array([[1.0, 2.0], [4.0, 5.0], [np.nan, 3.0]]))
    assert summarise_theme(two_complete, 2).alpha is None
    three_complete = ThemeAggregates.from_matrix(np.array([[1.0, 2.0], [4.0, 5.0], [3.0, 3.0]]))
    assert summarise_theme(three_complete, 2).alpha is not None


def test_perfectly_consistent_items_give_alpha_one() -> None:
    matrix = np.repeat(np.array([[1.0], [2.0], [4.0], [5.0], [3.0]]), 3, axis=1)
    summary = summarise_theme(ThemeAggregates.from_matrix(matrix), 3)
    assert summary.alpha == 1.0
    assert summary.alpha_ci95 == (1.0, 1.0)


def test_float_item_sums_give_the_same_alpha_as_integer_sums() -> None:
    rng = np.random.default_rng(3)
    matrix = random_theme_matrix(rng, 80, 4)
    exact = ThemeAggregates.from_matrix(matrix)
    floats = ThemeAggregates(
        scored=exact.scored,
        score_sum=exact.score_sum,
        score_sum_squares=exact.score_sum_squares,
        complete=exact.complete,
        item_sums=tuple(float(value) for value in exact.item_sums),
        item_sum_squares=tuple(float(value) for value in exact.item_sum_squares),
        total_sum=float(exact.total_sum),
        total_sum_squares=float(exact.total_sum_squares),
    )
    assert cronbach_alpha(floats) == pytest.approx(cronbach_alpha(exact), rel=1e-12)


def test_feldt_interval_matches_the_ppf_form() -> None:
    for alpha, n, m in [(0.8, 50, 5), (0.3, 4, 2), (-0.2, 12, 9)]:
        assert feldt_interval(alpha, n, m) == pytest.approx(feldt(alpha, n, m), rel=1e-12)


def test_refusals() -> None:
    aggregates = ThemeAggregates.from_matrix(np.ones((3, 3)))
    with pytest.raises(ValueError):
        summarise_theme(aggregates, 4)
    with pytest.raises(ValueError):
        ThemeAggregates.from_matrix(np.array([[1.5, 2.0]]))
    with pytest.raises(ValueError):
        ThemeAggregates.from_matrix(np.ones((3, 0)))
    with pytest.raises(ValueError):
        ThemeAggregates(1, 1.0, 1.0, 2, (1,), (1,), 1, 1)
    with pytest.raises(ValueError):
        feldt_interval(0.5, 1, 3)


def test_empty_cell_gives_none_everywhere() -> None:
    summary = summarise_theme(ThemeAggregates.empty(3), 3)
    assert summary.to_json() == {
        "n": 0,
        "mean": None,
        "sd": None,
        "ci95": None,
        "alpha": None,
        "alpha_ci95": None,
    }


@settings(max_examples=100, deadline=None, database=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(0, 12), st.integers(1, 5)),
        elements=st.sampled_from([1.0, 2.0, 3.0, 4.0, 5.0, np.nan]),
    ),
    st.randoms(use_true_random=False),
)
def test_respondent_order_changes_nothing_and_output_is_json_safe(
    matrix: np.ndarray, shuffle: random.Random
) -> None:
    order = list(range(matrix.shape[0]))
    shuffle.shuffle(order)
    items = matrix.shape[1]
    original = summarise_theme(ThemeAggregates.from_matrix(matrix), items)
    shuffled = summarise_theme(ThemeAggregates.from_matrix(matrix[order]), items)
    assert original == shuffled
    json.dumps(original.to_json(), allow_nan=False)
