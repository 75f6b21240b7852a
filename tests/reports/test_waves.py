"""Comparing a wave with the previous one: every field of ``compare_waves`` checked against
numpy and scipy on the raw answers, and the key-findings sentences on the largest changes."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from reports.narrative import wave_change_sentences
from reports.summary import LikertItemSpec
from reports.waves import compare_waves

Answers = dict[str, np.ndarray]


def item(code: str, points: int = 5, theme: str | None = "supervision") -> LikertItemSpec:
    return LikertItemSpec(code=code, text=f"Statement {code}.", theme=theme, points=points)


def count_table(answers: np.ndarray, points: int) -> list[int]:
    """Tabulate raw answers (values 1..points) into a count table."""
    return np.bincount(np.asarray(answers, dtype=np.int64), minlength=points + 1)[1:].tolist()


def expand(counts: list[int]) -> np.ndarray:
    """The raw answers a count table stands for."""
    return np.repeat(np.arange(1, len(counts) + 1), counts)


def independent_comparison(
    items: list[LikertItemSpec], previous: Answers, current: Answers, min_n: int
) -> list[dict[str, Any]]:
    """The comparison worked out from raw answers with numpy and scipy only."""
    rows: list[dict[str, Any]] = []
    for spec in items:
        before = previous.get(spec.code, np.array([], dtype=np.int64))
        now = current.get(spec.code, np.array([], dtype=np.int64))
        if before.size < min_n or now.size < min_n:
            rows.append({"item": spec.code, "suppressed": True})
            continue
        test = stats.mannwhitneyu(now, before, method="asymptotic", use_continuity=True)
        # Every answer the same value: no test (scipy reports 1.0, the engine null).
        constant = np.unique(np.concatenate([before, now])).size == 1
        top_two = spec.points - 1
        rows.append(
            {
                "item": spec.code,
                "suppressed": False,
                "previous": (before.size, np.mean(before), 100 * np.mean(before >= top_two)),
                "current": (now.size, np.mean(now), 100 * np.mean(now >= top_two)),
                "statistic": float(test.statistic),
                "p": None if constant else float(test.pvalue),
                "effect_size": 2 * float(test.statistic) / (before.size * now.size) - 1,
            }
        )
    tested = [row for row in rows if not row["suppressed"] and row["p"] is not None]
    adjusted = stats.false_discovery_control([row["p"] for row in tested]) if tested else []
    for row, p_adjusted in zip(tested, adjusted, strict=True):
        row["p_adjusted"] = float(p_adjusted)
    for row in rows:
        row.setdefault("p_adjusted", None)
    return rows


def assert_matches(
    actual: list[dict[str, Any]], expected: list[dict[str, Any]], items: list[LikertItemSpec]
) -> None:
    """Every field of the engine's rows against the independent computation."""
    assert [row["item"] for row in actual] == [spec.code for spec in items]
    # JSON has neither NaN nor Infinity: the rows must encode strictly.
    json.dumps(actual, allow_nan=False)
    for row, wanted, spec in zip(actual, expected, items, strict=True):
        assert (row["text"], row["theme"], row["test"]) == (spec.text, spec.theme, "mann-whitney")
        assert row["suppressed"] is wanted["suppressed"]
        if wanted["suppressed"]:
            assert (
                row["previous"]
                == row["current"]
                == dict.fromkeys(("n", "mean", "percent_positive"))
            )
            for key in (
                "change_mean",
                "change_percent_positive",
                "statistic",
                "p",
                "p_adjusted",
                "effect_size",
            ):
                assert row[key] is None, key
            continue
        for wave in ("previous", "current"):
            n, mean, positive = wanted[wave]
            assert row[wave]["n"] == n and type(row[wave]["n"]) is int
            assert row[wave]["mean"] == pytest.approx(mean, rel=1e-12)
            assert row[wave]["percent_positive"] == pytest.approx(positive, rel=1e-12, abs=1e-12)
        assert row["change_mean"] == pytest.approx(
            wanted["current"][1] - wanted["previous"][1], abs=1e-12
        )
        assert row["change_percent_positive"] == pytest.approx(
            wanted["current"][2] - wanted["previous"][2], abs=1e-10
        )
        assert row["statistic"] == pytest.approx(wanted["statistic"], rel=1e-12)
        assert row["effect_size"] == pytest.approx(wanted["effect_size"], rel=1e-9, abs=1e-12)
        for key in ("p", "p_adjusted"):
            if wanted[key] is None:
                assert row[key] is None, key
            else:
                assert row[key] == pytest.approx(wanted[key], rel=1e-9, abs=1e-300), key


