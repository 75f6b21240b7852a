"""The summary JSON end to end: built from aggregates, checked against raw respondent data."""

from __future__ import annotations

import gc
import json
import math
import random
from decimal import Decimal

import numpy as np
import pandas as pd
import pingouin
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from reports.free_text import TextTheme
from reports.summary import (
    CellAggregates,
    GroupAggregates,
    LikertItemSpec,
    SurveySpec,
    TextQuestionSpec,
    ThemeSpec,
    build_summary,
)
from reports.themes import ThemeAggregates

POINTS = 5
ITEM_CODES = ("q1", "q2", "q3", "q4", "q5", "q6")
SPEC = SurveySpec(
    slug="placement-quality",
    title="Placement quality",
    items=(
        LikertItemSpec("q1", "I felt welcome", "support", POINTS),
        LikertItemSpec("q2", "I had a named supervisor", "support", POINTS),
        LikertItemSpec("q3", "Feedback was timely", "support", POINTS),
        LikertItemSpec("q4", "I felt safe", "safety", POINTS),
        LikertItemSpec("q5", "Concerns were acted on", "safety", POINTS),
        LikertItemSpec("q6", "I would recommend it", None, POINTS),
    ),
    themes=(
        ThemeSpec("support", "Support", ("q1", "q2", "q3")),
        ThemeSpec("safety", "Safety", ("q4", "q5")),
    ),
    text_questions=(
        TextQuestionSpec(
            "improve",
            "What would improve the placement?",
            (TextTheme("workload", "Workload", (r"busy", r"workload")),),
        ),
    ),
)
THEME_COLUMNS = {"support": [0, 1, 2], "safety": [3, 4]}
TOP_LEVEL_KEYS = [
    "survey",
    "scope",
    "suppression_min_n",
    "responses",
    "secondary_suppressed",
    "items",
    "themes",
    "free_text",
    "text_themes",
    "by",
    "groups",
    "comparisons",
]
ITEM_KEYS = [
    "code",
    "text",
    "theme",
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
    "suppressed",
]
THEME_KEYS = ["code", "title", "n", "mean", "sd", "ci95", "alpha", "alpha_ci95", "suppressed"]


def aggregates(matrix: np.ndarray) -> dict:
    """The keyword arguments of a CellAggregates for a respondents x items answer matrix."""
    item_counts = {}
    for column, code in enumerate(ITEM_CODES):
        answered = matrix[:, column][~np.isnan(matrix[:, column])].astype(int)
        item_counts[code] = np.bincount(answered, minlength=POINTS + 1)[1:]
    themes = {
        code: ThemeAggregates.from_matrix(matrix[:, columns])
        for code, columns in THEME_COLUMNS.items()
    }
    return {"responses": matrix.shape[0], "item_counts": item_counts, "themes": themes}


def survey_answers(rng: np.random.Generator, respondents: int, shift: float = 0.0) -> np.ndarray:
    attitude = rng.normal(3 + shift, 0.9, size=(respondents, 1))
    noise = rng.normal(0, 0.9, size=(respondents, len(ITEM_CODES)))
    answers = np.clip(np.rint(attitude + noise), 1, POINTS)
    answers[rng.random(answers.shape) < 0.1] = np.nan
    return answers


def breakdown(
    matrices: dict[str, np.ndarray], labels: dict[str, str] | None = None
) -> tuple[CellAggregates, list[GroupAggregates]]:
    groups = [
        GroupAggregates(key=key, label=(labels or {}).get(key, f"Practice {key}"), **aggregates(m))
        for key, m in matrices.items()
    ]
    scope = np.vstack(list(matrices.values()))
    return CellAggregates(**aggregates(scope)), groups


def summarise(matrices: dict[str, np.ndarray], min_n: int = 5, by: str | None = "practice") -> dict:
    total, groups = breakdown(matrices)
    return build_summary(SPEC, None, total, {}, by, groups if by else [], min_n)


