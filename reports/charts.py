"""The report's charts: matplotlib figures drawn to SVG and embedded in the PDF as data: URIs.

Each chart is sized in millimetres for the page it sits on, so its 7.5pt text prints at 7.5pt.
Text is drawn as paths in the bundled Noto Sans (the PDF looks the same on every machine and the
SVG carries no font reference), the SVG is deterministic (fixed hash salt, no date), and every
chart comes with a text alternative that lists its figures. The figures are built without
pyplot and rendered on an Agg canvas inside ``matplotlib.rc_context``, so nothing global (the
pyplot figure list, the backend, rcParams) changes.

The Likert chart follows the R likert package: answers below the scale's midpoint extend left
of zero, answers above it extend right, and the neutral answers are split across the centre.

A chart is drawn straight onto its figure in millimetres (``reports.chart_sheet.Sheet``):
bars are Rectangles, rules Line2Ds clipped to the plot as an axes clips its grid, and text is
glyph outlines put where matplotlib's Text would put them. Shaping text (FreeType and raqm) is
most of what a matplotlib chart costs, and an axes, its ticks and a legend shape every string
again on each draw; here each distinct string is shaped once per process (scale labels, tick
labels and percentages recur in every chart), and each glyph's outline is defined once in the
SVG and placed with <use>, as matplotlib's own text as paths does. The drawing is the one an
axes and a legend gave, at about a third of the cost.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
from matplotlib.typing import RcKeyType

from reports.chart_sheet import POINTS_PER_MM, Sheet
from reports.summary_types import ScopeTheme

#: The width of the text block of an A4 portrait page with 18 mm side margins.
PAGE_WIDTH_MM = 174.0
MUTED = "#4c6272"
GRID = "#d8dde0"
CENTRE_LINE = "#aeb7bd"
ACCENT = "#005eb8"

#: Five answer classes, lowest to highest (ColorBrewer BrBG with a grey centre). Their CIE
#: lightness is 40, 75, 87, 68 and 38, so in greyscale each side still reads dark-to-light
#: towards the centre, and brown/teal is safe for the common colour-vision deficiencies.
LIKERT_COLOURS_5 = ("#8c510a", "#d8b365", "#d9d9d9", "#5ab4ac", "#01665e")
NEUTRAL_COLOUR = "#d9d9d9"

_RC: dict[RcKeyType, object] = {
    "svg.fonttype": "path",
    "svg.hashsalt": "survey-report",
    "svg.id": "chart",
    "text.parse_math": False,
    "text.usetex": False,
    "axes.unicode_minus": False,
    "path.simplify": True,
}


@dataclass(frozen=True, slots=True)
class Chart:
    """A drawn chart: an ``image/svg+xml`` data URI, its text alternative and its size in mm."""

    data_uri: str
    alt: str
    width_mm: float
    height_mm: float


@dataclass(frozen=True, slots=True)
class LikertRow:
    """One statement of a Likert chart: its label and answer counts (None when withheld)."""

    label: str
    counts: Sequence[int] | None


def likert_colours(points: int) -> tuple[str, ...]:
    """Return ``points`` colours, lowest answer first; the midpoint of an odd scale is grey.

    Refuses (ValueError) a scale of fewer than 2 points.
    """
    if points < 2:
        raise ValueError(f"a Likert scale needs >= 2 points, got {points}")
    if points == 5:
        return LIKERT_COLOURS_5
    colour_map = matplotlib.colormaps["BrBG"]
    step = 0.8 / (points - 1)
    colours = [matplotlib.colors.to_hex(colour_map(0.1 + i * step)) for i in range(points)]
    if points % 2:
        colours[points // 2] = NEUTRAL_COLOUR
    return tuple(colours)


def split_answers(counts: Sequence[int]) -> tuple[float, float, float]:
    """Return the percentages (below the midpoint, at it, above it) of a count table.

    The midpoint exists only on a scale with an odd number of points. Refuses (ValueError) a
    table with no answers.
    """
    total = sum(counts)
    if total <= 0:
        raise ValueError("a count table with no answers has no percentages")
    points = len(counts)
    half = points // 2
    low = sum(counts[:half])
    high = sum(counts[points - half :])
    neutral = total - low - high
    return 100 * low / total, 100 * neutral / total, 100 * high / total


def _percent(value: float) -> str:
    return f"{value:.0f}%"


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, break_long_words=True) or [""]


# --- the charts ---------------------------------------------------------------------------------


def likert_chart(
    rows: Sequence[LikertRow],
    scale_labels: Sequence[str],
    title: str,
    width_mm: float = PAGE_WIDTH_MM,
    withheld_text: str = "withheld",
) -> Chart:
    """Return a diverging stacked bar chart of ``rows`` (R likert package convention).

    ``scale_labels`` names the answers from the lowest scale value; every row's counts have one
    entry per label. Bars span -100% to 100%; the chart prints the share below the midpoint on
    the left, the neutral share in the centre and the share above it on the right. A row whose
    counts are None (withheld) or hold no answers shows ``withheld_text`` instead of a bar.
    ``title`` names the chart in its text alternative. Refuses (ValueError) no rows, fewer than
    2 labels, and counts of the wrong length.
    """
    points = len(scale_labels)
    colours = likert_colours(points)
    if not rows:
        raise ValueError("a Likert chart needs at least one row")
    for row in rows:
        if row.counts is not None and len(row.counts) != points:
            raise ValueError(f"{row.label!r}: {len(row.counts)} counts for {points} labels")

    label_mm, gap_mm, legend_mm, axis_mm, line_mm, bar_mm = 68.0, 11.0, 6.0, 5.0, 3.4, 4.6
    wrapped = [_wrap(row.label, 46) for row in rows]
    pitches = [max(6.6, len(lines) * line_mm + 1.8) for lines in wrapped]
    plot_mm = sum(pitches)
    height_mm = legend_mm + plot_mm + axis_mm
    plot_left = label_mm + gap_mm
    # Millimetres per percentage point: the plot spans -100% to 100%.
    scale = (width_mm - plot_left - gap_mm) / 200

    def x_at(share: float) -> float:
        return plot_left + (share + 100) * scale

    alt_rows = []
    with matplotlib.rc_context(_RC):
        sheet = Sheet(width_mm, height_mm)
        plot_bottom = legend_mm + plot_mm
        plot = (x_at(-100), x_at(100))
        for share in (-100, -50, 50, 100):
            sheet.rule(x_at(share), legend_mm, plot_bottom, GRID, 0.5, plot)
        sheet.rule(x_at(0), legend_mm, plot_bottom, CENTRE_LINE, 0.6, plot)
        for share in (-100, -50, 0, 50, 100):
            tick = f"{abs(share)}%" if share else "0"
            tick_top = plot_bottom + 2 / POINTS_PER_MM
            sheet.text(x_at(share), tick_top, tick, size=6.5, colour=MUTED, ha="center", va="top")

        top = 0.0
        for row, lines, pitch in zip(rows, wrapped, pitches, strict=True):
            centre = legend_mm + top + pitch / 2
            text_top = centre - (len(lines) - 1) * line_mm / 2
            for index, line in enumerate(lines):
                sheet.text(label_mm - 1, text_top + index * line_mm, line, size=8, ha="right")
            top += pitch
            total = sum(row.counts) if row.counts is not None else 0
            if total == 0:
                sheet.text(
                    x_at(0),
                    centre,
                    withheld_text,
                    size=7,
                    colour=MUTED,
                    ha="center",
                    backdrop="white",
                    zorder=4,
                )
                alt_rows.append(f"{row.label}: {withheld_text}.")
                continue
            assert row.counts is not None
            shares = [100 * count / total for count in row.counts]
            low, neutral, high = split_answers(row.counts)
            half = points // 2
            bar_top = centre - bar_mm / 2
            # Neutral (odd scales) straddles zero; lower answers stack leftwards from its edge,
            # higher answers rightwards, the strongest at the ends.
            start = -neutral / 2
            for index in range(half - 1, -1, -1):
                start -= shares[index]
                sheet.rectangle(x_at(start), bar_top, shares[index] * scale, bar_mm, colours[index])
            if points % 2:
                sheet.rectangle(x_at(-neutral / 2), bar_top, neutral * scale, bar_mm, colours[half])
            start = neutral / 2
            for index in range(points - half, points):
                sheet.rectangle(x_at(start), bar_top, shares[index] * scale, bar_mm, colours[index])
                start += shares[index]
            sheet.text(x_at(-102), centre, _percent(low), size=7, ha="right")
            sheet.text(x_at(102), centre, _percent(high), size=7, bold=True)
            if points % 2 and neutral >= 8:  # a narrower segment cannot hold its label
                sheet.text(x_at(0), centre, _percent(neutral), size=6.5, ha="center", zorder=4)
            described = ", ".join(
                f"{label} {_percent(share)}"
                for label, share in zip(scale_labels, shares, strict=True)
            )
            alt_rows.append(
                f"{row.label}: {described} (below the midpoint {_percent(low)}, "
                f"above it {_percent(high)}; {total:,} answers)."
            )

        # One line, right-aligned with the plot: it may reach over the label column.
        sheet.legend(list(zip(scale_labels, colours, strict=True)), 6.5)
        data_uri = sheet.svg_data_uri()

    alt = (
        f"Bar chart of the answers to the {title} statements, from "
        f"“{scale_labels[0]}” (left) to “{scale_labels[-1]}” (right). " + " ".join(alt_rows)
    )
    return Chart(data_uri, alt, width_mm, height_mm)


def theme_scores_chart(
    themes: Sequence[ScopeTheme],
    points: int = 5,
    width_mm: float = PAGE_WIDTH_MM,
    withheld_text: str = "withheld",
) -> Chart:
    """Return a dot-and-whisker chart of theme means with their 95% intervals, on 1..points.

    ``themes`` are THEME rows of the summary JSON (``title``, ``mean``, ``ci95``,
    ``suppressed``). A withheld theme shows ``withheld_text``. Refuses (ValueError) no themes.
    """
    if not themes:
        raise ValueError("a theme chart needs at least one theme")
    label_mm, gap_mm, axis_mm, pitch_mm, value_mm, top_mm = 52.0, 4.0, 7.0, 6.6, 12.0, 2.0
    plot_mm = pitch_mm * len(themes)
    height_mm = top_mm + plot_mm + axis_mm
    plot_left = label_mm + gap_mm
    plot_width = width_mm - plot_left - value_mm
    plot_bottom = top_mm + plot_mm

    def x_at(score: float) -> float:
        return plot_left + (score - 1) / (points - 1) * plot_width

    alt_rows = []
    with matplotlib.rc_context(_RC):
        sheet = Sheet(width_mm, height_mm)
        plot = (x_at(1), x_at(points))
        for value in range(1, points + 1):
            x = x_at(value)
            sheet.rule(x, top_mm, plot_bottom, GRID, 0.5, plot)
            sheet.line([x, x], [plot_bottom, plot_bottom + 2 / POINTS_PER_MM], MUTED, 0.5, 2.5)
            tick_top = plot_bottom + 3.5 / POINTS_PER_MM
            sheet.text(x, tick_top, str(value), size=6.5, colour=MUTED, ha="center", va="top")
        sheet.line(
            [plot_left, plot_left + plot_width],
            [plot_bottom] * 2,
            MUTED,
            0.6,
            2.5,
            solid_capstyle="projecting",
        )
        midpoint = (1 + points) / 2
        sheet.rule(x_at(midpoint), top_mm, plot_bottom, MUTED, 0.7, plot, 1, linestyle=(0, (2, 2)))

        for index, theme in enumerate(themes):
            centre = top_mm + pitch_mm * (index + 0.5)
            sheet.text(label_mm, centre, "\n".join(_wrap(theme["title"], 36)), ha="right")
            if theme["suppressed"] or theme["mean"] is None:
                sheet.text(
                    x_at(midpoint),
                    centre,
                    withheld_text,
                    size=7,
                    colour=MUTED,
                    ha="center",
                    backdrop="white",
                )
                alt_rows.append(f"{theme['title']}: {withheld_text}.")
                continue
            mean = theme["mean"]
            interval = theme["ci95"]
            if interval is not None:
                sheet.line([x_at(bound) for bound in interval], [centre] * 2, ACCENT, 1.4, 2)
            sheet.line(
                [x_at(mean)],
                [centre],
                ACCENT,
                1.5,
                3,
                marker="o",
                markersize=4.6,
                markeredgecolor="white",
                markeredgewidth=0.6,
            )
            sheet.text(x_at(points) + value_mm / 2, centre, f"{mean:.2f}", bold=True, ha="center")
            spread = f" (95% interval {interval[0]:.2f} to {interval[1]:.2f})" if interval else ""
            alt_rows.append(f"{theme['title']}: {mean:.2f} out of {points}{spread}.")
        data_uri = sheet.svg_data_uri()

    alt = f"Theme scores, mean out of {points} with the 95% interval: " + " ".join(alt_rows)
    return Chart(data_uri, alt, width_mm, height_mm)
