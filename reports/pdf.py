"""The PDF report: the summary JSON rendered through one Jinja template by WeasyPrint.

``render_report_html`` turns a summary (``reports.summary.build_summary``) into the report's
HTML: cover, contents, executive summary (``reports.narrative``), one section per theme with
its chart (``reports.charts``) and table, the changes since the previous wave, the comparison
of groups, free text, the methodology and a data note with the summary's SHA-256 fingerprint.
``render_report_pdf`` renders it with WeasyPrint in a bounded child process that can fetch
nothing but the bundled assets (``reports.pdf_sandbox``); it starts the renderer before it
builds the HTML, so that the renderer loads WeasyPrint meanwhile. All user text is escaped by
Jinja's autoescape; no number in the report is typed by hand.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from reports import narrative
from reports.charts import Chart, LikertRow, likert_chart, theme_scores_chart
from reports.pdf_sandbox import (
    ASSETS,
    AssetsOnlyFetcher,
    RenderLimits,
    ReportRenderingError,
    html_to_pdf_bounded,
    prepare_renderer,
)
from reports.summary_types import (
    GroupItem,
    GroupTheme,
    ItemChange,
    ScopeItem,
    ScopeName,
    ScopeTheme,
    Summary,
    WaveName,
    as_json,
)

__all__ = [
    "ASSETS",
    "AssetsOnlyFetcher",
    "RenderLimits",
    "ReportRenderingError",
    "data_fingerprint",
    "render_report_html",
    "render_report_pdf",
]

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
AUTHOR = "Training hub surveys"

#: What the report calls the organisation level of a scope.
LEVEL_NAMES = {
    "region": "NHS England region",
    "icb": "integrated care board",
    "hub": "training hub",
    "pcn": "primary care network",
    "practice": "practice",
}
#: At most this many statement columns in one table of the comparison (landscape A4).
COMPARISON_COLUMNS = 24
FLAG_NAMES = {
    "red": "red",
    "pink": "pink",
    "light-green": "light green",
    "green": "green",
}


def data_fingerprint(summary: Summary) -> str:
    """Return the SHA-256 (hex) of the summary's canonical JSON: keys sorted, no spaces,
    ASCII. The same figures always give the same fingerprint. Refuses (ValueError) NaN."""
    canonical = json.dumps(
        as_json(summary), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def render_report_html(
    summary: Summary,
    generated_at: datetime,
    software_version: str,
    *,
    period: tuple[date, date] | None = None,
    question_texts: Mapping[str, str] | None = None,
    scale_labels: Mapping[str, Sequence[str]] | None = None,
    quotes: Sequence[Mapping[str, Any]] | None = None,
    figures_as_of: date | None = None,
) -> str:
    """Return the report as HTML (the PDF's source; it needs the assets to look right).

    ``period``: first and last day of the responses (or of the survey), shown on the cover and
    in the data note. ``question_texts``: question code -> wording (free-text questions and a
    breakdown by a choice question are named by it; otherwise by code). ``scale_labels``: item
    code -> the labels of its scale from value 1 (the chart legends; default "1 (lowest)" ...).
    ``quotes``: ``{"text", "attribution", "question"?}`` dicts, already vetted by the caller
    (groups of at least k, attribution only when on record); ``attribution`` None shows the
    quote anonymously, ``question`` (a code) files it under that free-text question.
    ``figures_as_of``: for an open wave held to a daily snapshot, the day at whose start its
    figures were taken, said on the cover and in the data note.
    """
    context = _report_context(
        summary,
        generated_at,
        software_version,
        period=period,
        question_texts=question_texts or {},
        scale_labels=scale_labels or {},
        quotes=quotes or (),
        figures_as_of=figures_as_of,
    )
    return _environment().get_template("report.html").render(**context)


def render_report_pdf(
    summary: Summary,
    generated_at: datetime,
    software_version: str,
    *,
    period: tuple[date, date] | None = None,
    question_texts: Mapping[str, str] | None = None,
    scale_labels: Mapping[str, Sequence[str]] | None = None,
    quotes: Sequence[Mapping[str, Any]] | None = None,
    figures_as_of: date | None = None,
    limits: RenderLimits | None = None,
) -> bytes:
    """Return the report as tagged PDF (PDF/UA-1) bytes; see ``render_report_html``.

    WeasyPrint runs in a child process under ``limits`` (default: 120 s, 2 GiB of address
    space). Raises ReportRenderingError when rendering fails or exceeds them.
    """
    # The rendering server, if this process has none yet, imports WeasyPrint while the charts
    # and the HTML are built here.
    prepare_renderer()
    html = render_report_html(
        summary,
        generated_at,
        software_version,
        period=period,
        question_texts=question_texts,
        scale_labels=scale_labels,
        quotes=quotes,
        figures_as_of=figures_as_of,
    )
    return html_to_pdf_bounded(html, limits)


# --- the template's context ------------------------------------------------------------------


@dataclass(slots=True)
class Statement:
    """An item of the summary with its number in the report ("3.2")."""

    number: str
    item: ScopeItem
    #: With a breakdown: how many groups carry each flag (red, pink, light-green, green).
    flag_counts: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class ThemeSection:
    """One results section: a theme (or the statements without one) and its charts."""

    number: int
    anchor: str
    title: str
    short_title: str
    theme: ScopeTheme | None
    statements: list[Statement]
    charts: list[Chart] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of a comparison table: its text, flag (or "") and whether it is withheld."""

    text: str
    flag: str = ""
    withheld: bool = False


@dataclass(frozen=True, slots=True)
class WaveChange:
    """One statement of the changes since the previous wave: its number in the report
    ("3.2"), its row of ``compare_waves`` and how it moved: "rose" or "fell" (significant:
    adjusted p below ``narrative.SIGNIFICANCE``), "no", "not testable" (no p) or "withheld"."""

    number: str
    text: str
    row: ItemChange
    verdict: str


@dataclass(frozen=True, slots=True)
class WaveChangeSection:
    """The statements of one results section in the changes since the previous wave."""

    number: int
    title: str
    changes: list[WaveChange]


@functools.cache
def _environment() -> Environment:
    """The report templates' environment, built once: it keeps each compiled template."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES / "pdf"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        whole=narrative.whole,
        decimal=narrative.decimal,
        percent=narrative.percent,
        change=narrative.change,
        interval=narrative.interval,
        p_value=narrative.p_value,
    )
    return environment


def _report_context(
    summary: Summary,
    generated_at: datetime,
    software_version: str,
    *,
    period: tuple[date, date] | None,
    question_texts: Mapping[str, str],
    scale_labels: Mapping[str, Sequence[str]],
    quotes: Sequence[Mapping[str, Any]],
    figures_as_of: date | None = None,
) -> dict[str, Any]:
    slug = summary["survey"]["slug"]
    scope = summary["scope"]
    scope_name = scope["name"] if scope else "England"
    generated = _as_utc(generated_at)
    sections = _theme_sections(summary, scale_labels)
    by = summary["by"]
    breakdown = _breakdown_name(by, question_texts) if by else ""
    fingerprint = data_fingerprint(summary)
    k = summary["suppression_min_n"]
    return {
        "summary": as_json(summary),
        "k": k,
        "title": summary["survey"]["title"],
        "scope_name": scope_name,
        "scope_description": _scope_description(scope),
        "period": _period_text(period),
        "figures_as_of": _day_text(figures_as_of) if figures_as_of else "",
        "generated": f"{generated.day} {generated:%B %Y} at {generated:%H:%M} UTC",
        "generated_date": f"{generated.day} {generated:%B %Y}",
        "generated_iso": generated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "software_version": software_version,
        "author": AUTHOR,
        "fingerprint": fingerprint,
        "respondents": narrative.respondent_noun(slug),
        "respondent": narrative.respondent_noun(slug, 1),
        "anonymous_attribution": narrative.anonymous_attribution(slug),
        "by": by,
        "breakdown": breakdown,
        "group_noun": narrative.group_noun(by, 1),
        "groups_noun": narrative.group_noun(by),
        "keywords": _keywords(summary, scope_name),
        "executive": narrative.executive_summary(summary, question_texts),
        "theme_chart": _theme_chart(summary, k),
        "sections": sections,
        "wave_changes": _wave_changes(summary, sections),
        "comparison": _comparison(summary, sections) if by else None,
        "scope_cells": {item["code"]: _cell(item) for item in summary["items"]},
        "withheld_cell": Cell("[c]", withheld=True),
        "kruskal": _kruskal_rows(summary, sections),
        "free_text": _free_text(summary, question_texts, quotes),
        "text_themes": _text_themes(summary, slug),
        "loose_quotes": _loose_quotes(summary, quotes),
        "points": narrative.summary_points(summary),
        "flag_names": FLAG_NAMES,
        "significance": narrative.SIGNIFICANCE,
    }


def _as_utc(moment: datetime) -> datetime:
    # A naive time is taken to be UTC, as the application stores times.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _day_text(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _period_text(period: tuple[date, date] | None) -> str:
    if period is None:
        return ""
    first, last = period
    if first == last:
        return _day_text(first)
    return f"{_day_text(first)} to {_day_text(last)}"


def _scope_description(scope: ScopeName | None) -> str:
    if scope is None:
        return "England: every response"
    level = LEVEL_NAMES.get(scope["level"], scope["level"])
    return f"{scope['name']} ({level}, code {scope['code']}) and every organisation within it"


def _breakdown_name(by: str, question_texts: Mapping[str, str]) -> str:
    if by in narrative.LEVEL_NOUNS:
        return narrative.group_noun(by, 1)
    question = question_texts.get(by)
    return f"answer to “{question}”" if question else f"answer to question {by}"


def _keywords(summary: Summary, scope_name: str) -> str:
    words = [summary["survey"]["title"], scope_name, "primary care", "education", "survey"]
    words += [theme["title"] for theme in summary["themes"]]
    # Commas separate keywords in <meta name=keywords>; keep them out of the words.
    return ", ".join(dict.fromkeys(word.replace(",", " ") for word in words))


def _default_labels(points: int) -> list[str]:
    return [
        f"{value} (lowest)"
        if value == 1
        else f"{value} (highest)"
        if value == points
        else str(value)
        for value in range(1, points + 1)
    ]


def _labels_for(item: ScopeItem, scale_labels: Mapping[str, Sequence[str]]) -> list[str]:
    points = narrative.scale_points(item, default=len(scale_labels.get(item["code"], ())) or 5)
    labels = list(scale_labels.get(item["code"], ()))
    return labels if len(labels) == points else _default_labels(points)


def _theme_sections(
    summary: Summary, scale_labels: Mapping[str, Sequence[str]]
) -> list[ThemeSection]:
    """The results sections: one per theme in survey order, then the statements without a
    theme; statements numbered within their section."""
    k = summary["suppression_min_n"]
    sections: list[ThemeSection] = []
    for theme in summary["themes"]:
        items = [item for item in summary["items"] if item["theme"] == theme["code"]]
        sections.append(
            ThemeSection(0, f"theme-{theme['code']}", theme["title"], theme["title"], theme, [])
        )
        sections[-1].statements = [Statement("", item) for item in items]
    themed = {theme["code"] for theme in summary["themes"]}
    loose = [item for item in summary["items"] if item["theme"] not in themed]
    if loose:
        title = "Other statements" if sections else "Statements"
        sections.append(ThemeSection(0, "statements-other", title, "Other", None, []))
        sections[-1].statements = [Statement("", item) for item in loose]
    flag_counts = _flag_counts(summary)
    for number, section in enumerate(sections, start=1):
        section.number = number
        for index, statement in enumerate(section.statements, start=1):
            statement.number = f"{number}.{index}"
            statement.flag_counts = flag_counts.get(statement.item["code"], {})
        section.charts = _section_charts(section, scale_labels, k)
    return sections


def _section_charts(
    section: ThemeSection, scale_labels: Mapping[str, Sequence[str]], k: int
) -> list[Chart]:
    """One chart per run of consecutive statements sharing a scale (so one legend fits)."""
    runs: list[tuple[list[str], list[Statement]]] = []
    for statement in section.statements:
        labels = _labels_for(statement.item, scale_labels)
        if runs and runs[-1][0] == labels:
            runs[-1][1].append(statement)
        else:
            runs.append((labels, [statement]))
    charts = []
    for labels, statements in runs:
        rows = [
            LikertRow(
                f"{s.number}  {s.item['text']}",
                # A withheld statement has no counts, a published one always has.
                None if (counts := s.item["counts"]) is None else list(counts.values()),
            )
            for s in statements
        ]
        charts.append(likert_chart(rows, labels, section.title, withheld_text="withheld"))
    return charts


def _theme_chart(summary: Summary, k: int) -> Chart | None:
    if not summary["themes"]:
        return None
    return theme_scores_chart(
        summary["themes"],
        narrative.summary_points(summary),
        withheld_text="withheld",
    )


def _flag_counts(summary: Summary) -> dict[str, dict[str, int]]:
    """Per item code, how many groups carry each flag other than none (zeros included)."""
    counts = {item["code"]: dict.fromkeys(FLAG_NAMES, 0) for item in summary["items"]}
    for group in summary["groups"]:
        for item in group["items"]:
            flag = item["flag"]
            if flag is not None and flag in FLAG_NAMES:
                counts[item["code"]][flag] += 1
    return counts


def _cell(row: ScopeItem | ScopeTheme | GroupItem | GroupTheme | None) -> Cell:
    if row is None or row["suppressed"]:
        return Cell("[c]", withheld=True)
    # The scope's rows have no flag: the scope is the benchmark.
    flag = row.get("flag") or ""
    return Cell(narrative.decimal(row["mean"]), flag if flag in FLAG_NAMES else "")


def _comparison(summary: Summary, sections: list[ThemeSection]) -> dict[str, Any]:
    """The comparison tables: theme scores by group, and statements by group in column
    blocks that fit a landscape page. A withheld group or figure shows "[c]", never a blank."""
    groups = []
    for group in summary["groups"]:
        items = {item["code"]: item for item in group["items"]}
        themes = {theme["code"]: theme for theme in group["themes"]}
        groups.append(
            {
                "label": group["label"],
                "key": group["key"],
                "responses": "[c]"
                if group["suppressed"] or group["responses"] is None
                else narrative.whole(group["responses"]),
                "withheld": group["suppressed"],
                "themes": [_cell(themes.get(theme["code"])) for theme in summary["themes"]],
                "items": {code: _cell(item) for code, item in items.items()},
            }
        )
    blocks: list[list[ThemeSection]] = [[]]
    for section in sections:
        width = sum(len(s.statements) for s in blocks[-1])
        if blocks[-1] and width + len(section.statements) > COMPARISON_COLUMNS:
            blocks.append([])
        blocks[-1].append(section)
    return {
        "groups": groups,
        "scope_themes": [_cell(theme) for theme in summary["themes"]],
        "blocks": blocks,
        "published": sum(not group["suppressed"] for group in summary["groups"]),
    }


def _kruskal_rows(summary: Summary, sections: list[ThemeSection]) -> list[dict[str, Any]]:
    statements = {s.item["code"]: s for section in sections for s in section.statements}
    rows = []
    for comparison in summary["comparisons"]:
        statement = statements[comparison["item"]]
        adjusted = comparison["p_adjusted"]
        rows.append(
            {
                "number": statement.number,
                "text": statement.item["text"],
                "comparison": comparison,
                "differs": None if adjusted is None else adjusted < narrative.SIGNIFICANCE,
            }
        )
    return rows


def _wave_changes(summary: Summary, sections: list[ThemeSection]) -> dict[str, Any] | None:
    """The changes since the previous wave, statement by statement in the sections' order
    and numbering; None when the summary compares no waves (a first wave, or a summary
    built without the database)."""
    comparison = summary.get("wave_comparison")
    if not comparison:
        return None
    rows = {row["item"]: row for row in comparison["items"]}
    changes = []
    for section in sections:
        listed = [
            WaveChange(s.number, s.item["text"], rows[code], _verdict(rows[code]))
            for s in section.statements
            if (code := s.item["code"]) in rows
        ]
        if listed:
            changes.append(WaveChangeSection(section.number, section.title, listed))
    compared = [row for row in comparison["items"] if not row["suppressed"]]
    return {
        "previous": _wave_title(comparison["previous_wave"]),
        "previous_name": comparison["previous_wave"]["name"],
        "previous_number": comparison["previous_wave"]["number"],
        "current": _wave_title(summary["wave"]),
        "current_number": summary["wave"]["number"],
        "sections": changes,
        "compared": len(compared),
        "tested": sum(row["p_adjusted"] is not None for row in compared),
        "significant": sum(
            change.verdict in ("rose", "fell") for section in changes for change in section.changes
        ),
    }


def _verdict(row: ItemChange) -> str:
    if row["suppressed"]:
        return "withheld"
    p_adjusted, effect_size = row["p_adjusted"], row["effect_size"]
    # A compared row always has its effect size; only p can be undefined.
    if p_adjusted is None or effect_size is None:
        return "not testable"
    if p_adjusted >= narrative.SIGNIFICANCE:
        return "no"
    # The rank-biserial r says which way the answers moved, whatever the rounded figures do.
    return "rose" if effect_size > 0 else "fell"


def _wave_title(wave: WaveName) -> str:
    """ "2025/26 rotation 1 (wave 1)"; just "Wave 1" when that is its name."""
    plain = f"Wave {wave['number']}"
    return plain if wave["name"] == plain else f"{wave['name']} (wave {wave['number']})"


def _free_text(
    summary: Summary,
    question_texts: Mapping[str, str],
    quotes: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    questions = []
    for question in summary["free_text"]:
        themes = question["themes"]
        ranked = sorted(themes, key=lambda theme: -(theme["mentions"] or 0))
        questions.append(
            {
                "code": question["question"],
                "text": question_texts.get(question["question"], question["question"]),
                "answered": question["answered"],
                "of": themes[0]["of"] if themes else summary["responses"],
                "themes": ranked,
                "withheld": question["answered"] is None,
                "quotes": [q for q in quotes if q.get("question") == question["question"]],
            }
        )
    return questions


def _text_themes(summary: Summary, slug: str) -> dict[str, Any] | None:
    """The themes counted per respondent across every text question, most mentioned first,
    with their sentences; None when the survey's text questions have no codebook."""
    themes = summary.get("text_themes", [])
    if not themes:
        return None
    ranked = sorted(themes, key=lambda theme: -(theme["respondents"] or 0))
    return {
        "of": themes[0]["of"],
        "of_answered": themes[0]["of_answered"],
        "themes": ranked,
        "sentences": [narrative.text_theme_sentence(theme, slug) for theme in ranked],
    }


def _loose_quotes(summary: Summary, quotes: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    codes = {question["question"] for question in summary["free_text"]}
    return [quote for quote in quotes if quote.get("question") not in codes]
