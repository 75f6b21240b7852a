"""The report's charts: matplotlib figures drawn to SVG and embedded in the PDF as data: URIs.

Each chart is sized in millimetres for the page it sits on, so its 7.5pt text prints at 7.5pt.
Text is drawn as paths in the bundled Noto Sans (the PDF looks the same on every machine and the
SVG carries no font reference), the SVG is deterministic (fixed hash salt, no date), and every
chart comes with a text alternative that lists its figures. The figures are built without
pyplot and rendered on an Agg canvas inside ``matplotlib.rc_context``, so nothing global (the
pyplot figure list, the backend, rcParams) changes.

The Likert chart follows the R likert package: answers below the scale's midpoint extend left
of zero, answers above it extend right, and the neutral answers are split across the centre.
"""

from __future__ import annotations

import base64
import io
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch

FONTS = Path(__file__).resolve().parent / "assets" / "fonts"
REGULAR_FONT = FONTS / "NotoSans-Regular.ttf"
BOLD_FONT = FONTS / "NotoSans-Bold.ttf"

MM_PER_INCH = 25.4
#: The width of the text block of an A4 portrait page with 18 mm side margins.
PAGE_WIDTH_MM = 174.0
TEXT_PT = 7.5
INK = "#212b32"
MUTED = "#4c6272"
GRID = "#d8dde0"
CENTRE_LINE = "#aeb7bd"
ACCENT = "#005eb8"

#: Five answer classes, lowest to highest (ColorBrewer BrBG with a grey centre). Their CIE
#: lightness is 40, 75, 87, 68 and 38, so in greyscale each side still reads dark-to-light
#: towards the centre, and brown/teal is safe for the common colour-vision deficiencies.
LIKERT_COLOURS_5 = ("#8c510a", "#d8b365", "#d9d9d9", "#5ab4ac", "#01665e")
NEUTRAL_COLOUR = "#d9d9d9"

_RC = {
    "svg.fonttype": "path",
    "svg.hashsalt": "survey-report",
    "svg.id": "chart",
    "text.parse_math": False,
    "text.usetex": False,
    "axes.unicode_minus": False,
    "path.simplify": True,
}
_SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


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


def _font(size: float = TEXT_PT, bold: bool = False) -> FontProperties:
    return FontProperties(fname=BOLD_FONT if bold else REGULAR_FONT, size=size)


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, break_long_words=True) or [""]


def _svg_data_uri(figure: Figure) -> str:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata=_SVG_METADATA, transparent=True)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/svg+xml;base64,{encoded}"


def _figure(width_mm: float, height_mm: float) -> Figure:
    return Figure(figsize=(width_mm / MM_PER_INCH, height_mm / MM_PER_INCH), dpi=72)


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

    label_mm, gap_mm, legend_mm, axis_mm, line_mm = 68.0, 11.0, 6.0, 5.0, 3.4
    wrapped = [_wrap(row.label, 46) for row in rows]
    pitches = [max(6.6, len(lines) * line_mm + 1.8) for lines in wrapped]
    plot_mm = sum(pitches)
    height_mm = legend_mm + plot_mm + axis_mm
    left_mm = label_mm + gap_mm
    plot_width_mm = width_mm - left_mm - gap_mm

    with matplotlib.rc_context(_RC):
        figure = _figure(width_mm, height_mm)
        axes = figure.add_axes(
            (
                left_mm / width_mm,
                axis_mm / height_mm,
                plot_width_mm / width_mm,
                plot_mm / height_mm,
            )
        )
        axes.set_xlim(-100, 100)
        axes.set_ylim(plot_mm, 0)
        for side in ("top", "right", "left", "bottom"):
            axes.spines[side].set_visible(False)
        axes.set_yticks([])
        axes.set_xticks([-100, -50, 0, 50, 100])
        axes.set_xticklabels(["100%", "50%", "0", "50%", "100%"])
        for label in axes.get_xticklabels():
            label.set_fontproperties(_font(6.5))
            label.set_color(MUTED)
        axes.tick_params(axis="x", length=0, pad=2)
        for x in (-100, -50, 50, 100):
            axes.axvline(x, color=GRID, linewidth=0.5, zorder=0)
        axes.axvline(0, color=CENTRE_LINE, linewidth=0.6, zorder=0)

        bar_mm = 4.6
        alt_rows = []
        top = 0.0
        for row, lines, pitch in zip(rows, wrapped, pitches, strict=True):
            centre = top + pitch / 2
            text_top = centre - (len(lines) - 1) * line_mm / 2
            for index, line in enumerate(lines):
                figure.text(
                    (label_mm - 1) / width_mm,
                    1 - (legend_mm + text_top + index * line_mm) / height_mm,
                    line,
                    fontproperties=_font(8),
                    color=INK,
                    ha="right",
                    va="center",
                )
            total = sum(row.counts) if row.counts is not None else 0
            if total == 0:
                axes.text(
                    0,
                    centre,
                    withheld_text,
                    fontproperties=_font(7),
                    color=MUTED,
                    ha="center",
                    va="center",
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5},
                    zorder=4,
                )
                alt_rows.append(f"{row.label}: {withheld_text}.")
                top += pitch
                continue
            assert row.counts is not None
            shares = [100 * count / total for count in row.counts]
            low, neutral, high = split_answers(row.counts)
            half = points // 2
            # Neutral (odd scales) straddles zero; lower answers stack leftwards from its edge,
            # higher answers rightwards, the strongest at the ends.
            start = -neutral / 2
            for index in range(half - 1, -1, -1):
                start -= shares[index]
                axes.barh(
                    centre,
                    shares[index],
                    left=start,
                    height=bar_mm,
                    color=colours[index],
                    linewidth=0,
                )
            if points % 2:
                axes.barh(
                    centre,
                    neutral,
                    left=-neutral / 2,
                    height=bar_mm,
                    color=colours[half],
                    linewidth=0,
                )
            start = neutral / 2
            for index in range(points - half, points):
                axes.barh(
                    centre,
                    shares[index],
                    left=start,
                    height=bar_mm,
                    color=colours[index],
                    linewidth=0,
                )
                start += shares[index]
            axes.text(
                -102,
                centre,
                _percent(low),
                fontproperties=_font(7),
                color=INK,
                ha="right",
                va="center",
                clip_on=False,
            )
            axes.text(
                102,
                centre,
                _percent(high),
                fontproperties=_font(7, bold=True),
                color=INK,
                ha="left",
                va="center",
                clip_on=False,
            )
            if points % 2 and neutral >= 8:  # a narrower segment cannot hold its label
                axes.text(
                    0,
                    centre,
                    _percent(neutral),
                    fontproperties=_font(6.5),
                    color=INK,
                    ha="center",
                    va="center",
                    zorder=4,
                )
            described = ", ".join(
                f"{label} {_percent(share)}"
                for label, share in zip(scale_labels, shares, strict=True)
            )
            alt_rows.append(
                f"{row.label}: {described} (below the midpoint {_percent(low)}, "
                f"above it {_percent(high)}; {total:,} answers)."
            )
            top += pitch

        handles = [
            Patch(facecolor=colour, edgecolor="none", label=label)
            for colour, label in zip(colours, scale_labels, strict=True)
        ]
        # One line, right-aligned with the plot: it may reach over the label column.
        figure.legend(
            handles=handles,
            loc="upper right",
            bbox_to_anchor=(1.0, 1.0),
            ncol=points,
            frameon=False,
            prop=_font(6.5),
            handlelength=1.0,
            handleheight=1.0,
            handletextpad=0.4,
            columnspacing=1.0,
            borderaxespad=0.2,
        )
        data_uri = _svg_data_uri(figure)

    alt = (
        f"Bar chart of the answers to the {title} statements, from "
        f"“{scale_labels[0]}” (left) to “{scale_labels[-1]}” (right). " + " ".join(alt_rows)
    )
    return Chart(data_uri, alt, width_mm, height_mm)