def raw_theme_scores(matrix: np.ndarray) -> np.ndarray:
    scores = []
    for row in matrix:
        answered = row[~np.isnan(row)]
        if answered.size >= math.ceil(row.size / 2):
            scores.append(answered.mean())
    return np.array(scores)


def assert_item_matches(item: dict, answers: np.ndarray) -> None:
    values = answers[~np.isnan(answers)]
    n = values.size
    assert item["n"] == n
    assert item["missing"] == answers.size - n
    assert item["counts"] == {str(v): int(np.sum(values == v)) for v in range(1, POINTS + 1)}
    assert item["mean"] == pytest.approx(values.mean(), rel=1e-12)
    assert item["sd"] == pytest.approx(np.std(values, ddof=1), rel=1e-10)
    assert item["median"] == np.median(values)
    sem = np.std(values, ddof=1) / np.sqrt(n)
    assert item["ci95"] == pytest.approx(
        list(stats.t.interval(0.95, n - 1, loc=values.mean(), scale=sem)), rel=1e-10
    )
    positive = 100 * np.mean(values >= POINTS - 1)
    assert item["percent_positive"] == pytest.approx(positive, rel=1e-12)
    assert item["net_agreement"] == pytest.approx(positive - 100 * np.mean(values <= 2), abs=1e-9)
    assert item["indicator"] == pytest.approx(100 * (values.mean() - 1) / (POINTS - 1), rel=1e-12)


def assert_theme_matches(theme: dict, matrix: np.ndarray) -> None:
    scores = raw_theme_scores(matrix)
    assert theme["n"] == scores.size
    assert theme["mean"] == pytest.approx(scores.mean(), rel=1e-12)
    assert theme["sd"] == pytest.approx(np.std(scores, ddof=1), rel=1e-9)
    complete = matrix[~np.isnan(matrix).any(axis=1)]
    expected_alpha, _ = pingouin.cronbach_alpha(data=pd.DataFrame(complete))
    assert theme["alpha"] == pytest.approx(expected_alpha, rel=1e-10)


@pytest.fixture(scope="module")
def practices() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2024)
    sizes = {"P07": 60, "P01": 45, "P03": 80, "P12": 35, "P05": 50, "P09": 70}
    shifts = {"P07": -0.6, "P01": 0.0, "P03": 0.2, "P12": 0.7, "P05": -0.1, "P09": 0.1}
    return {key: survey_answers(rng, size, shifts[key]) for key, size in sizes.items()}


def test_summary_without_breakdown_has_the_spec_shape() -> None:
    rng = np.random.default_rng(1)
    matrix = survey_answers(rng, 40)
    total = CellAggregates(**aggregates(matrix))
    answers = ["Too busy", None, "", "More WORKLOAD support", "nothing"]
    summary = build_summary(
        SPEC,
        {"code": "QWE", "name": "North East ICB", "level": "icb", "ignored": 1},
        total,
        {"improve": answers},
        None,
        [],
        5,
    )
    assert list(summary) == TOP_LEVEL_KEYS
    assert summary["survey"] == {"slug": "placement-quality", "title": "Placement quality"}
    assert summary["scope"] == {"code": "QWE", "name": "North East ICB", "level": "icb"}
    assert (summary["suppression_min_n"], summary["responses"]) == (5, 40)
    assert [item["code"] for item in summary["items"]] == list(ITEM_CODES)
    assert all(list(item) == ITEM_KEYS for item in summary["items"])
    assert [theme["code"] for theme in summary["themes"]] == ["support", "safety"]
    assert all(list(theme) == THEME_KEYS for theme in summary["themes"])
    assert (summary["by"], summary["groups"], summary["comparisons"]) == (None, [], [])
    # Three answered, fewer than k: the count is withheld with every theme.
    assert summary["free_text"] == [
        {
            "question": "improve",
            "answered": None,  # 3 answers: withheld
            "themes": [
                {
                    "code": "workload",
                    "label": "Workload",
                    "mentions": None,
                    "of": 40,
                    "percent": None,
                    "suppressed": True,
                }
            ],
        }
    ]
    assert summary["text_themes"] == [
        {
            "code": "workload",
            "label": "Workload",
            "respondents": None,
            "of": 40,
            "of_answered": None,
            "percent": None,
            "suppressed": True,
        }
    ]
    json.dumps(summary, allow_nan=False)


