"""What a summary is built from: the survey's items, themes and text questions, and the
aggregates of each cell (the scope, and each group of a breakdown).

A caller counting cell by cell hands over a ``CellAggregates`` per cell, which
``reports.summary.build_summary`` checks; ``reports.answer_counts`` counts every cell at once into
arrays (``CellTables``), which ``build_summary_from_tables`` trusts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from reports.free_text import TextTheme
from reports.likert import whole_number
from reports.themes import ThemeAggregates, ThemeTable


@dataclass(frozen=True, slots=True)
class LikertItemSpec:
    """A Likert item: its code, statement text, theme code (or None) and number of points K."""

    code: str
    text: str
    theme: str | None
    points: int

    def __post_init__(self) -> None:
        if self.points < 2:
            raise ValueError(f"item {self.code!r}: a Likert scale needs >= 2 points")


@dataclass(frozen=True, slots=True)
class ThemeSpec:
    """A theme: its code, title and the codes of its items (m = len(items))."""

    code: str
    title: str
    items: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.items:
            raise ValueError(f"theme {self.code!r} has no items")


@dataclass(frozen=True, slots=True)
class TextQuestionSpec:
    """A free-text question: its code, question text and codebook themes (maybe none)."""

    code: str
    text: str
    themes: tuple[TextTheme, ...] = ()


@dataclass(frozen=True, slots=True)
class SurveySpec:
    """What the summary needs of a survey definition: items in question order, themes, texts.

    Refuses (ValueError) duplicate codes, a theme listing an unknown item, and an item whose
    ``theme`` disagrees with the themes' item lists.
    """

    slug: str
    title: str
    items: tuple[LikertItemSpec, ...]
    themes: tuple[ThemeSpec, ...] = ()
    text_questions: tuple[TextQuestionSpec, ...] = ()

    def __post_init__(self) -> None:
        for kind, codes in (
            ("item", [item.code for item in self.items]),
            ("theme", [theme.code for theme in self.themes]),
            ("text question", [question.code for question in self.text_questions]),
        ):
            if len(set(codes)) != len(codes):
                raise ValueError(f"survey {self.slug!r}: duplicate {kind} codes")
        theme_of = {item.code: item.theme for item in self.items}
        listed: dict[str, str] = {}
        for theme in self.themes:
            for code in theme.items:
                if code not in theme_of:
                    raise ValueError(f"theme {theme.code!r} lists unknown item {code!r}")
                if code in listed:
                    raise ValueError(
                        f"item {code!r} is in themes {listed[code]!r} and {theme.code!r}"
                    )
                listed[code] = theme.code
        for code, theme_code in theme_of.items():
            if listed.get(code) != theme_code:
                raise ValueError(
                    f"item {code!r} says theme {theme_code!r}, the themes say {listed.get(code)!r}"
                )


@dataclass(slots=True, kw_only=True)
class CellAggregates:
    """The aggregates of one cell (the scope, or one group of a breakdown).

    ``responses``: responses in the cell, answered or not. ``item_counts``: per item code, the
    count table (index i = answers with scale value i + 1, length K); an item absent from the
    mapping had no answers. ``themes``: per theme code, its ``ThemeAggregates`` (item order as
    in the ``ThemeSpec``); a theme absent from the mapping had no scores.
    """

    responses: int
    item_counts: Mapping[str, np.ndarray | Sequence[int]] = field(default_factory=dict)
    themes: Mapping[str, ThemeAggregates] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A plain int whatever the driver returned, so the JSON never meets np.int64.
        self.responses = whole_number(self.responses)
        if self.responses < 0:
            raise ValueError(f"responses must be >= 0, got {self.responses}")


@dataclass(slots=True, kw_only=True)
class GroupAggregates(CellAggregates):
    """A ``CellAggregates`` of one group: its ``key`` (organisation code or option value,
    which orders the groups) and the ``label`` shown to readers."""

    key: str
    label: str

    def __post_init__(self) -> None:
        # Named, not super(): zero-argument super() breaks in slotted dataclasses.
        CellAggregates.__post_init__(self)
        if not isinstance(self.key, str) or not isinstance(self.label, str):
            raise ValueError(f"group key and label must be strings, got {self.key!r}")


@dataclass(frozen=True, slots=True)
class CellTables:
    """The aggregates of several cells as arrays (index: the cell), as
    ``reports.answer_counts`` counts them: what a ``CellAggregates`` per cell holds, without
    one Python object per figure.

    ``responses``: responses per cell (int64). ``item_counts``: for each item of the spec, in
    its order, the cells x K count table (int64). ``themes``: for each theme of the spec, in its
    order, the cells' ``ThemeTable``.
    """

    responses: np.ndarray
    item_counts: tuple[np.ndarray, ...]
    themes: tuple[ThemeTable, ...]


@dataclass(frozen=True, slots=True)
class GroupTables:
    """The groups of a breakdown as ``CellTables``, with each group's ``key`` (organisation code
    or option value, which orders the groups) and the ``label`` shown to readers."""

    keys: Sequence[str]
    labels: Sequence[str]
    cells: CellTables
