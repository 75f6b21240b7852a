"""Drawing a chart on a matplotlib figure in millimetres, its text as glyph outlines.

``Sheet`` is what ``reports.charts`` draws on: bars are Rectangles, rules Line2Ds clipped to the
plot as an axes clips its grid, and text is glyph outlines put where matplotlib's Text would put
them, in the bundled Noto Sans. Each distinct string is shaped once per process and each
glyph's outline is defined once in the SVG and placed with <use>, as matplotlib's own text as
paths does. The SVG is deterministic (fixed hash salt, no date) when drawn inside the charts'
``rc_context``.
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, get_font
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.path import Path as OutlinePath
from matplotlib.textpath import TextToPath, text_to_path
from matplotlib.transforms import Affine2D, Bbox, Transform, TransformedBbox

FONTS = Path(__file__).resolve().parent / "assets" / "fonts"
REGULAR_FONT = FONTS / "NotoSans-Regular.ttf"
BOLD_FONT = FONTS / "NotoSans-Bold.ttf"

MM_PER_INCH = 25.4
POINTS_PER_MM = 72 / MM_PER_INCH
TEXT_PT = 7.5
INK = "#212b32"

_SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


@functools.cache
def noto_sans(size: float = TEXT_PT, bold: bool = False) -> FontProperties:
    """Return the bundled Noto Sans (bold or regular) at ``size`` points; refuses nothing."""
    return FontProperties(fname=BOLD_FONT if bold else REGULAR_FONT, size=size)


@dataclass(frozen=True, slots=True)
class _TextLine:
    """One line of text laid out by matplotlib, in points: its glyphs (outline key, and
    position from the start of the baseline), its advance width, and the ascent and descent of
    its line box."""

    glyphs: tuple[tuple[str, float, float], ...]
    width: float
    ascent: float
    descent: float


#: Glyph outlines and places are kept to this many decimals of a point.
_DECIMALS = 2
#: Glyph outlines at matplotlib's layout size (``TextToPath.FONT_SCALE`` points), by the key
#: matplotlib gives them (font name and glyph index).
_OUTLINES: dict[str, tuple[Any, Any]] = {}


@functools.cache
def _font_metrics(size: float, bold: bool) -> tuple[float, float, float]:
    """The font's typographic ascent, descent and line gap at ``size``, in points: the least
    height matplotlib's Text gives a line."""
    path = BOLD_FONT if bold else REGULAR_FONT
    font = get_font(str(path))
    metrics, head = font.get_sfnt_table("OS/2"), font.get_sfnt_table("head")
    if metrics is None or head is None:
        raise ValueError(f"{path} has no OS/2 or head table: not a usable OpenType font")
    scale = size / head["unitsPerEm"]
    return (
        metrics["sTypoAscender"] * scale,
        -metrics["sTypoDescender"] * scale,
        metrics["sTypoLineGap"] * scale,
    )


@functools.lru_cache(maxsize=4096)
def _text_line(text: str, size: float, bold: bool) -> _TextLine:
    """``text`` (one line) shaped once by matplotlib and kept for every later chart."""
    properties = noto_sans(size, bold)
    width, height, descent = text_to_path.get_text_width_height_descent(
        text, properties, ismath=False
    )
    font = get_font(str(BOLD_FONT if bold else REGULAR_FONT))
    font.set_size(TextToPath.FONT_SCALE, TextToPath.DPI)
    placed, outlines, _rectangles = text_to_path.get_glyphs_with_font(font, text)
    _OUTLINES.update(outlines)
    scale = size / TextToPath.FONT_SCALE
    glyphs = tuple((key, x * scale, y * scale) for key, x, y, _size in placed)
    ascent, least_descent, _ = _font_metrics(size, bold)
    return _TextLine(glyphs, width, max(height - descent, ascent), max(descent, least_descent))