def compare_raw(
    items: list[LikertItemSpec], previous: Answers, current: Answers, min_n: int = 5
) -> list[dict[str, Any]]:
    """Run the engine on the count tables of raw answers and check it against them."""
    points = {spec.code: spec.points for spec in items}
    actual = compare_waves(
        items,
        {code: count_table(answers, points[code]) for code, answers in previous.items()},
        {code: count_table(answers, points[code]) for code, answers in current.items()},
        min_n,
    )
    assert_matches(actual, independent_comparison(items, previous, current, min_n), items)
    return actual


# --- the statistics -------------------------------------------------------------------------


def test_random_waves_on_five_and_four_point_scales_match_scipy() -> None:
    rng = np.random.default_rng(2024)
    for _ in range(40):
        items = [
            item(f"q{index}", points=int(rng.choice([4, 5]))) for index in range(rng.integers(1, 9))
        ]
        previous, current = {}, {}
        for spec in items:
            # Few scale values and many answers: ties everywhere.
            weights = rng.dirichlet(np.ones(spec.points))
            shifted = rng.dirichlet(np.ones(spec.points))
            previous[spec.code] = rng.choice(
                np.arange(1, spec.points + 1), size=rng.integers(5, 120), p=weights
            )
            current[spec.code] = rng.choice(
                np.arange(1, spec.points + 1), size=rng.integers(5, 120), p=shifted
            )
        compare_raw(items, previous, current)


def test_a_rise_reads_as_positive_changes_and_effect_size() -> None:
    rows = compare_raw(
        [item("sup_named")],
        {"sup_named": np.array([2, 3, 3, 4, 4, 4, 5, 2, 3, 4])},
        {"sup_named": np.array([4, 5, 5, 4, 5, 5, 3, 5, 4, 5])},
    )
    assert rows[0]["change_mean"] > 0 and rows[0]["change_percent_positive"] > 0
    assert rows[0]["effect_size"] > 0
    assert rows[0]["p"] < 0.05


def test_one_wave_constant() -> None:
    rows = compare_raw(
        [item("a"), item("b", points=4)],
        {"a": np.array([1, 2, 3, 4, 5, 5, 4, 3]), "b": np.full(9, 3)},
        {"a": np.full(7, 5), "b": np.array([1, 2, 2, 4, 4, 3, 1])},
    )
    assert rows[0]["p"] is not None and rows[1]["p"] is not None


def test_both_waves_constant_on_one_value_have_no_test() -> None:
    previous = {"same": np.full(6, 4), "other": np.array([1, 2, 2, 3, 3, 4, 5, 5])}
    current = {"same": np.full(9, 4), "other": np.array([3, 4, 4, 5, 5, 5, 5, 2])}
    # scipy reports p = 1 here, from a zero variance; the engine leaves the test undefined.
    assert stats.mannwhitneyu(current["same"], previous["same"], method="asymptotic").pvalue == 1
    rows = compare_raw([item("same"), item("other")], previous, current)
    same = rows[0]
    assert same["p"] is None and same["p_adjusted"] is None
    assert same["statistic"] == 6 * 9 / 2 and same["effect_size"] == 0
    assert same["change_mean"] == 0 and same["change_percent_positive"] == 0
    # An undefined test takes no part in the adjustment: one p-value adjusts to itself.
    assert rows[1]["p_adjusted"] == rows[1]["p"]


