"""The PDF report: its numbers, its words, its safety and its determinism.

Summaries are built from known answers with ``build_summary``; every expected figure is worked
out here again from the raw answers with numpy, and looked for in the text pypdf extracts from
the rendered PDF.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import math
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
from flask.testing import FlaskCliRunner
from pypdf import PdfReader
from weasyprint.urls import URLFetchingError

from reports.charts import LikertRow, likert_chart
from reports.free_text import TextTheme
from reports.narrative import in_sentence, mention_sentence, respondent_noun
from reports.pdf import data_fingerprint, render_report_html, render_report_pdf
from reports.pdf_sandbox import (
    ASSETS,
    AssetsOnlyFetcher,
    RenderLimits,
    ReportRenderingError,
    html_to_pdf,
    is_asset_url,
)
from reports.summary import (
    CellAggregates,
    GroupAggregates,
    LikertItemSpec,
    SurveySpec,
    TextQuestionSpec,
    ThemeSpec,
    build_summary,
)
from reports.text_coding import ThemeRules
from reports.themes import ThemeAggregates

GENERATED = datetime(2026, 3, 31, 9, 30, tzinfo=UTC)
PERIOD = (date(2026, 1, 5), date(2026, 3, 27))
ITEMS = (
    ("fund_icb", "Our ICB gives primary care a fair share of its budget.", "funding", -1.3),
    (
        "fund_practices",
        "Practices have the funding to recruit the staff they need.",
        "funding",
        -0.9,
    ),
    ("hub_effective", "Our training hub is effective at growing the workforce.", "hubs", 1.0),
    ("hub_resourced", "Our training hub is resourced well enough.", "hubs", 0.2),
    ("arrs_integrated", "Additional roles are well integrated into practice teams.", "arrs", 0.6),
    ("arrs_supervision", "Practices can supervise the additional roles.", "arrs", -0.4),
    ("estates", "Premises have room for the staff and learners we need.", None, 0.05),
)
THEMES = {"funding": "Funding", "hubs": "Training hubs", "arrs": "Additional roles"}
SPEC = SurveySpec(
    slug="icb-leaders",
    title="ICB primary care leaders survey",
    items=tuple(LikertItemSpec(code, text, theme, 5) for code, text, theme, _ in ITEMS),
    themes=tuple(
        ThemeSpec(code, title, tuple(item[0] for item in ITEMS if item[2] == code))
        for code, title in THEMES.items()
    ),
    text_questions=(
        TextQuestionSpec(
            "icb_support",
            "How does your ICB support primary care?",
            (
                TextTheme("training-hubs", "Training hubs", ("training hubs?",)),
                TextTheme("arrs", "ARRS and additional roles", (r"\bARRS\b", "additional roles?")),
            ),
        ),
    ),
)
QUESTION_TEXTS = {"icb_support": "How does your ICB support primary care?"}
AGREEMENT = [
    "Strongly disagree",
    "Disagree",
    "Neither agree nor disagree",
    "Agree",
    "Strongly agree",
]
SCALE_LABELS = {code: AGREEMENT for code, *_ in ITEMS}


def answers(respondents: int, seed: int, shift: float = 0.0) -> np.ndarray:
    """A respondents x items matrix of answers 1..5, about 10% left empty (nan)."""
    rng = np.random.default_rng(seed)
    attitude = rng.normal(3 + shift, 0.7, size=(respondents, 1))
    item_shift = np.array([item[3] for item in ITEMS])
    matrix = np.clip(
        np.rint(attitude + item_shift + rng.normal(0, 0.8, (respondents, len(ITEMS)))), 1, 5
    )
    matrix[rng.random(matrix.shape) < 0.1] = np.nan
    return matrix


def aggregates(matrix: np.ndarray) -> dict[str, Any]:
    item_counts = {}
    for column, (code, *_) in enumerate(ITEMS):
        answered = matrix[:, column][~np.isnan(matrix[:, column])].astype(int)
        item_counts[code] = np.bincount(answered, minlength=6)[1:]
    themes = {
        theme: ThemeAggregates.from_matrix(
            matrix[:, [i for i, item in enumerate(ITEMS) if item[2] == theme]]
        )
        for theme in THEMES
    }
    return {"responses": matrix.shape[0], "item_counts": item_counts, "themes": themes}


def support_answers() -> list[str | None]:
    """42 answers: 16 name training hubs (any capitals), 9 of those and 2 more name ARRS."""
    texts: list[str | None] = []
    for index in range(42):
        if index < 16:
            hub = "Our Training Hub runs fellowships" if index % 2 else "training hubs fund mentors"
            texts.append(hub + (" and ARRS induction" if index < 9 else ""))
        elif index < 18:
            texts.append("ARRS posts help")
        elif index < 38:
            texts.append("Money for estates")
        else:
            texts.append(None)
    return texts


def scope_summary(matrix: np.ndarray, text_answers: list[str | None] | None = None) -> dict:
    return build_summary(
        SPEC,
        None,
        CellAggregates(**aggregates(matrix)),
        {"icb_support": text_answers or []},
        None,
        [],
        5,
    )


def pdf_text(pdf: bytes) -> str:
    """The PDF's text, every run of white space made one space."""
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def pdf_lines(pdf: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf))
    return [line for page in reader.pages for line in page.extract_text().splitlines()]