def theme_scores_chart(
    themes: Sequence[Mapping[str, Any]],
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
    label_mm, gap_mm, axis_mm, pitch_mm, value_mm = 52.0, 4.0, 7.0, 6.6, 12.0
    plot_mm = pitch_mm * len(themes)
    height_mm = plot_mm + axis_mm + 2
    plot_width_mm = width_mm - label_mm - gap_mm - value_mm

    alt_rows = []
    with matplotlib.rc_context(_RC):
        figure = _figure(width_mm, height_mm)
        axes = figure.add_axes(
            (
                (label_mm + gap_mm) / width_mm,
                axis_mm / height_mm,
                plot_width_mm / width_mm,
                plot_mm / height_mm,
            )
        )
        axes.set_xlim(1, points)
        axes.set_ylim(plot_mm, 0)
        for side in ("top", "right", "left"):
            axes.spines[side].set_visible(False)
        axes.spines["bottom"].set_color(MUTED)
        axes.spines["bottom"].set_linewidth(0.6)
        axes.set_yticks([])
        axes.set_xticks(range(1, points + 1))
        axes.set_xticklabels([str(value) for value in range(1, points + 1)])
        for label in axes.get_xticklabels():
            label.set_fontproperties(_font(6.5))
            label.set_color(MUTED)
        axes.tick_params(axis="x", length=2, width=0.5, color=MUTED, pad=1.5)
        for x in range(1, points + 1):
            axes.axvline(x, color=GRID, linewidth=0.5, zorder=0)
        midpoint = (1 + points) / 2
        axes.axvline(midpoint, color=MUTED, linewidth=0.7, linestyle=(0, (2, 2)), zorder=1)

        for index, theme in enumerate(themes):
            centre = pitch_mm * (index + 0.5)
            axes.text(
                1 - (gap_mm / plot_width_mm) * (points - 1),
                centre,
                "\n".join(_wrap(theme["title"], 36)),
                fontproperties=_font(),
                color=INK,
                ha="right",
                va="center",
                clip_on=False,
            )
            if theme["suppressed"] or theme["mean"] is None:
                axes.text(
                    midpoint,
                    centre,
                    withheld_text,
                    fontproperties=_font(7),
                    color=MUTED,
                    ha="center",
                    va="center",
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5},
                )
                alt_rows.append(f"{theme['title']}: {withheld_text}.")
                continue
            mean = theme["mean"]
            interval = theme["ci95"]
            if interval is not None:
                axes.plot(
                    interval,
                    [centre, centre],
                    color=ACCENT,
                    linewidth=1.4,
                    solid_capstyle="butt",
                    zorder=2,
                )
            axes.plot(
                [mean],
                [centre],
                marker="o",
                markersize=4.6,
                color=ACCENT,
                markeredgecolor="white",
                markeredgewidth=0.6,
                zorder=3,
            )
            axes.text(
                points + (value_mm / 2 / plot_width_mm) * (points - 1),
                centre,
                f"{mean:.2f}",
                fontproperties=_font(7.5, bold=True),
                color=INK,
                ha="center",
                va="center",
                clip_on=False,
            )
            spread = f" (95% interval {interval[0]:.2f} to {interval[1]:.2f})" if interval else ""
            alt_rows.append(f"{theme['title']}: {mean:.2f} out of {points}{spread}.")
        data_uri = _svg_data_uri(figure)

    alt = f"Theme scores, mean out of {points} with the 95% interval: " + " ".join(alt_rows)
    return Chart(data_uri, alt, width_mm, height_mm)