def test_both_waves_constant_on_different_values() -> None:
    rows = compare_raw([item("a")], {"a": np.full(6, 3)}, {"a": np.full(8, 4)})
    assert rows[0]["effect_size"] == 1.0
    assert rows[0]["p"] is not None


@pytest.mark.parametrize("min_n", [1, 5, 10])
def test_an_item_short_of_k_answers_in_either_wave_is_withheld(min_n: int) -> None:
    rng = np.random.default_rng(min_n)
    items = [item("short_before"), item("short_now", points=4), item("enough"), item("absent")]
    previous = {
        "short_before": rng.integers(1, 6, size=min_n - 1),
        "short_now": rng.integers(1, 5, size=min_n + 3),
        "enough": rng.integers(1, 6, size=min_n),
    }
    current = {
        "short_before": rng.integers(1, 6, size=40),
        "short_now": rng.integers(1, 5, size=min_n - 1),
        "enough": rng.integers(1, 6, size=min_n),
        "absent": rng.integers(1, 6, size=30),
    }
    rows = compare_raw(items, previous, current, min_n)
    assert [row["suppressed"] for row in rows] == [True, True, False, True]


def test_withheld_items_take_no_part_in_the_adjustment() -> None:
    rng = np.random.default_rng(7)
    previous = {code: rng.integers(1, 6, size=30) for code in "abc"}
    current = {code: rng.integers(2, 6, size=30) for code in "abc"}
    previous["c"] = previous["c"][:4]
    rows = compare_raw([item(code) for code in "abc"], previous, current)
    tested = [row["p"] for row in rows[:2]]
    assert [row["p_adjusted"] for row in rows[:2]] == pytest.approx(
        stats.false_discovery_control(tested).tolist(), rel=1e-12
    )


def test_waves_of_millions_of_answers_stay_exact() -> None:
    rng = np.random.default_rng(3)
    # N^3 for N = 2.3 million answers is beyond int64.
    previous = {"big": rng.choice(np.arange(1, 6), size=1_200_000, p=[0.1, 0.1, 0.2, 0.3, 0.3])}
    current = {"big": rng.choice(np.arange(1, 6), size=1_100_000, p=[0.1, 0.1, 0.2, 0.31, 0.29])}
    compare_raw([item("big")], previous, current)


def test_refuses_inconsistent_input() -> None:
    items = [item("a"), item("b", points=4)]
    good = {"a": [1, 2, 3, 4, 5], "b": [1, 2, 3, 4]}
    with pytest.raises(ValueError, match="4 points"):
        compare_waves(items, good, {"a": [1, 2, 3, 4, 5], "b": [1, 2, 3, 4, 5]}, 5)
    with pytest.raises(ValueError, match="not among the items"):
        compare_waves(items, {**good, "zz": [1, 1]}, good, 5)
    with pytest.raises(ValueError, match=">= 0"):
        compare_waves(items, {**good, "a": [1, -1, 3, 4, 5]}, good, 5)
    with pytest.raises(ValueError, match="duplicate"):
        compare_waves([item("a"), item("a")], {}, {}, 5)
    with pytest.raises(ValueError, match="minimum cell size"):
        compare_waves(items, good, good, 0)


def test_no_items_compare_to_an_empty_list() -> None:
    assert compare_waves([], {}, {}, 5) == []


@st.composite
def waves(draw: st.DrawFn) -> tuple[list[LikertItemSpec], dict, dict, int]:
    """Items on 2- to 7-point scales (mostly 4 and 5) with arbitrary count tables per wave."""
    points = draw(st.lists(st.sampled_from([4, 5, 5, 4, 2, 3, 7]), min_size=1, max_size=6))
    items = [item(f"q{index}", points=k) for index, k in enumerate(points)]
    counts = st.integers(min_value=0, max_value=30)
    previous = {
        spec.code: draw(st.lists(counts, min_size=spec.points, max_size=spec.points))
        for spec in items
    }
    current = {
        spec.code: draw(st.lists(counts, min_size=spec.points, max_size=spec.points))
        for spec in items
    }
    return items, previous, current, draw(st.integers(min_value=1, max_value=8))