@pytest.fixture(scope="module")
def leaders() -> np.ndarray:
    return answers(42, seed=4)


@pytest.fixture(scope="module")
def leaders_pdf(leaders: np.ndarray) -> tuple[dict, bytes]:
    summary = scope_summary(leaders, support_answers())
    pdf = render_report_pdf(
        summary,
        GENERATED,
        "9.9.9",
        period=PERIOD,
        question_texts=QUESTION_TEXTS,
        scale_labels=SCALE_LABELS,
    )
    return summary, pdf


# --- the numbers -------------------------------------------------------------------------------


def test_key_findings_quote_the_right_numbers(
    leaders: np.ndarray, leaders_pdf: tuple[dict, bytes]
) -> None:
    _, pdf = leaders_pdf
    text = pdf_text(pdf)

    statements = []
    for column, (_, statement, _, _) in enumerate(ITEMS):
        given = leaders[:, column][~np.isnan(leaders[:, column])]
        positive = 100 * np.count_nonzero(given >= 4) / given.size
        statements.append((given.mean(), column, statement, given.size, positive))
    assert len({round(entry[0], 2) for entry in statements}) == len(ITEMS), "need distinct means"
    highest = sorted(statements, key=lambda entry: (-entry[0], entry[1]))[:3]
    lowest = sorted(statements, key=lambda entry: (entry[0], entry[1]))[:3]
    for mean, _, statement, n, positive in highest + lowest:
        quoted = statement.removesuffix(".")
        expected = f"“{quoted}”: {mean:.2f} out of 5 (n = {n}; {positive:.1f}% positive)."
        assert expected in text

    scores = {}
    for theme, title in THEMES.items():
        columns = [i for i, item in enumerate(ITEMS) if item[2] == theme]
        block = leaders[:, columns]
        answered = (~np.isnan(block)).sum(axis=1)
        keep = answered >= math.ceil(len(columns) / 2)
        scores[title] = np.nanmean(block[keep], axis=1).mean()
    low, high = min(scores, key=scores.get), max(scores, key=scores.get)
    assert (
        f"Theme scores ranged from {scores[low]:.2f} out of 5 for {low} "
        f"to {scores[high]:.2f} for {high}."
    ) in text

    hubs = sum(bool(re.search("training hubs?", t or "", re.I)) for t in support_answers())
    arrs = sum(bool(re.search(r"\bARRS\b", t or "")) for t in support_answers())
    assert (hubs, arrs) == (16, 11)
    assert "42 ICB leaders responded." in text
    assert "16 of 42 ICB leaders (38%) mentioned training hubs." in text
    assert "11 of 42 ICB leaders (26%) mentioned ARRS and additional roles." in text
    assert "38 of 42 ICB leaders answered." in text
    assert "5 January 2026 to 27 March 2026" in text


