"""Key findings: highest and lowest rated statements, and groups flagged red or green."""

from __future__ import annotations

from typing import Any

import pytest

from reports.findings import FlaggedGroup, RankedStatement, key_findings, rank_statements


def item(code: str, mean: float | None, n: int = 20, suppressed: bool = False) -> dict[str, Any]:
    return {
        "code": code,
        "text": f"Statement {code}",
        "mean": mean,
        "n": n,
        "suppressed": suppressed,
    }


def summary_with(items: list[dict[str, Any]], groups: list[dict[str, Any]] | None = None) -> dict:
    return {"items": items, "themes": [], "groups": groups or []}


def codes(statements: tuple[RankedStatement, ...]) -> list[str]:
    return [statement.code for statement in statements]


def test_top_and_bottom_three_by_mean() -> None:
    items = [item(f"q{i}", mean) for i, mean in enumerate([3.1, 4.5, 2.2, 3.9, 1.8, 4.1, 2.9, 3.3])]
    findings = key_findings(summary_with(items))
    assert codes(findings.highest) == ["q1", "q5", "q3"]
    assert codes(findings.lowest) == ["q4", "q2", "q6"]
    assert findings.highest[0] == RankedStatement("q1", "Statement q1", 4.5, 20)


def test_ties_go_to_survey_order_in_both_lists() -> None:
    items = [item("a", 3.0), item("b", 4.0), item("c", 4.0), item("d", 2.0), item("e", 2.0)]
    items += [item("f", 4.0), item("g", 2.0), item("h", 3.0)]
    findings = key_findings(summary_with(items))
    assert codes(findings.highest) == ["b", "c", "f"]
    assert codes(findings.lowest) == ["d", "e", "g"]


def test_suppressed_and_empty_items_are_not_ranked() -> None:
    items = [item("a", 5.0, suppressed=True), item("b", None), item("c", 3.0), item("d", 1.0)]
    items[0]["mean"] = None  # as the summary publishes a withheld item
    findings = key_findings(summary_with(items))
    assert codes(findings.highest) == ["c", "d"]
    assert findings.lowest == ()


def test_a_statement_is_never_both_highest_and_lowest() -> None:
    items = [item(code, mean) for code, mean in zip("abcd", [1.0, 2.0, 3.0, 4.0], strict=True)]
    highest, lowest = rank_statements(summary_with(items))
    assert codes(highest) == ["d", "c", "b"]
    assert codes(lowest) == ["a"]
    with pytest.raises(ValueError):
        rank_statements(summary_with(items), count=-1)


def test_red_and_green_groups_in_survey_then_key_order() -> None:
    def row(code: str, flag: str | None, mean: float | None) -> dict[str, Any]:
        return {"code": code, "text": f"T {code}", "title": f"T {code}", "flag": flag, "mean": mean}

    groups = [
        {
            "key": "A",
            "label": "Alpha",
            "suppressed": False,
            "items": [row("q1", "green", 4.6), row("q2", "red", 1.2)],
            "themes": [row("th", "red", 1.5)],
        },
        {"key": "B", "label": "Beta", "suppressed": True, "items": [], "themes": []},
        {
            "key": "C",
            "label": "Gamma",
            "suppressed": False,
            "items": [row("q1", "green", 4.8), row("q2", "pink", 2.0)],
            "themes": [row("th", None, None)],
        },
    ]
    items = [item("q1", 4.0), item("q2", 2.5)]
    findings = key_findings({"items": items, "themes": [{"code": "th"}], "groups": groups})
    assert findings.red == (
        FlaggedGroup("A", "Alpha", "item", "q2", "T q2", "red", 1.2),
        FlaggedGroup("A", "Alpha", "theme", "th", "T th", "red", 1.5),
    )
    assert [(g.key, g.code) for g in findings.green] == [("A", "q1"), ("C", "q1")]
    assert findings.to_json()["red"][0] == {
        "key": "A",
        "label": "Alpha",
        "kind": "item",
        "code": "q2",
        "text": "T q2",
        "flag": "red",
        "mean": 1.2,
    }
