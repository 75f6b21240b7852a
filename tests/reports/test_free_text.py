"""Free-text codebook matching and its suppression."""

from __future__ import annotations

import pytest

from reports.free_text import TextTheme, count_mentions, summarise_text_question

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


def test_fewer_than_k_answers_withholds_mentions_and_percent() -> None:
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