def test_the_pdf_is_tagged_and_carries_its_metadata(leaders_pdf: tuple[dict, bytes]) -> None:
    _, pdf = leaders_pdf
    reader = PdfReader(io.BytesIO(pdf))
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB"
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    assert reader.metadata.title == "ICB primary care leaders survey: England"
    assert reader.metadata.author
    assert "2026" in reader.metadata.subject
    assert "Training hubs" in reader.metadata["/Keywords"]
    fonts = {
        font["/BaseFont"]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
        if "/BaseFont" in font
    }
    assert fonts and all("Report-Sans" in name for name in fonts), fonts


def test_respondents_are_named_for_the_survey() -> None:
    assert respondent_noun("placement-quality") == "learners"
    assert respondent_noun("icb-leaders", 1) == "ICB leader"
    assert respondent_noun("some-new-survey") == "respondents"
    assert in_sentence("Training hubs") == "training hubs"
    assert in_sentence("ARRS and additional roles") == "ARRS and additional roles"
    assert in_sentence("IT and system access") == "IT and system access"
    theme = {"label": "The team", "mentions": 299, "of": 2000, "percent": 14.95}
    assert mention_sentence(theme, "placement-quality") == (
        "299 of 2,000 learners (15%) mentioned the team."
    )


# --- determinism -------------------------------------------------------------------------------


def test_the_same_data_gives_the_same_numbers_and_fingerprint(
    leaders: np.ndarray, leaders_pdf: tuple[dict, bytes]
) -> None:
    summary, pdf = leaders_pdf
    rebuilt = scope_summary(leaders.copy(), support_answers())
    canonical = json.dumps(rebuilt, sort_keys=True, separators=(",", ":"))
    assert data_fingerprint(summary) == hashlib.sha256(canonical.encode()).hexdigest()
    assert data_fingerprint(rebuilt) == data_fingerprint(summary)

    again = render_report_pdf(
        rebuilt,
        GENERATED,
        "9.9.9",
        period=PERIOD,
        question_texts=QUESTION_TEXTS,
        scale_labels=SCALE_LABELS,
    )
    assert pdf_text(again) == pdf_text(pdf)
    assert data_fingerprint(summary) in pdf_text(pdf)

    changed = scope_summary(answers(42, seed=5), support_answers())
    assert data_fingerprint(changed) != data_fingerprint(summary)


def test_charts_are_deterministic_paths_with_a_text_alternative() -> None:
    before = dict(matplotlib.rcParams)
    rows = [LikertRow("Fair share", [2, 3, 5, 8, 2]), LikertRow("Withheld one", None)]
    first = likert_chart(rows, AGREEMENT, "Funding")
    second = likert_chart(rows, AGREEMENT, "Funding")
    assert first.data_uri == second.data_uri
    assert dict(matplotlib.rcParams) == before
    svg = base64.b64decode(first.data_uri.split(",", 1)[1]).decode()
    assert "<text" not in svg and "<dc:date" not in svg
    # 2 + 3 of 20 below the midpoint, 5 neutral, 8 + 2 above: 10%, 15%, 25%, 40%, 10%.
    assert "Strongly disagree 10%, Disagree 15%, Neither agree nor disagree 25%" in first.alt
    assert "Agree 40%, Strongly agree 10% (below the midpoint 25%, above it 50%; 20" in first.alt
    assert "Withheld one: withheld." in first.alt