def test_scope_figures_match_the_raw_answers(practices: dict[str, np.ndarray]) -> None:
    summary = summarise(practices, by=None)
    everyone = np.vstack(list(practices.values()))
    for column, item in enumerate(summary["items"]):
        assert item["suppressed"] is False
        assert "flag" not in item
        assert_item_matches(item, everyone[:, column])
    for theme in summary["themes"]:
        assert "flag" not in theme
        assert_theme_matches(theme, everyone[:, THEME_COLUMNS[theme["code"]]])
    free_text = build_summary(
        SPEC, None, CellAggregates(**aggregates(everyone)), {"improve": ["busy"] * 6}, None, [], 5
    )["free_text"][0]["themes"][0]
    assert free_text["percent"] == pytest.approx(100 * 6 / everyone.shape[0])


def test_breakdown_groups_comparisons_match_the_raw_answers(
    practices: dict[str, np.ndarray],
) -> None:
    summary = summarise(practices)
    assert summary["by"] == "practice"
    assert [group["key"] for group in summary["groups"]] == sorted(practices)
    for group in summary["groups"]:
        matrix = practices[group["key"]]
        assert group["responses"] == matrix.shape[0] and group["suppressed"] is False
        assert all(list(item) == [*ITEM_KEYS, "flag"] for item in group["items"])
        assert all(list(theme) == [*THEME_KEYS, "flag"] for theme in group["themes"])
        for column, item in enumerate(group["items"]):
            assert_item_matches(item, matrix[:, column])
            assert item["flag"] in {"red", "pink", "green", "light-green", "none"}
        for theme in group["themes"]:
            assert_theme_matches(theme, matrix[:, THEME_COLUMNS[theme["code"]]])

    assert [c["item"] for c in summary["comparisons"]] == list(ITEM_CODES)
    expected_p = []
    for column, comparison in enumerate(summary["comparisons"]):
        samples = [m[:, column][~np.isnan(m[:, column])] for m in practices.values()]
        expected = stats.kruskal(*samples)
        answers = sum(sample.size for sample in samples)
        assert comparison["test"] == "kruskal"
        assert comparison["groups_compared"] == len(practices)
        assert comparison["statistic"] == pytest.approx(expected.statistic, rel=1e-9)
        assert comparison["p"] == pytest.approx(expected.pvalue, rel=1e-9)
        assert comparison["effect_size"] == pytest.approx(
            expected.statistic / (answers - 1), rel=1e-9
        )
        expected_p.append(expected.pvalue)
    adjusted = stats.false_discovery_control(expected_p)
    assert [c["p_adjusted"] for c in summary["comparisons"]] == pytest.approx(adjusted, rel=1e-9)
    json.dumps(summary, allow_nan=False)


def test_flags_follow_quartiles_of_group_means_and_the_scope_benchmark(
    practices: dict[str, np.ndarray],
) -> None:
    summary = summarise(practices)
    everyone = np.vstack(list(practices.values()))
    for column, code in enumerate(ITEM_CODES):
        benchmark = np.nanmean(everyone[:, column])
        means = {key: np.nanmean(m[:, column]) for key, m in practices.items()}
        q1, q3 = np.percentile(list(means.values()), [25, 75])
        for group in summary["groups"]:
            item = group["items"][column]
            assert item["code"] == code
            mean = means[group["key"]]
            if mean <= q1:
                expected = "red" if item["ci95"][1] < benchmark else "pink"
            elif mean >= q3:
                expected = "green" if item["ci95"][0] > benchmark else "light-green"
            else:
                expected = "none"
            assert item["flag"] == expected


