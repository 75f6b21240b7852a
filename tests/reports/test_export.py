"""CSV and XLSX exports of the summary: every figure carried, formulas neutralised."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from openpyxl import load_workbook

from reports.export import neutralise, summary_to_csv, summary_to_xlsx
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

SPEC = SurveySpec(
    slug="s",
    title="Survey",
    items=(
        LikertItemSpec("q1", '=HYPERLINK("http://x")', "t", 5),
        LikertItemSpec("q2", "-2 is how I felt", "t", 5),
        LikertItemSpec("q3", "Plain statement", None, 4),
    ),
    themes=(ThemeSpec("t", "@Theme", ("q1", "q2")),),
    text_questions=(
        TextQuestionSpec("c", "Comments", (TextTheme("w", "+Workload", ("busy",)),)),
        TextQuestionSpec("d", "Other", ()),
    ),
)


def cell(rng: np.random.Generator, respondents: int) -> dict:
    answers = rng.integers(1, 6, size=(respondents, 3)).astype(float)
    answers[:, 2] = np.minimum(answers[:, 2], 4)
    return {
        "responses": respondents,
        "item_counts": {
            "q1": np.bincount(answers[:, 0].astype(int), minlength=6)[1:],
            "q2": np.bincount(answers[:, 1].astype(int), minlength=6)[1:],
            "q3": np.bincount(answers[:, 2].astype(int), minlength=5)[1:],
        },
        "themes": {"t": ThemeAggregates.from_matrix(answers[:, :2])},
    }


_TEXT_THEME_HEADER = (
    "code",
    "label",
    "respondents",
    "of",
    "of_answered",
    "percent",
    "suppressed",
    "sentence",
)


@pytest.fixture(scope="module")
def summary() -> dict:
    rng = np.random.default_rng(99)
    groups = [
        GroupAggregates(key="A1", label="\tTabbed practice", **cell(rng, 30)),
        GroupAggregates(key="B2", label="Small practice", **cell(rng, 3)),
        GroupAggregates(key="C3", label="\rCarriage", **cell(rng, 25)),
        GroupAggregates(key="D4", label="Normal", **cell(rng, 40)),
    ]
    total = CellAggregates(**cell(rng, 98))
    return build_summary(
        SPEC,
        {"code": "=cmd", "name": "Scope", "level": "icb"},
        total,
        {"c": ["busy"] * 10},
        "practice",
        groups,
        5,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20", "'+44 20"),
        ("-x", "'-x"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (-1.5, -1.5),
        (3, 3),
        (None, None),
        (True, True),
    ],
)
def test_neutralise(value: object, expected: object) -> None:
    assert neutralise(value) == expected


def test_csv_has_a_row_per_place_and_item_or_theme_with_every_field(summary: dict) -> None:
    rows = list(csv.DictReader(io.StringIO(summary_to_csv(summary))))
    assert len(rows) == (1 + 4) * (3 + 1)
    header = list(rows[0])
    assert header[:6] == ["level", "group_key", "group_label", "responses", "kind", "code"]
    assert [f"count_{v}" for v in range(1, 6)] == [c for c in header if c.startswith("count_")]
    assert header[-2:] == ["suppressed", "flag"]

    scope_q2 = next(r for r in rows if r["level"] == "scope" and r["code"] == "q2")
    item = summary["items"][1]
    assert scope_q2["group_key"] == "'=cmd"
    assert scope_q2["label"] == "'-2 is how I felt"
    assert float(scope_q2["mean"]) == item["mean"]  # repr round-trips exactly
    assert float(scope_q2["net_agreement"]) == item["net_agreement"]
    assert float(scope_q2["ci95_upper"]) == item["ci95"][1]
    assert int(scope_q2["count_3"]) == item["counts"]["3"]
    assert scope_q2["suppressed"] == "false" and scope_q2["flag"] == ""
    assert scope_q2["alpha"] == ""

    scope_q3 = next(r for r in rows if r["level"] == "scope" and r["code"] == "q3")
    assert scope_q3["count_5"] == ""  # a 4-point item has no fifth count

    theme = next(r for r in rows if r["level"] == "scope" and r["kind"] == "theme")
    assert theme["label"] == "'@Theme"
    assert float(theme["alpha"]) == summary["themes"][0]["alpha"]

    small = [r for r in rows if r["group_key"] == "B2"]
    assert len(small) == 4
    assert all(r["suppressed"] == "true" and r["mean"] == "" for r in small)
    assert all(r["responses"] == "" for r in small)

    tabbed = [r for r in rows if r["group_key"] == "A1"]
    assert all(r["group_label"] == "'\tTabbed practice" for r in tabbed)
    assert {r["flag"] for r in tabbed} <= {"none", "red", "pink", "green", "light-green", ""}


def test_no_text_cell_of_the_csv_can_start_a_formula(summary: dict) -> None:
    for row in csv.reader(io.StringIO(summary_to_csv(summary))):
        for value in row:
            if value.startswith(("=", "+", "@", "\t", "\r")):
                pytest.fail(f"formula trigger left in {value!r}")
            if value.startswith("-"):
                float(value)  # only negative numbers may start with a minus


def test_xlsx_sheets_numbers_and_neutralised_text(summary: dict) -> None:
    workbook = load_workbook(io.BytesIO(summary_to_xlsx(summary)))
    assert workbook.sheetnames == [
        "Items",
        "Themes",
        "Groups",
        "Comparisons",
        "Wave changes",
        "Free text",
        "Text themes",
    ]
    # A summary comparing no waves: the sheet has its header row only.
    assert [row[:3] for row in workbook["Wave changes"].iter_rows(values_only=True)] == [
        ("previous_wave", "current_wave", "item")
    ]

    items = list(workbook["Items"].iter_rows(values_only=True))
    header, body = items[0], items[1:]
    assert len(body) == (1 + 4) * 3
    scope_q2 = dict(zip(header, body[1], strict=True))
    assert scope_q2["label"] == "'-2 is how I felt"
    # openpyxl writes 16 significant digits ("%.16g"); Excel itself shows 15.
    assert scope_q2["mean"] == pytest.approx(summary["items"][1]["mean"], rel=1e-15)
    assert isinstance(scope_q2["net_agreement"], float)
    assert scope_q2["suppressed"] is False
    for row in body:
        for value in row:
            assert not (isinstance(value, str) and value.startswith(("=", "+", "-", "@")))

    themes = list(workbook["Themes"].iter_rows(values_only=True))
    theme = dict(zip(themes[0], themes[1], strict=True))
    assert theme["alpha"] == pytest.approx(summary["themes"][0]["alpha"], rel=1e-15)
    assert theme["label"] == "'@Theme"

    groups = list(workbook["Groups"].iter_rows(values_only=True))
    assert groups[0] == ("key", "label", "responses", "suppressed")
    assert groups[2] == ("B2", "Small practice", None, True)

    comparisons = list(workbook["Comparisons"].iter_rows(values_only=True))
    assert len(comparisons) == 1 + len(summary["comparisons"])
    first = dict(zip(comparisons[0], comparisons[1], strict=True))
    assert first["statistic"] == pytest.approx(summary["comparisons"][0]["statistic"], rel=1e-15)
    assert first["p_adjusted"] == pytest.approx(summary["comparisons"][0]["p_adjusted"], rel=1e-15)

    free_text = list(workbook["Free text"].iter_rows(values_only=True))
    assert free_text[1] == ("c", 10, "w", "'+Workload", 10, 98, pytest.approx(100 * 10 / 98), False)
    assert free_text[2][:2] == ("d", 0)

    # Per respondent across the text questions: the ten who wrote "busy" are the ten who wrote.
    text_themes = list(workbook["Text themes"].iter_rows(values_only=True))
    assert text_themes[0] == _TEXT_THEME_HEADER
    row = dict(zip(text_themes[0], text_themes[1], strict=True))
    assert (row["code"], row["respondents"], row["of"], row["of_answered"]) == ("w", 10, 98, 10)
    assert row["percent"] == pytest.approx(100 * 10 / 98)
    assert row["sentence"].startswith("10 of 98 ")
    assert row["sentence"].endswith(
        " (10%) mentioned +Workload in any answer; 10 of 10 who wrote anything."
    )