def test_a_chart_is_the_same_bytes_in_a_fresh_process() -> None:
    # Text is shaped once per process and its glyphs kept: a chart drawn after others (warm)
    # must be byte for byte the chart a fresh interpreter draws first (cold).
    likert_chart([LikertRow("Strongly held views, 50%", [9, 1, 0, 4, 4])], AGREEMENT, "Other")
    rows = [("Fair share of 50%", [2, 3, 5, 8, 2]), ("Withheld one", None)]
    code = (
        "import hashlib; from reports.charts import LikertRow, likert_chart; "
        f"rows = [LikertRow(label, counts) for label, counts in {rows!r}]; "
        f"chart = likert_chart(rows, {AGREEMENT!r}, 'Funding'); "
        "print(hashlib.sha256(chart.data_uri.encode()).hexdigest())"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout.strip()
    here = likert_chart([LikertRow(label, counts) for label, counts in rows], AGREEMENT, "Funding")
    assert hashlib.sha256(here.data_uri.encode()).hexdigest() == fresh
    # Each glyph outline is defined once and placed wherever it recurs.
    svg = base64.b64decode(here.data_uri.split(",", 1)[1]).decode()
    defined = re.findall(r'<path id="([^"]+)"', svg)
    assert len(defined) == len(set(defined)) and svg.count("<use ") > 2 * len(defined)


# --- anonymity ---------------------------------------------------------------------------------


def test_a_suppressed_group_never_shows_a_figure(leaders: np.ndarray) -> None:
    matrices = {f"P0{index}": answers(12, seed=10 + index, shift=index / 4) for index in range(5)}
    tiny = np.array([[1, 1, 2, 1, 1, 1, 2], [1, 2, 1, 1, 1, 2, 1], [2, 1, 1, 2, 1, 1, 1]], float)
    matrices["P99"] = tiny
    labels = {f"P0{index}": f"Practice {'ABCDE'[index]}" for index in range(5)}
    labels["P99"] = "Tiny Surgery"
    groups = [
        GroupAggregates(key=key, label=labels[key], **aggregates(matrix))
        for key, matrix in matrices.items()
    ]
    total = CellAggregates(**aggregates(np.vstack(list(matrices.values()))))
    summary = build_summary(SPEC, None, total, {}, "practice", groups, 5)
    tiny_row = next(group for group in summary["groups"] if group["key"] == "P99")
    assert tiny_row["suppressed"]

    pdf = render_report_pdf(summary, GENERATED, "9.9.9", scale_labels=SCALE_LABELS)
    lines = [line for line in pdf_lines(pdf) if "Tiny Surgery" in line]
    assert lines, "the withheld group is listed by name"
    for line in lines:
        assert not re.search(r"\d", line), line
        assert "[c]" in line
    text = pdf_text(pdf)
    for column in range(len(ITEMS)):
        assert f" {tiny[:, column].mean():.2f} " not in text.replace("[c]", " ")
    # Secondary suppression withheld another practice's figure too: shown as [c], never blank.
    other = [g for g in summary["groups"] if g["key"] != "P99"]
    assert any(item["suppressed"] for group in other for item in group["items"])


def test_no_responses_still_renders_through_the_cli(
    runner: FlaskCliRunner, surveys: dict, tmp_path: Path
) -> None:
    output = tmp_path / "empty.pdf"
    result = runner.invoke(args=["report", "pdf", "icb-leaders", "-o", str(output)])
    assert result.exit_code == 0, result.output
    text = pdf_text(output.read_bytes())
    assert "No ICB leaders have responded." in text
    assert "withheld" in text


# --- nothing is fetched --------------------------------------------------------------------------


@pytest.fixture
def listening_server() -> Iterator[tuple[int, list[str]]]:
    """A local HTTP server that records every request it receives."""
    received: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def hostile_markup(port: int) -> str:
    base = f"http://127.0.0.1:{port}"
    return (
        f'<img src="{base}/img.png"> <link rel="stylesheet" href="{base}/style.css">'
        f'<object data="{base}/object"></object><svg><image href="file:///etc/passwd"/></svg>'
        f'<div style="background: url({base}/bg.png)">x</div>'
        f'<style>@import url("{base}/import.css");</style>'
        f'<img src="https://127.0.0.1:{port}/tls.png"><img src="ftp://127.0.0.1:{port}/f">'
    )


class SpyFetcher(AssetsOnlyFetcher):
    """The real fetcher, remembering every URL it was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> Any:
        self.asked.append(url)
        return super().fetch(url, headers)


def test_user_text_naming_resources_fetches_nothing(
    leaders: np.ndarray, listening_server: tuple[int, list[str]]
) -> None:
    port, received = listening_server
    hostile = hostile_markup(port)
    answers_with_markup = [hostile if index % 3 == 0 else "A training hub" for index in range(42)]
    summary = scope_summary(leaders, answers_with_markup)
    summary["scope"] = {"code": "X1", "name": "Scope " + hostile, "level": "icb"}
    summary["items"][0]["text"] = "Statement " + hostile
    quotes = [{"text": hostile, "attribution": "ICB " + hostile, "question": "icb_support"}]
    question_texts = {"icb_support": "Question " + hostile}

    pdf = render_report_pdf(
        summary, GENERATED, "9.9.9", question_texts=question_texts, quotes=quotes
    )
    assert pdf.startswith(b"%PDF-")
    assert received == []
    assert f'<img src="http://127.0.0.1:{port}/img.png">' in pdf_text(pdf)  # shown as text

    spy = SpyFetcher()
    html = render_report_html(
        summary, GENERATED, "9.9.9", question_texts=question_texts, quotes=quotes
    )
    html_to_pdf(html, spy)
    assert spy.asked and all(is_asset_url(url) for url in spy.asked), spy.asked
    assert received == []


def test_the_fetcher_refuses_markup_that_escaped_escaping(
    listening_server: tuple[int, list[str]],
) -> None:
    port, received = listening_server
    spy = SpyFetcher()
    raw = f"<!DOCTYPE html><html><body><p>hello</p>{hostile_markup(port)}</body></html>"
    assert html_to_pdf(raw, spy).startswith(b"%PDF-")
    asked_outside = [url for url in spy.asked if not is_asset_url(url)]
    assert any(url.startswith("http://127.0.0.1") for url in asked_outside), spy.asked
    assert received == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.png",
        "https://example.org/x.png",
        "ftp://example.org/x",
        "file:///etc/passwd",
        (ASSETS / "report.css").as_uri().replace("file://", "file://evil.example"),
        (ASSETS / ".." / "pdf.py").as_uri(),
        (ASSETS / "missing.css").as_uri(),
        "javascript:alert(1)",
    ],
)
def test_the_fetcher_refuses_everything_but_assets(url: str) -> None:
    assert not is_asset_url(url)
    with pytest.raises(URLFetchingError):
        AssetsOnlyFetcher().fetch(url)


def test_the_fetcher_serves_bundled_assets() -> None:
    response = AssetsOnlyFetcher().fetch((ASSETS / "report.css").as_uri())
    try:
        assert b"@font-face" in response.read()
    finally:
        response.close()


# --- bounds --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "limits",
    [RenderLimits(timeout_seconds=0.05), RenderLimits(memory_bytes=32 * 1024**2)],
    ids=["time", "memory"],
)
def test_a_rendering_past_its_limits_fails_cleanly(limits: RenderLimits) -> None:
    with pytest.raises(ReportRenderingError):
        render_report_pdf(scope_summary(answers(10, seed=1)), GENERATED, "9.9.9", limits=limits)


# --- free text counted per respondent -----------------------------------------------------------

HUB_RULES = ThemeRules(
    "training-hubs",
    "Training hubs",
    ("training hub", "training and education hub", "hub"),
    negation=True,
)
ARRS_RULES = ThemeRules("arrs", "ARRS and additional roles", ("arrs", "additional role"))
TWO_QUESTIONS = SurveySpec(
    slug=SPEC.slug,
    title=SPEC.title,
    items=SPEC.items,
    themes=SPEC.themes,
    text_questions=tuple(
        TextQuestionSpec(
            code,
            text,
            (
                TextTheme(HUB_RULES.code, HUB_RULES.label, rules=HUB_RULES),
                TextTheme(ARRS_RULES.code, ARRS_RULES.label, rules=ARRS_RULES),
            ),
        )
        for code, text in (
            ("icb_support", "How does your ICB support primary care?"),
            ("challenges", "What are the biggest challenges?"),
        )
    ),
)
HUB_SAYINGS = (
    "Our training hub runs fellowships",
    "The Training-Hub places students",
    "the hub's fellowship keeps GPs",
    "Training and Education Hub",
    "our traning hub is small",
)


def leader_texts() -> tuple[dict[str, list[str | None]], dict[str, list[int]], int, int, int]:
    """Two answers from each of 42 leaders: 16 speak of their hub in one answer or both, in
    varied wording; 14 others write something (two say they have no hub, five name ARRS);
    12 write nothing. Returns the answers, whose each is, and the hub, ARRS and writer counts
    as the leaders were made."""
    support: list[str | None] = []
    challenges: list[str | None] = []
    hubs = arrs = wrote = 0
    for leader in range(42):
        if leader < 16:
            saying = HUB_SAYINGS[leader % len(HUB_SAYINGS)]
            support.append(saying if leader % 3 else None)
            challenges.append("Funding, and " + saying.lower() if leader % 3 != 1 else "Money")
            hubs += 1
        elif leader < 30:
            support.append("We have no training hub" if leader < 18 else "Workload is high")
            challenges.append("ARRS posts need supervision" if leader >= 25 else "")
            arrs += leader >= 25
        else:
            support.append(None)
            challenges.append("   ")
        wrote += any(text and text.strip() for text in (support[-1], challenges[-1]))
    answers = {"icb_support": support, "challenges": challenges}
    # As the database hands them over: the unanswered left out, each with its respondent.
    kept: dict[str, list[str | None]] = {}
    whose: dict[str, list[int]] = {}
    for code, texts in answers.items():
        pairs = [(leader, text) for leader, text in enumerate(texts) if text is not None]
        kept[code] = [text for _, text in pairs]
        whose[code] = [leader for leader, _ in pairs]
    return kept, whose, hubs, arrs, wrote


def test_the_report_counts_each_leader_once_across_all_answers(leaders: np.ndarray) -> None:
    texts, whose, hubs, arrs, wrote = leader_texts()
    assert (hubs, arrs, wrote) == (16, 5, 30)
    summary = build_summary(
        TWO_QUESTIONS,
        None,
        CellAggregates(**aggregates(leaders)),
        texts,
        None,
        [],
        5,
        text_respondents=whose,
    )
    by_code = {theme["code"]: theme for theme in summary["text_themes"]}
    assert by_code["training-hubs"]["respondents"] == hubs
    assert by_code["arrs"]["respondents"] == arrs
    assert by_code["arrs"]["of_answered"] == wrote
    # Per question, a leader who named the hub in both answers counts in each.
    per_question = [
        {t["code"]: t for t in q["themes"]}["training-hubs"]["mentions"]
        for q in summary["free_text"]
    ]
    assert sum(per_question) > hubs

    pdf = render_report_pdf(
        summary,
        GENERATED,
        "9.9.9",
        period=PERIOD,
        question_texts={"icb_support": "How does your ICB support primary care?"},
        scale_labels=SCALE_LABELS,
    )
    text = pdf_text(pdf)
    sentence = (
        f"16 of 42 ICB leaders (38%) mentioned training hubs in any answer; "
        f"16 of {wrote} who wrote anything."
    )
    # In the executive summary and again in the free-text chapter.
    assert text.count(sentence) == 2
    assert (
        f"5 of 42 ICB leaders (12%) mentioned ARRS and additional roles in any answer; "
        f"5 of {wrote} who wrote anything." in text
    )
    assert f"{wrote} of 42 ICB leaders wrote anything." in text