def constant_group(value: int, respondents: int) -> np.ndarray:
    return np.full((respondents, len(ITEM_CODES)), float(value))


def test_each_flag_produced_by_constructed_groups() -> None:
    # Means 1, 2, 3, 4, 5 (Q1 = 2, Q3 = 4) around a scope mean of exactly 3.
    spread_low = np.repeat(np.array([[1.0], [1.0], [1.0], [3.0], [3.0], [3.0]]), 6, axis=1)
    spread_high = spread_low + 2
    matrices = {
        "A": constant_group(1, 40),  # interval [1, 1] wholly below 3: red
        "B": spread_low,  # mean 2, interval up to 3.15: pink
        "C": constant_group(3, 40),  # between the quartiles: none
        "D": spread_high,  # mean 4, interval down to 2.85: light-green
        "E": constant_group(5, 40),  # interval [5, 5] wholly above 3: green
    }
    summary = summarise(matrices)
    assert summary["items"][0]["mean"] == 3.0
    expected = ["red", "pink", "none", "light-green", "green"]
    for code_index in range(len(ITEM_CODES)):
        assert [g["items"][code_index]["flag"] for g in summary["groups"]] == expected
    for theme_index in range(2):
        assert [g["themes"][theme_index]["flag"] for g in summary["groups"]] == expected


def test_fewer_than_four_groups_are_all_flag_none() -> None:
    matrices = {"A": constant_group(1, 40), "B": constant_group(3, 40), "C": constant_group(5, 40)}
    summary = summarise(matrices)
    for group in summary["groups"]:
        assert {item["flag"] for item in group["items"]} == {"none"}
        assert {theme["flag"] for theme in group["themes"]} == {"none"}


def test_a_group_just_under_k_is_listed_with_nothing_but_its_name() -> None:
    rng = np.random.default_rng(8)
    matrices = {
        "A": survey_answers(rng, 30),
        "B": survey_answers(rng, 4),  # just under k = 5
        "C": np.clip(survey_answers(rng, 5), 1, 5),  # exactly k responses
        "D": survey_answers(rng, 25),
    }
    matrices["C"][:, :] = 4.0  # every item answered by all five: published
    summary = summarise(matrices)
    groups = {group["key"]: group for group in summary["groups"]}
    assert groups["B"] == {
        "key": "B",
        "label": "Practice B",
        "responses": None,
        "suppressed": True,
        "items": [],
        "themes": [],
    }
    # B's 4 responses are withheld, so the smallest other count (C's 5) goes too: the scope's
    # responses less A, C and D would give B's.
    assert groups["C"]["suppressed"] is False and groups["C"]["responses"] is None
    assert groups["A"]["responses"] == 30 and groups["D"]["responses"] == 25
    # B is suppressed for every item, so the smallest published group (C) goes too.
    for item in groups["C"]["items"]:
        assert item["suppressed"] is True and item["flag"] is None
        assert all(item[key] is None for key in ITEM_KEYS[3:-1])
    for theme in groups["C"]["themes"]:
        assert theme["suppressed"] is True and theme["flag"] is None
        assert all(theme[key] is None for key in THEME_KEYS[2:-1])
    for comparison in summary["comparisons"]:
        assert comparison["groups_compared"] == 2


