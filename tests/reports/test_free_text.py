"""Free-text codebook matching and its suppression."""

from __future__ import annotations

import random

import pytest

from reports.free_text import (
    TextTheme,
    count_mentions,
    summarise_text_question,
    summarise_text_themes,
)
from reports.text_coding import ThemeRules

WORKLOAD = TextTheme("workload", "Workload", (r"\bbusy\b", r"work ?load", r"understaff"))
SUPERVISION = TextTheme("supervision", "Supervision", (r"supervis", r"\bmentor"))


def test_matching_is_case_insensitive_and_any_pattern_counts() -> None:
    answers = [
        "Far too BUSY on Mondays",
        "Workload was fine; my supervisor was great",
        "Understaffed and no mentor",
        "Lovely team",
    ]
    counts = count_mentions(answers, (WORKLOAD, SUPERVISION))
    assert counts.answered == 4
    assert counts.mentions == {"workload": 3, "supervision": 2}


def test_unanswered_answers_are_not_counted() -> None:
    counts = count_mentions([None, "", "   ", "\n", "busy"], (WORKLOAD,))
    assert counts.answered == 1
    assert counts.mentions == {"workload": 1}


def test_percent_is_of_every_response_in_scope() -> None:
    answers = ["busy", "busy day", "fine", "ok", "workload", "busy week", "busy", None, None]
    summary = summarise_text_question("q_text", answers, (WORKLOAD,), responses=40, min_n=5)
    assert summary == {
        "question": "q_text",
        "answered": 7,
        "themes": [
            {
                "code": "workload",
                "label": "Workload",
                "mentions": 5,
                "of": 40,
                "percent": 12.5,
                "suppressed": False,
            }
        ],
    }


def test_fewer_than_k_mentions_are_withheld_and_zero_is_published() -> None:
    answers = ["busy", "busy", "my supervisor", "fine", "ok", "good", None]
    summary = summarise_text_question(
        "q_text", answers, (WORKLOAD, SUPERVISION), responses=30, min_n=2
    )
    assert summary["answered"] == 6
    workload, supervision = summary["themes"]
    assert (workload["mentions"], workload["suppressed"]) == (2, False)
    assert (supervision["mentions"], supervision["percent"]) == (None, None)
    assert supervision["suppressed"] is True
    nobody = summarise_text_question("q", ["fine"] * 5, (WORKLOAD,), responses=5, min_n=5)
    assert nobody["themes"][0]["mentions"] == 0 and nobody["themes"][0]["suppressed"] is False


def test_fewer_than_k_answers_withholds_answered_mentions_and_percent() -> None:
    summary = summarise_text_question(
        "q_text", ["busy", "busy", "", None], (WORKLOAD, SUPERVISION), responses=30, min_n=5
    )
    assert summary["answered"] is None  # 2 answers: a count in 1..k-1 is withheld too
    for theme in summary["themes"]:
        assert theme["mentions"] is None and theme["percent"] is None
        assert theme["suppressed"] is True
        assert theme["of"] == 30


def test_mentions_of_fewer_than_k_are_withheld_and_none_are_published() -> None:
    answers = ["busy", "busy", "fine", "ok", "good", "great", None]
    summary = summarise_text_question(
        "q_text", answers, (WORKLOAD, SUPERVISION), responses=30, min_n=5
    )
    assert summary["answered"] == 6
    workload, supervision = summary["themes"]
    assert workload["mentions"] is None and workload["suppressed"] is True  # 2 mentions
    assert supervision["mentions"] == 0 and supervision["percent"] == 0.0
    assert supervision["suppressed"] is False


def test_a_question_withheld_by_the_caller_withholds_its_counts() -> None:
    answers = ["busy"] * 8
    summary = summarise_text_question(
        "q_text", answers, (WORKLOAD,), responses=30, min_n=5, withheld=True
    )
    assert summary["answered"] is None
    assert summary["themes"][0]["mentions"] is None and summary["themes"][0]["suppressed"]


def test_a_question_without_a_codebook_reports_only_answered() -> None:
    summary = summarise_text_question("q", ["a", "b"], (), responses=2, min_n=1)
    assert summary == {"question": "q", "answered": 2, "themes": []}


def test_refusals() -> None:
    with pytest.raises(ValueError):
        TextTheme("bad", "Bad", ("(unclosed",))
    with pytest.raises(ValueError):
        TextTheme("none", "No patterns", ())
    with pytest.raises(ValueError):
        TextTheme("str", "A string, not a tuple", "busy")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        count_mentions(["x"], (WORKLOAD, WORKLOAD))
    with pytest.raises(ValueError):
        summarise_text_question("q", ["a", "b", "c"], (WORKLOAD,), responses=2, min_n=1)