@settings(max_examples=150, deadline=None)
@given(waves())
def test_generated_count_tables_match_scipy_on_raw_answers(
    case: tuple[list[LikertItemSpec], dict, dict, int],
) -> None:
    items, previous, current, min_n = case
    actual = compare_waves(items, previous, current, min_n)
    expected = independent_comparison(
        items,
        {code: expand(counts) for code, counts in previous.items()},
        {code: expand(counts) for code, counts in current.items()},
        min_n,
    )
    assert_matches(actual, expected, items)


# --- the key-findings sentences --------------------------------------------------------------


def shifted_answers(rng: np.random.Generator, size: int, positive: float) -> np.ndarray:
    """Answers on a 5-point scale with roughly ``positive`` of them in the top two points."""
    rest = (1 - positive) / 3
    return rng.choice(np.arange(1, 6), size=size, p=[rest, rest, rest, positive / 2, positive / 2])


def test_the_largest_significant_changes_are_named_first_and_at_most_three() -> None:
    rng = np.random.default_rng(12)
    items = [item(code) for code in ("steady", "small", "large", "fall", "middle", "hidden")]
    previous = {spec.code: shifted_answers(rng, 400, 0.5) for spec in items}
    current = {
        "steady": previous["steady"].copy(),
        "small": shifted_answers(rng, 400, 0.62),
        "large": shifted_answers(rng, 400, 0.9),
        "fall": shifted_answers(rng, 400, 0.25),
        "middle": shifted_answers(rng, 400, 0.72),
        # The biggest change of all, but too few answers now to be published.
        "hidden": np.full(4, 5),
    }
    comparison = compare_raw(items, previous, current)
    sentences = wave_change_sentences(comparison, "Wave 1")

    tested = [spec.code for spec in items if spec.code != "hidden"]
    p_adjusted = dict(
        zip(
            tested,
            stats.false_discovery_control(
                [
                    stats.mannwhitneyu(current[code], previous[code], method="asymptotic").pvalue
                    for code in tested
                ]
            ),
            strict=True,
        )
    )

    def positive(answers: np.ndarray) -> float:
        return 100 * float(np.mean(answers >= 4))

    significant = [code for code in tested if p_adjusted[code] < 0.05]
    assert "large" in significant and "fall" in significant and "steady" not in significant
    order = sorted(
        significant, key=lambda code: -abs(positive(current[code]) - positive(previous[code]))
    )[:3]
    assert len(sentences) == 3

    def verb(code: str) -> str:
        return "rose" if positive(current[code]) > positive(previous[code]) else "fell"

    def p_text(code: str) -> str:
        return "< 0.001" if p_adjusted[code] < 0.001 else f"= {p_adjusted[code]:.3f}"

    expected = [
        f"“Statement {code}”: % positive {verb(code)} from {positive(previous[code]):.1f}% to "
        f"{positive(current[code]):.1f}% since Wave 1, and the mean from "
        f"{np.mean(previous[code]):.2f} to {np.mean(current[code]):.2f} "
        f"(p {p_text(code)} after adjustment)."
        for code in order
    ]
    assert list(sentences) == expected
    assert not any("hidden" in sentence for sentence in sentences)


def comparison_row(
    code: str,
    change_positive: float,
    change_mean: float,
    p_adjusted: float | None,
    *,
    suppressed: bool = False,
) -> dict[str, Any]:
    """A hand-built row of a comparison, as compare_waves lays it out."""
    if suppressed:
        hidden = dict.fromkeys(("n", "mean", "percent_positive"))
        return {
            "item": code,
            "text": f"{code}.",
            "previous": hidden,
            "current": hidden,
            "change_mean": None,
            "change_percent_positive": None,
            "p": None,
            "p_adjusted": None,
            "effect_size": None,
            "suppressed": True,
        }
    return {
        "item": code,
        "text": f"{code}.",
        "previous": {"n": 50, "mean": 3.0, "percent_positive": 50.0},
        "current": {"n": 50, "mean": 3.0 + change_mean, "percent_positive": 50.0 + change_positive},
        "change_mean": change_mean,
        "change_percent_positive": change_positive,
        "p": p_adjusted,
        "p_adjusted": p_adjusted,
        "effect_size": 0.3 if change_mean > 0 else -0.3,
        "suppressed": False,
    }


