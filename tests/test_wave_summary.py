"""The comparison of a wave with the one before, as a quality lead meets it: in the summary
JSON read from the database, in the XLSX export and in the PDF report.

Two waves of known answers are stored through `import_responses`; in the second, learners rate
one supervision statement much higher. Every figure of `"wave_comparison"` is recomputed here
from the answers of each wave read back from the Answer rows (not the responses' stored
vectors the summary reads), with numpy and scipy (`mannwhitneyu`, `false_discovery_control`).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient, FlaskCliRunner
from openpyxl import load_workbook
from sqlmodel import Session

from reports.export import summary_to_xlsx
from survey_app.models import (
    Answer,
    Organisation,
    Question,
    QuestionType,
    Response,
    Survey,
    Wave,
)
from survey_app.reporting.summary_data import load_summary
from survey_app.services.organisations import organisation_by_code
from survey_app.services.responses import import_responses
from tests.test_pdf_report import pdf_text
from tests.test_summary_data import (
    MIN_N,
    ORGANISATIONS,
    PLACEMENT,
    KnownAnswers,
    ancestor,
    assert_same,
    expected_summary,
    expected_wave_items,
    generate_answers,
    scope_of,
)
from tests.test_waves import next_wave, reloaded

SLUG = "placement-quality"
#: The statement learners rate much higher in wave 2, and the one answered by too few in it.
IMPROVED = "sup_access"
SCARCE = "learn_feedback"


@pytest.fixture
def two_waves(
    db_session: Session,
    surveys: dict[str, Survey],
    make_orgs: Callable[..., dict[str, Organisation]],
) -> tuple[KnownAnswers, KnownAnswers]:
    """Wave 1 ("Wave 1") and wave 2 ("2026/27 rotation 1", open) of known answers, stored.

    In wave 2 every answer to IMPROVED is a point higher (at most 5) and SCARCE has only
    MIN_N - 1 answers in all.
    """
    make_orgs(*ORGANISATIONS)
    first = generate_answers(PLACEMENT, seed=31)
    second = generate_answers(PLACEMENT, seed=32)
    second.ratings[IMPROVED][:] = np.minimum(second.ratings[IMPROVED] + 1, 5)
    scarce = second.ratings[SCARCE]
    scarce[np.flatnonzero(~np.isnan(scarce))[MIN_N - 1 :]] = np.nan
    import_responses(db_session, surveys[SLUG], first.to_csv(), "one.csv", 5000)
    next_wave(db_session, SLUG, "2026/27 rotation 1")
    import_responses(db_session, reloaded(db_session, SLUG), second.to_csv(), "two.csv", 5000)
    return first, second


def stored_ratings(session: Session, wave: Wave, scope_code: str | None) -> dict[str, np.ndarray]:
    """Each Likert item's answers in `wave` about `scope_code` or what lies under it, read
    from the Answer rows and scoped with the organisation tree of the test data."""
    query = (
        sa.select(Question.code, Answer.value, Organisation.code)
        .select_from(Answer)
        .join(Question, Question.id == Answer.question_id)
        .join(Response, Response.id == Answer.response_id)
        .join(Organisation, Organisation.id == Response.organisation_id)
        .where(Response.wave_id == wave.id, Question.type == QuestionType.LIKERT)
    )
    ratings: dict[str, list[float]] = {item.code: [] for item in PLACEMENT.items}
    level = organisation_by_code(session, scope_code).level.value if scope_code else None
    for code, value, place in session.connection().execute(query):
        if scope_code is None or ancestor(place, level) == scope_code:
            ratings[code].append(float(value))
    return {code: np.array(values, dtype=float) for code, values in ratings.items()}


def summary_of(session: Session, scope_code: str | None, by: str | None, number: int) -> dict:
    survey = reloaded(session, SLUG)
    scope = organisation_by_code(session, scope_code) if scope_code else None
    return load_summary(session, survey, scope, by, MIN_N, survey.wave(number))


# --- the summary JSON ------------------------------------------------------------------------


@pytest.mark.parametrize(("scope_code", "by"), [(None, None), (None, "hub"), ("QKS", "practice")])
def test_the_comparison_matches_scipy_on_each_waves_stored_answers(
    two_waves: tuple[KnownAnswers, KnownAnswers],
    db_session: Session,
    scope_code: str | None,
    by: str | None,
) -> None:
    summary = summary_of(db_session, scope_code, by, 2)
    first_wave, second_wave = reloaded(db_session, SLUG).waves
    expected = {
        "previous_wave": {"number": 1, "name": "Wave 1"},
        "items": expected_wave_items(
            PLACEMENT,
            stored_ratings(db_session, first_wave, scope_code),
            stored_ratings(db_session, second_wave, scope_code),
        ),
    }
    assert_same(summary["wave_comparison"], expected, "wave_comparison")
    # Over the whole scope whatever the breakdown, and every other key as before.
    assert (
        summary["wave_comparison"] == summary_of(db_session, scope_code, None, 2)["wave_comparison"]
    )
    first, second = two_waves
    scope = scope_of(organisation_by_code(db_session, scope_code) if scope_code else None)
    assert_same(
        summary,
        expected_summary(
            PLACEMENT,
            second,
            scope,
            by,
            summary,
            (2, "2026/27 rotation 1"),
            (first, (1, "Wave 1")),
        ),
    )
    rows = {row["item"]: row for row in summary["wave_comparison"]["items"]}
    assert rows[IMPROVED]["p_adjusted"] < 0.05 and rows[IMPROVED]["effect_size"] > 0


def test_a_first_wave_compares_with_nothing(
    two_waves: tuple[KnownAnswers, KnownAnswers], db_session: Session
) -> None:
    for scope_code, by in ((None, None), ("QKS", "hub")):
        summary = summary_of(db_session, scope_code, by, 1)
        assert summary["wave"]["number"] == 1
        assert summary["wave_comparison"] is None
        assert list(summary)[-1] == "wave_comparison"


def test_a_statement_short_of_k_answers_in_a_wave_is_withheld(
    two_waves: tuple[KnownAnswers, KnownAnswers], db_session: Session
) -> None:
    items = {
        row["item"]: row
        for row in summary_of(db_session, None, None, 2)["wave_comparison"]["items"]
    }
    assert items[SCARCE]["suppressed"] is True
    for key in ("change_mean", "change_percent_positive", "statistic", "p", "p_adjusted"):
        assert items[SCARCE][key] is None
    assert (
        items[SCARCE]["previous"]
        == items[SCARCE]["current"]
        == dict.fromkeys(("n", "mean", "percent_positive"))
    )
    assert sum(not row["suppressed"] for row in items.values()) == len(items) - 1
    # A practice with 3 responses in each wave: every statement withheld, no figure left.
    in_practice = summary_of(db_session, "P-EK2", None, 2)["wave_comparison"]["items"]
    assert all(row["suppressed"] and row["previous"]["n"] is None for row in in_practice)


def test_the_xlsx_carries_the_comparison_row_by_row(
    two_waves: tuple[KnownAnswers, KnownAnswers], db_session: Session
) -> None:
    summary = summary_of(db_session, "QKS", "hub", 2)
    sheet = load_workbook(io.BytesIO(summary_to_xlsx(summary)))["Wave changes"]
    header, *body = list(sheet.iter_rows(values_only=True))
    rows = [dict(zip(header, row, strict=True)) for row in body]
    assert len(rows) == len(summary["wave_comparison"]["items"]) == len(PLACEMENT.items)
    for row, wanted in zip(rows, summary["wave_comparison"]["items"], strict=True):
        assert (row["previous_wave"], row["current_wave"], row["item"]) == (1, 2, wanted["item"])
        assert row["suppressed"] is wanted["suppressed"]
        for column, value in (
            ("previous_n", wanted["previous"]["n"]),
            ("current_mean", wanted["current"]["mean"]),
            ("change_percent_positive", wanted["change_percent_positive"]),
            ("p_adjusted", wanted["p_adjusted"]),
            ("effect_size", wanted["effect_size"]),
        ):
            if value is None:
                assert row[column] is None, (wanted["item"], column)
            else:
                assert math.isclose(row[column], value, rel_tol=1e-15), (wanted["item"], column)


# --- the PDF report -------------------------------------------------------------------------


def report_text(runner: FlaskCliRunner, path: Path, *args: str) -> str:
    result = runner.invoke(args=["report", "pdf", SLUG, "--by", "hub", "-o", str(path), *args])
    assert result.exit_code == 0, result.output
    return pdf_text(path.read_bytes())


def statement_number(code: str) -> str:
    """The statement's number in the report: its theme's place among the themes with
    statements, then its own place in the theme."""
    for section, theme in enumerate(PLACEMENT.themes, start=1):
        if code in theme.items:
            return f"{section}.{theme.items.index(code) + 1}"
    raise AssertionError(f"{code} has no theme")


def signed(value: float, places: int) -> str:
    text = f"{abs(value):.{places}f}"
    return text if float(text) == 0 else ("+" if value > 0 else "\u2212") + text


def test_the_report_names_the_change_and_tabulates_it(
    two_waves: tuple[KnownAnswers, KnownAnswers],
    db_session: Session,
    runner: FlaskCliRunner,
    tmp_path: Path,
) -> None:
    first, second = two_waves
    (expected,) = [
        row
        for row in expected_wave_items(PLACEMENT, first.ratings, second.ratings)
        if row["item"] == IMPROVED
    ]
    significant = [
        row
        for row in expected_wave_items(PLACEMENT, first.ratings, second.ratings)
        if row["p_adjusted"] is not None and row["p_adjusted"] < 0.05
    ]
    # The improvement is the largest significant change, so the key findings name it first.
    assert max(significant, key=lambda row: abs(row["change_percent_positive"])) == expected
    text = report_text(runner, tmp_path / "wave2.pdf")

    before, now = expected["previous"], expected["current"]
    p_adjusted = expected["p_adjusted"]
    p_text = "< 0.001" if p_adjusted < 0.001 else f"= {p_adjusted:.3f}"
    statement = next(item.text for item in PLACEMENT.items if item.code == IMPROVED)
    sentence = (
        f"“{statement.removesuffix('.')}”: % positive rose from {before['percent_positive']:.1f}% "
        f"to {now['percent_positive']:.1f}% since Wave 1, and the mean from "
        f"{before['mean']:.2f} to {now['mean']:.2f} (p {p_text} after adjustment)."
    )
    # Listed in the contents between the results and the comparison of groups.
    assert re.search(r"9\. Other statements \.+ \d+ Changes since Wave 1 \.+ \d+ Comparison", text)
    opening = f"Executive summary {len(second)} learners responded."
    summary_page = text[text.index(opening) : text.index("Results by theme", text.index(opening))]
    # The list's numbers are not in the extracted text.
    assert f"Changes since Wave 1 {sentence} Differences between training hubs" in summary_page

    heading = "Changes since Wave 1 Each statement’s answers in this wave, 2026/27 rotation 1"
    section = text[text.index(heading) : text.index("Comparison of training hubs The report")]
    assert "Mann-Whitney U test" in section and "Benjamini-Hochberg" in section
    row = " ".join(
        [
            statement_number(IMPROVED),
            statement,
            f"{before['percent_positive']:.1f}%",
            f"{now['percent_positive']:.1f}%",
            signed(expected["change_percent_positive"], 1),
            f"{before['mean']:.2f}",
            f"{now['mean']:.2f}",
            signed(expected["change_mean"], 2),
            "< 0.001" if p_adjusted < 0.001 else f"{p_adjusted:.3f}",
            signed(expected["effect_size"], 3),
            "yes, rose",
        ]
    )
    assert row in section
    scarce_text = next(item.text for item in PLACEMENT.items if item.code == SCARCE)
    assert (
        f"{statement_number(SCARCE)} {scarce_text} [c] Fewer than {MIN_N} answers in a wave: "
        "not compared"
    ) in section
    # Every other statement is compared, and only significant ones are marked as changed.
    assert section.count("[c] Fewer than") == 1
    assert section.count("yes, rose") + section.count("yes, fell") == len(significant)


def test_a_first_wave_report_has_no_changes_section(
    two_waves: tuple[KnownAnswers, KnownAnswers], runner: FlaskCliRunner, tmp_path: Path
) -> None:
    text = report_text(runner, tmp_path / "wave1.pdf", "--wave", "1")
    assert "Executive summary" in text
    assert "Changes since" not in text
    assert "Comparing waves" not in text
    assert "Mann-Whitney" not in text


def test_the_report_preview_shows_the_changes_of_the_wave_it_shows(
    two_waves: tuple[KnownAnswers, KnownAnswers],
    client: FlaskClient,
    make_user: Callable[..., Any],
    sign_in: Callable[..., Any],
) -> None:
    make_user("admin@example.nhs.uk", role="admin", scopes=())
    assert sign_in("admin@example.nhs.uk").status_code == 303
    latest = client.get(f"/reports/{SLUG}/preview?scope=QKS")
    assert latest.status_code == 200
    page = latest.get_data(as_text=True)
    assert '<a href="#wave-changes">Changes since Wave 1</a>' in page
    assert '<section class="chapter" id="wave-changes">' in page
    first = client.get(f"/reports/{SLUG}/preview?scope=QKS&wave=1").get_data(as_text=True)
    assert "wave-changes" not in first and "Changes since" not in first