@functools.lru_cache(maxsize=4096)
def _glyph_outline(key: str, size: float) -> OutlinePath | None:
    """The outline of glyph ``key`` at ``size``, in points from its origin; None for a glyph
    without one (a space)."""
    vertices, codes = _OUTLINES[key]
    if not len(vertices):
        return None
    # A hundredth of a point (3.5 micrometres) is far below print resolution, and the shorter
    # numbers make the SVG a fifth and the PDF a tenth smaller.
    scaled = np.round(vertices * (size / TextToPath.FONT_SCALE), _DECIMALS)
    return OutlinePath(scaled, codes, readonly=True)


class _Glyphs(Artist):
    """One glyph outline filled at many places: what a line of path markers draws, without a
    line's upkeep. The SVG defines the outline once and places it with <use>, as matplotlib's
    own text as paths does."""

    def __init__(
        self,
        outline: OutlinePath,
        places: Sequence[tuple[float, float]],
        colour: str,
        transform: Transform,
        zorder: float,
    ) -> None:
        super().__init__()
        self._outline = outline
        self._places = OutlinePath(np.asarray(places, dtype=float))
        self._colour = to_rgba(colour)
        self.set_transform(transform)
        self.set_zorder(zorder)

    def draw(self, renderer: Any) -> None:
        if not self.get_visible():
            return
        context = renderer.new_gc()
        context.set_linewidth(0)
        scale = Affine2D().scale(renderer.points_to_pixels(1.0))
        renderer.draw_markers(
            context, self._outline, scale, self._places, self.get_transform(), self._colour
        )
        context.restore()


