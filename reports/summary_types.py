"""The summary JSON as types: one TypedDict per object of docs/methodology.md's schema.

A TypedDict is the dict ``json.dumps`` writes, so typing the summary changes no byte of the
JSON, CSV, XLSX or PDF: it lets mypy check every key a consumer reads. The types hold exactly
the keys ``reports.summary`` builds (and the ``wave`` and ``wave_comparison`` that the data
loader adds), in the order the JSON lists them. A withheld figure is None, so most figures are
``X | None`` even where the statistics always give a number to a published cell.

``as_json`` is the one place a summary leaves the typed world as plain JSON.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict, cast

from reports.comparisons import Flag

#: A JSON value: what ``json.dumps`` accepts and ``json.loads`` gives back.
JSONValue = str | int | float | bool | None | list["JSONValue"] | dict[str, "JSONValue"]


class SurveyName(TypedDict):
    """The survey a summary is of."""

    slug: str
    title: str


class ScopeName(TypedDict):
    """The organisation a summary is about (a summary of all of England has none)."""

    code: str
    name: str
    level: str


class WaveName(TypedDict):
    """A wave of the survey, as readers know it."""

    number: int
    name: str


class ScopeItem(TypedDict):
    """ITEM of the spec: a Likert statement's figures in the scope; None where withheld.

    ``counts`` maps each scale value ("1" .. "K") to its answers; ``ci95`` and
    ``percent_positive_ci95`` are ``[lower, upper]``.
    """

    code: str
    text: str
    theme: str | None
    n: int | None
    missing: int | None
    counts: dict[str, int] | None
    mean: float | None
    sd: float | None
    median: float | None
    ci95: list[float] | None
    percent_positive: float | None
    percent_positive_ci95: list[float] | None
    net_agreement: float | None
    indicator: float | None
    suppressed: bool


class GroupItem(ScopeItem):
    """ITEM in a group of a breakdown: with the group's flag (None where withheld)."""

    flag: Flag | None


class ScopeTheme(TypedDict):
    """THEME of the spec: a theme's scores in the scope; None where withheld."""

    code: str
    title: str
    n: int | None
    mean: float | None
    sd: float | None
    ci95: list[float] | None
    alpha: float | None
    alpha_ci95: list[float] | None
    suppressed: bool


class GroupTheme(ScopeTheme):
    """THEME in a group of a breakdown: with the group's flag (None where withheld)."""

    flag: Flag | None


class Group(TypedDict):
    """A group of a breakdown. A group under k responses has ``responses`` None, is
    ``suppressed`` and has no rows."""

    key: str
    label: str
    responses: int | None
    suppressed: bool
    items: list[GroupItem]
    themes: list[GroupTheme]


class GroupComparison(TypedDict):
    """The Kruskal-Wallis test of one item across the groups not withheld for it."""

    item: str
    test: Literal["kruskal"]
    groups_compared: int
    statistic: float | None
    p: float | None
    p_adjusted: float | None
    effect_size: float | None


class TextThemeCount(TypedDict):
    """How many of the scope's responses mention one codebook theme of a text question."""

    code: str
    label: str
    mentions: int | None
    of: int | None
    percent: float | None
    suppressed: bool


class FreeTextQuestion(TypedDict):
    """A free-text question: how many answered it (None when withheld), and its codebook
    themes' mentions."""

    question: str
    answered: int | None
    themes: list[TextThemeCount]


class TextThemeRespondents(TypedDict):
    """How many of the scope's responses mention one codebook theme in any text question:
    ``of`` the responses in scope, ``of_answered`` those that wrote any text."""

    code: str
    label: str
    respondents: int | None
    of: int | None
    of_answered: int | None
    percent: float | None
    suppressed: bool


class WaveFigures(TypedDict):
    """An item's figures in one of two waves compared; None where withheld."""

    n: int | None
    mean: float | None
    percent_positive: float | None


class ItemChange(TypedDict):
    """An item compared between the previous wave and the current one (Mann-Whitney U)."""

    item: str
    text: str
    theme: str | None
    previous: WaveFigures
    current: WaveFigures
    change_mean: float | None
    change_percent_positive: float | None
    test: Literal["mann-whitney"]
    statistic: float | None
    p: float | None
    p_adjusted: float | None
    effect_size: float | None
    suppressed: bool


class WaveComparison(TypedDict):
    """The current wave against the previous one, over the whole scope."""

    previous_wave: WaveName
    items: list[ItemChange]


class Summary(TypedDict):
    """The summary JSON of one wave of a survey for one scope and, with ``by``, one breakdown.

    ``build_summary`` makes every key but ``wave`` and ``wave_comparison``, which the data
    loader adds (right after ``survey``, and last) once it knows the wave; a summary built
    without the database has neither. ``wave_comparison`` is None for a first wave.
    """

    survey: SurveyName
    wave: NotRequired[WaveName]
    scope: ScopeName | None
    suppression_min_n: int
    responses: int | None
    secondary_suppressed: int
    items: list[ScopeItem]
    themes: list[ScopeTheme]
    free_text: list[FreeTextQuestion]
    text_themes: list[TextThemeRespondents]
    by: str | None
    groups: list[Group]
    comparisons: list[GroupComparison]
    wave_comparison: NotRequired[WaveComparison | None]


def as_json(summary: Summary) -> dict[str, JSONValue]:
    """Return ``summary`` as the plain JSON object it is, for ``json.dumps``, ``jsonify`` or a
    template: the same dict, not a copy, so the JSON is byte for byte what was built.

    The one place the typed summary is handed on untyped; nothing is converted because the
    engine builds JSON values only (floats are finite, NaN and infinity are None). Refuses
    nothing.
    """
    # A TypedDict is no dict[str, JSONValue] to mypy (its keys are fixed, a dict's are not).
    return cast(dict[str, JSONValue], summary)