def test_themes_compare_by_their_definition() -> None:
    assert TextTheme("a", "A", ("x",)) == TextTheme("a", "A", ("x",))
    assert hash(TextTheme("a", "A", ("x",))) == hash(TextTheme("a", "A", ("x",)))


HUBS = TextTheme(
    "training-hubs",
    "Training hubs",
    rules=ThemeRules("training-hubs", "Training hubs", ("training hub",), negation=True),
)
ARRS = TextTheme("arrs", "ARRS", (r"\bARRS\b",))


def _leaders(rng: random.Random, count: int) -> list[dict[str, str | None]]:
    """Answers of ``count`` leaders to three questions, some mentioning hubs in one or more."""
    sayings = [
        "Our training hub is key",
        "The training-hub runs fellowships",
        "We have no training hub",
        "ARRS money went on pharmacists",
        "Demand keeps rising",
        "",
        None,
    ]
    return [
        {code: rng.choice(sayings) for code in ("support", "challenges", "change")}
        for _ in range(count)
    ]


def test_text_themes_count_each_respondent_once_across_every_question() -> None:
    rng = random.Random(12)
    leaders = _leaders(rng, 42)
    codes = ("support", "challenges", "change")
    answers = {code: [leader[code] for leader in leaders] for code in codes}
    keys = {code: [f"R{index}" for index in range(len(leaders))] for code in codes}
    # Answers in another order than the leaders': the keys say whose each one is.
    for code in codes:
        order = list(range(len(leaders)))
        rng.shuffle(order)
        answers[code] = [answers[code][i] for i in order]
        keys[code] = [keys[code][i] for i in order]
    rows = summarise_text_themes(
        [(code, (HUBS, ARRS)) for code in codes], answers, keys, responses=45, min_n=5
    )

    def says(text: str | None, words: tuple[str, ...]) -> bool:
        return text is not None and any(word in text for word in words)

    wrote = sum(1 for leader in leaders if any(text for text in leader.values()))
    hubs = sum(
        1
        for leader in leaders
        if any(says(text, ("Our training hub", "training-hub")) for text in leader.values())
    )
    arrs = sum(1 for leader in leaders if any(says(t, ("ARRS",)) for t in leader.values()))
    assert hubs >= 5 and arrs >= 5
    assert rows == [
        {
            "code": "training-hubs",
            "label": "Training hubs",
            "respondents": hubs,
            "of": 45,
            "of_answered": wrote,
            "percent": 100 * hubs / 45,
            "suppressed": False,
        },
        {
            "code": "arrs",
            "label": "ARRS",
            "respondents": arrs,
            "of": 45,
            "of_answered": wrote,
            "percent": 100 * arrs / 45,
            "suppressed": False,
        },
    ]
    # Counted per answer instead, a leader mentioning hubs twice would count twice.
    per_answer = sum(
        summarise_text_question(code, answers[code], (HUBS,), 45, 5)["themes"][0]["mentions"] or 0
        for code in codes
    )
    assert per_answer > hubs


def test_text_themes_withhold_counts_under_k_and_publish_zero() -> None:
    answers = {
        "a": ["Our training hub helps", "fine", "fine", "fine", "fine", "fine"],
        "b": [None, "The training hub again", None, None, None, "ok"],
    }
    rows = summarise_text_themes([("a", (HUBS, ARRS)), ("b", (HUBS,))], answers, None, 10, 2)
    hubs, arrs = rows
    # Aligned by position: the first respondent mentioned hubs twice, the second once.
    assert (hubs["respondents"], hubs["of_answered"], hubs["suppressed"]) == (2, 6, False)
    assert (arrs["respondents"], arrs["percent"], arrs["suppressed"]) == (0, 0.0, False)
    withheld = summarise_text_themes([("a", (HUBS,)), ("b", (HUBS,))], answers, None, 10, 3)
    assert withheld[0]["respondents"] is None and withheld[0]["suppressed"] is True
    assert withheld[0]["of_answered"] == 6
    few = summarise_text_themes([("a", (HUBS,))], {"a": ["Our training hub"]}, None, 10, 3)
    assert few[0]["of_answered"] is None and few[0]["suppressed"] is True


def test_text_themes_refuse_inconsistent_respondents() -> None:
    with pytest.raises(ValueError, match="2 answers, 1 respondents"):
        summarise_text_themes([("a", (HUBS,))], {"a": ["x", "y"]}, {"a": ["R1"]}, 5, 1)
    with pytest.raises(ValueError, match="3 responses wrote text but only 2"):
        summarise_text_themes([("a", (HUBS,))], {"a": ["x", "y", "z"]}, None, 2, 1)
    with pytest.raises(ValueError, match="rules of 'arrs'"):
        TextTheme("hubs", "Hubs", rules=ThemeRules("arrs", "ARRS", ("arrs",)))