class Sheet:
    """A matplotlib figure drawn on in millimetres measured from its top-left corner."""

    def __init__(self, width_mm: float, height_mm: float) -> None:
        self.width_mm, self.height_mm = width_mm, height_mm
        self.figure = Figure(figsize=(width_mm / MM_PER_INCH, height_mm / MM_PER_INCH), dpi=72)
        self._mm = (
            Affine2D()
            .scale(1 / MM_PER_INCH, -1 / MM_PER_INCH)
            .translate(0, height_mm / MM_PER_INCH)
            + self.figure.dpi_scale_trans
        )
        #: Where each glyph goes, in points from the bottom-left corner, by (glyph, size,
        #: colour, zorder): one _Glyphs artist per key draws them all.
        self._glyphs: dict[tuple[str, float, str, float], list[tuple[float, float]]] = {}

    def rectangle(
        self, x: float, y: float, width: float, height: float, colour: str, zorder: float = 1
    ) -> None:
        """A filled rectangle without an edge; (x, y) is its top-left corner."""
        self.figure.add_artist(
            Rectangle(
                (x, y),
                width,
                height,
                transform=self._mm,
                facecolor=colour,
                edgecolor="none",
                linewidth=0,
                zorder=zorder,
            )
        )

    def line(
        self,
        xs: Sequence[float],
        ys: Sequence[float],
        colour: str,
        width: float,
        zorder: float = 0,
        **style: Any,
    ) -> None:
        """A polyline (or, with a ``marker`` style, markers) through the points in mm."""
        style.setdefault("solid_capstyle", "butt")
        self.figure.add_artist(
            Line2D(
                xs, ys, transform=self._mm, color=colour, linewidth=width, zorder=zorder, **style
            )
        )

    def rule(
        self,
        x: float,
        top: float,
        bottom: float,
        colour: str,
        width: float,
        within: tuple[float, float],
        zorder: float = 0,
        **style: Any,
    ) -> None:
        """A vertical line from ``bottom`` up to ``top`` at ``x``, clipped, as an axes clips
        its grid lines, to the plot between ``within`` (left and right, mm) and top and bottom:
        a line on the plot's edge shows its inner half."""
        style.setdefault("solid_capstyle", "projecting")
        rule = Line2D(
            [x, x], [bottom, top], transform=self._mm, color=colour, linewidth=width, **style
        )
        plot = Bbox.from_extents(within[0], top, within[1], bottom)
        rule.set_clip_box(TransformedBbox(plot, self._mm))
        rule.set_zorder(zorder)
        self.figure.add_artist(rule)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = TEXT_PT,
        bold: bool = False,
        colour: str = INK,
        ha: str = "left",
        va: str = "center",
        backdrop: str | None = None,
        zorder: float = 3,
    ) -> None:
        """``text`` drawn as paths, anchored at (x, y) mm as matplotlib's Text anchors it.

        Lines split at "\n" and are aligned among themselves as ``ha``; ``va`` is "top",
        "center" or "baseline" (of the last line). ``backdrop`` fills the text's box, padded by
        1.5 pt, behind it (a bbox of matplotlib's).
        """
        lines = [_text_line(line, size, bold) for line in text.split("\n")]
        gap = _font_metrics(size, bold)[2] if len(lines) > 1 else 0.0
        box_width = max(line.width for line in lines)
        box_height = sum(line.ascent + line.descent + gap for line in lines)
        # The box's top-left corner relative to the anchor, in points, y upwards.
        share = {"left": 0.0, "center": 0.5, "right": 1.0}[ha]
        left = -box_width * share
        top = {
            "top": 0.0,
            "center": box_height / 2,
            "baseline": box_height - lines[-1].descent - gap / 2,
        }[va]
        if backdrop is not None:
            pad = 1.5
            self.rectangle(
                x + (left - pad) / POINTS_PER_MM,
                y - (top + pad) / POINTS_PER_MM,
                (box_width + 2 * pad) / POINTS_PER_MM,
                (box_height + 2 * pad) / POINTS_PER_MM,
                backdrop,
                zorder,
            )
        origin_x = x * POINTS_PER_MM + left
        baseline = (self.height_mm - y) * POINTS_PER_MM + top
        for line in lines:
            baseline -= line.ascent + gap / 2
            start = origin_x + (box_width - line.width) * share
            for key, glyph_x, glyph_y in line.glyphs:
                places = self._glyphs.setdefault((key, size, colour, zorder), [])
                place = (start + glyph_x, baseline + glyph_y)
                places.append((round(place[0], _DECIMALS), round(place[1], _DECIMALS)))
            baseline -= line.descent + gap / 2

    def legend(self, entries: Sequence[tuple[str, str]], size: float) -> None:
        """Colour keys with their labels in one row at the top right: the layout of
        matplotlib's figure legend (loc "upper right", handle 1 x 1 em, handletextpad 0.4,
        columnspacing 1, borderaxespad 0.2, borderpad 0.4, no frame)."""
        lines = [_text_line(label, size, False) for label, _ in entries]
        # matplotlib's handle box: 1 em wide, its descent a heuristic share of the em.
        handle_descent = 0.35 * size * (1.0 - 0.7)
        handle_ascent = size - 2 * handle_descent
        ascent = max(handle_ascent, *(line.ascent for line in lines))
        edge, pad = 0.2 * size, 0.4 * size
        content = sum(size + 0.4 * size + line.width for line in lines)
        content += (len(lines) - 1) * size
        x = self.width_mm * POINTS_PER_MM - edge - pad - content
        baseline = edge + pad + ascent
        for (label, colour), line in zip(entries, lines, strict=True):
            self.rectangle(
                x / POINTS_PER_MM,
                (baseline - handle_ascent) / POINTS_PER_MM,
                size / POINTS_PER_MM,
                (handle_ascent + handle_descent) / POINTS_PER_MM,
                colour,
            )
            x += 1.4 * size
            self.text(
                x / POINTS_PER_MM,
                baseline / POINTS_PER_MM,
                label,
                size=size,
                colour="black",
                va="baseline",
            )
            x += line.width + size

    def svg_data_uri(self) -> str:
        """The figure as a deterministic SVG ``data:`` URI (call inside the chart rc_context)."""
        points = Affine2D().scale(1 / 72) + self.figure.dpi_scale_trans
        for (key, size, colour, zorder), places in self._glyphs.items():
            outline = _glyph_outline(key, size)
            if outline is not None:
                self.figure.add_artist(_Glyphs(outline, places, colour, points, zorder))
        FigureCanvasAgg(self.figure)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="svg", metadata=_SVG_METADATA, transparent=True)
        encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
        return f"data:image/svg+xml;base64,{encoded}"