def test_secondary_suppression_of_one_item_picks_the_fewest_answers_ties_by_key() -> None:
    rng = np.random.default_rng(9)
    matrices = {key: survey_answers(rng, 20) for key in ("P4", "P2", "P3", "P1")}
    for matrix in matrices.values():
        matrix[:, 5] = 3.0
    matrices["P3"][:, 5] = np.nan
    matrices["P3"][:4, 5] = 2.0  # 4 answers to q6: suppressed
    matrices["P4"][:8, 5] = np.nan  # 12 answers
    matrices["P2"][:8, 5] = np.nan  # 12 answers, and P2 comes before P4
    summary = summarise(matrices)
    q6 = {group["key"]: group["items"][5] for group in summary["groups"]}
    assert {key for key, item in q6.items() if item["suppressed"]} == {"P3", "P2"}
    assert q6["P1"]["n"] == 20 and q6["P4"]["n"] == 12
    assert q6["P2"]["counts"] is None and q6["P2"]["n"] is None
    comparison = next(c for c in summary["comparisons"] if c["item"] == "q6")
    assert comparison["groups_compared"] == 2
    # Other items are untouched by q6's suppression.
    assert all(not group["items"][0]["suppressed"] for group in summary["groups"])


def test_undefined_comparison_is_null_and_left_out_of_the_adjustment() -> None:
    rng = np.random.default_rng(10)
    matrices = {key: survey_answers(rng, 30) for key in ("A", "B", "C")}
    for matrix in matrices.values():
        matrix[:, 5] = 4.0  # everyone answers q6 identically: H undefined
    summary = summarise(matrices)
    q6 = next(c for c in summary["comparisons"] if c["item"] == "q6")
    assert q6 == {
        "item": "q6",
        "test": "kruskal",
        "groups_compared": 3,
        "statistic": None,
        "p": None,
        "p_adjusted": None,
        "effect_size": None,
    }
    defined = [c for c in summary["comparisons"] if c["p"] is not None]
    assert len(defined) == 5
    adjusted = stats.false_discovery_control([c["p"] for c in defined])
    assert [c["p_adjusted"] for c in defined] == pytest.approx(adjusted, rel=1e-12)


def test_an_item_compared_in_fewer_than_two_groups_has_no_comparison() -> None:
    rng = np.random.default_rng(12)
    matrices = {"A": survey_answers(rng, 30), "B": survey_answers(rng, 30)}
    matrices["B"][:, 5] = np.nan
    summary = summarise(matrices)
    assert "q6" not in [c["item"] for c in summary["comparisons"]]


def test_alpha_is_withheld_when_fewer_than_k_respondents_are_complete() -> None:
    rng = np.random.default_rng(13)
    matrix = survey_answers(rng, 30)
    # Six answered q3, but only four of them answered q1 and q2 too: four complete respondents.
    matrix[:, 2] = np.nan
    matrix[:6, 2] = 3.0
    matrix[:4, :2] = [[1.0, 2.0], [2.0, 3.0], [4.0, 4.0], [5.0, 4.0]]
    matrix[4:6, 0] = np.nan
    summary = summarise({"A": matrix}, by=None)
    support = summary["themes"][0]
    assert support["suppressed"] is False and support["n"] >= 5
    assert support["alpha"] is None and support["alpha_ci95"] is None
    assert support["mean"] is not None


def test_scope_below_k_withholds_every_figure_and_its_responses() -> None:
    matrix = constant_group(4, 3)
    summary = summarise({"A": matrix}, by=None)
    assert summary["responses"] is None
    for item in summary["items"]:
        assert item["suppressed"] is True
        assert all(item[key] is None for key in ITEM_KEYS[3:-1])
    for theme in summary["themes"]:
        assert theme["suppressed"] is True


def test_groups_without_responses_are_not_groups() -> None:
    rng = np.random.default_rng(14)
    total, groups = breakdown({"A": survey_answers(rng, 30), "B": survey_answers(rng, 30)})
    empty = GroupAggregates(key="0", label="Empty practice", responses=0)
    summary = build_summary(SPEC, None, total, {}, "practice", [*groups, empty], 5)
    assert [group["key"] for group in summary["groups"]] == ["A", "B"]
    # and an empty group would otherwise have triggered secondary suppression
    assert not any(item["suppressed"] for g in summary["groups"] for item in g["items"])