def test_order_is_by_percent_positive_then_mean_then_question_order() -> None:
    comparison = [
        comparison_row("First", 10.0, 0.1, 0.01),
        comparison_row("Second", -10.0, -0.4, 0.01),
        comparison_row("Third", 10.0, 0.1, 0.01),
        comparison_row("Fourth", 20.0, 0.05, 0.01),
    ]
    sentences = wave_change_sentences(comparison, "Wave 2")
    assert [sentence.split("”")[0] for sentence in sentences] == ["“Fourth", "“Second", "“First"]
    assert sentences[1] == (
        "“Second”: % positive fell from 50.0% to 40.0% since Wave 2, and the mean from 3.00 "
        "to 2.60 (p = 0.010 after adjustment)."
    )


def test_a_change_is_significant_on_its_adjusted_p_only() -> None:
    comparison = [
        comparison_row("Just under", 2.0, 0.1, 0.0499),
        comparison_row("At the line", 30.0, 1.0, 0.05),
        comparison_row("Undefined", 0.0, 0.0, None),
        comparison_row("Withheld", 0.0, 0.0, None, suppressed=True),
    ]
    comparison[1]["p"] = 0.01  # significant before adjustment, not after
    assert wave_change_sentences(comparison, "Wave 1") == (
        "“Just under”: % positive rose from 50.0% to 52.0% since Wave 1, and the mean from "
        "3.00 to 3.10 (p = 0.050 after adjustment).",
    )


def test_mixed_and_unchanged_figures_read_as_they_moved() -> None:
    comparison = [
        comparison_row("Mixed", 1.0, -0.2, 0.001),
        comparison_row("Mean only", 0.0, 0.3, 0.0001),
        comparison_row("Ranks only", 0.0, 0.001, 0.02),
    ]
    assert wave_change_sentences(comparison, "Wave 1") == (
        "“Mixed”: % positive rose from 50.0% to 51.0% since Wave 1, and the mean fell from "
        "3.00 to 2.80 (p = 0.001 after adjustment).",
        "“Mean only”: % positive stayed at 50.0% since Wave 1, and the mean rose from 3.00 to "
        "3.30 (p < 0.001 after adjustment).",
        "“Ranks only”: answers shifted up since Wave 1, though % positive stayed at 50.0% and "
        "the mean at 3.00 (p = 0.020 after adjustment).",
    )


def test_without_a_significant_change_one_sentence_says_how_many_were_compared() -> None:
    rng = np.random.default_rng(5)
    items = [item(code) for code in ("a", "b", "c", "d", "e")]
    answers = {spec.code: rng.integers(1, 6, size=60) for spec in items}
    previous = {**answers, "e": answers["e"][:3]}
    comparison = compare_raw(items, previous, answers)
    assert wave_change_sentences(comparison, "Wave 3") == (
        "None of the 4 statements compared changed significantly since Wave 3 "
        "(Mann-Whitney test, adjusted p below 0.05).",
    )
    one = [comparison_row("Only", 1.0, 0.1, 0.4)]
    assert wave_change_sentences(one, "Wave 3") == (
        "The one statement compared did not change significantly since Wave 3 "
        "(Mann-Whitney test, adjusted p below 0.05).",
    )
    withheld = [comparison_row("Hidden", 0.0, 0.0, None, suppressed=True)]
    assert wave_change_sentences(withheld, "Wave 3") == (
        "No statement had enough answers both in this wave and in Wave 3 to compare them.",
    )


def test_sentence_count_is_refused_below_zero() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        wave_change_sentences([], "Wave 1", count=-1)