def test_missing_aggregates_mean_no_answers_published_as_zero() -> None:
    summary = build_summary(SPEC, None, CellAggregates(responses=12), {}, None, [], 5)
    for item in summary["items"]:
        assert item["n"] == 0 and item["suppressed"] is False and item["mean"] is None
        assert set(item["counts"].values()) == {0}
    for theme in summary["themes"]:
        assert theme["n"] == 0 and theme["suppressed"] is False and theme["mean"] is None
    json.dumps(summary, allow_nan=False)


@pytest.mark.parametrize(
    "change",
    [
        "groups_without_by",
        "unknown_item",
        "wrong_points",
        "duplicate_keys",
        "min_n_zero",
        "unknown_text",
        "bad_scope",
        "too_many_answers",
    ],
)
def test_refuses_inconsistent_input(change: str) -> None:
    rng = np.random.default_rng(15)
    total, groups = breakdown({"A": survey_answers(rng, 10), "B": survey_answers(rng, 10)})
    kwargs: dict = {
        "spec": SPEC,
        "scope": None,
        "total": total,
        "text_answers": {},
        "by": "practice",
        "groups": groups,
        "min_n": 5,
    }
    if change == "groups_without_by":
        kwargs["by"] = None
    elif change == "unknown_item":
        kwargs["total"] = CellAggregates(responses=10, item_counts={"q99": [1, 2, 3, 4, 0]})
    elif change == "wrong_points":
        kwargs["total"] = CellAggregates(responses=10, item_counts={"q1": [1, 2, 3]})
    elif change == "duplicate_keys":
        kwargs["groups"] = [groups[0], groups[0]]
    elif change == "min_n_zero":
        kwargs["min_n"] = 0
    elif change == "unknown_text":
        kwargs["text_answers"] = {"nope": ["x"]}
    elif change == "bad_scope":
        kwargs["scope"] = {"code": "X"}
    elif change == "too_many_answers":
        kwargs["total"] = CellAggregates(responses=2, item_counts={"q1": [1, 2, 3, 4, 0]})
    with pytest.raises(ValueError):
        build_summary(**kwargs)


def test_survey_spec_refuses_inconsistent_themes() -> None:
    item = LikertItemSpec("q1", "Text", "t", 5)
    with pytest.raises(ValueError):
        SurveySpec("s", "S", (item,), (ThemeSpec("other", "Other", ("q1",)),))
    with pytest.raises(ValueError):
        SurveySpec("s", "S", (item,), (ThemeSpec("t", "T", ("q1", "q2")),))
    with pytest.raises(ValueError):
        SurveySpec("s", "S", (item, item), (ThemeSpec("t", "T", ("q1",)),))
    with pytest.raises(ValueError):
        LikertItemSpec("q1", "Text", None, 1)


answer_matrices = arrays(
    np.float64,
    st.tuples(st.integers(0, 30), st.just(len(ITEM_CODES))),
    elements=st.sampled_from([1.0, 2.0, 3.0, 4.0, 5.0, np.nan]),
)


@settings(max_examples=40, deadline=None, database=None)
@given(
    matrix=answer_matrices,
    assignment_seed=st.integers(0, 2**32 - 1),
    groups=st.integers(1, 6),
    min_n=st.integers(1, 6),
    shuffle=st.randoms(use_true_random=False),
)
def test_respondent_order_changes_nothing(
    matrix: np.ndarray, assignment_seed: int, groups: int, min_n: int, shuffle: random.Random
) -> None:
    keys = np.random.default_rng(assignment_seed).integers(0, groups, size=matrix.shape[0])

    def build(rows: np.ndarray, row_keys: np.ndarray) -> dict:
        matrices = {f"G{k}": rows[row_keys == k] for k in sorted(set(row_keys.tolist()))}
        total, cells = breakdown(matrices) if matrices else (CellAggregates(responses=0), [])
        return build_summary(SPEC, None, total, {}, "practice", cells, min_n)

    order = list(range(matrix.shape[0]))
    shuffle.shuffle(order)
    original = build(matrix, keys)
    permuted = build(matrix[order], keys[order])
    assert original == permuted
    json.dumps(original, allow_nan=False)


count_rows = st.lists(st.integers(0, 40), min_size=POINTS, max_size=POINTS)


@settings(max_examples=60, deadline=None, database=None)
@given(
    tables=st.lists(
        st.fixed_dictionaries({code: count_rows for code in ITEM_CODES}), min_size=0, max_size=7
    ),
    extra=st.lists(st.integers(0, 5), min_size=7, max_size=7),
    min_n=st.integers(1, 10),
    texts=st.lists(st.one_of(st.none(), st.sampled_from(["", "busy", "fine", "WORKLOAD"]))),
)
def test_any_count_tables_give_json_safe_output(
    tables: list[dict[str, list[int]]], extra: list[int], min_n: int, texts: list[str | None]
) -> None:
    groups = []
    for index, counts in enumerate(tables):
        responses = max(sum(row) for row in counts.values()) + extra[index]
        groups.append(
            GroupAggregates(
                key=f"G{index}", label=f"G{index}", responses=responses, item_counts=counts
            )
        )
    scope_counts = {
        code: np.sum([g.item_counts[code] for g in groups], axis=0)
        if groups
        else np.zeros(POINTS, dtype=int)
        for code in ITEM_CODES
    }
    responses = sum(group.responses for group in groups) + len(texts)
    total = CellAggregates(responses=responses, item_counts=scope_counts)
    summary = build_summary(SPEC, None, total, {"improve": texts}, "practice", groups, min_n)
    text = json.dumps(summary, allow_nan=False)
    assert json.loads(text) == summary
    for group in summary["groups"]:
        for item in group["items"]:
            if item["suppressed"]:
                assert item["counts"] is None and item["flag"] is None
            else:
                # Published: zero answers, or at least k.
                assert item["n"] == 0 or item["n"] >= min_n


def test_the_garbage_collector_is_left_as_it_was_found() -> None:
    total = CellAggregates(responses=3)
    assert gc.isenabled()
    build_summary(SPEC, None, total, {}, None, [], 5)
    assert gc.isenabled()
    with pytest.raises(ValueError):
        build_summary(SPEC, None, total, {}, None, [], 0)
    assert gc.isenabled()
    gc.disable()
    try:
        build_summary(SPEC, None, total, {}, None, [], 5)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_numpy_and_decimal_numbers_from_a_driver_give_plain_json() -> None:
    rng = np.random.default_rng(16)
    matrix = survey_answers(rng, 40)
    plain = aggregates(matrix)
    themes = {
        code: ThemeAggregates(
            scored=np.int64(agg.scored),
            score_sum=np.float64(agg.score_sum),
            score_sum_squares=Decimal(repr(agg.score_sum_squares)),
            complete=Decimal(agg.complete),
            item_sums=tuple(Decimal(v) for v in agg.item_sums),
            item_sum_squares=tuple(np.int64(v) for v in agg.item_sum_squares),
            total_sum=Decimal(agg.total_sum),
            total_sum_squares=np.int64(agg.total_sum_squares),
        )
        for code, agg in plain["themes"].items()
    }
    driver_like = CellAggregates(
        responses=np.int64(40),
        item_counts={
            code: [Decimal(int(c)) for c in row] for code, row in plain["item_counts"].items()
        },
        themes=themes,
    )
    expected = build_summary(SPEC, None, CellAggregates(**plain), {}, None, [], 5)
    got = build_summary(SPEC, None, driver_like, {}, None, [], 5)
    assert json.loads(json.dumps(got, allow_nan=False)) == expected
