"""Key findings of a report, read off the published summary JSON.

Working from the summary (not from aggregates) means a key finding can never quote a figure the
summary withheld, and the PDF's first page agrees with its tables. The changes since the
previous wave are read off the summary's wave comparison in the same way, by
``reports.narrative.wave_change_sentences``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from reports.comparisons import Flag
from reports.summary_types import Summary

#: How many statements the report lists as the highest and as the lowest rated.
DEFAULT_STATEMENTS = 3


@dataclass(frozen=True, slots=True)
class RankedStatement:
    """A Likert statement (item) with its published mean and number of answers."""

    code: str
    text: str
    mean: float
    n: int


@dataclass(frozen=True, slots=True)
class FlaggedGroup:
    """A group flagged red or green for one item or theme (``text`` is the statement or title)."""

    key: str
    label: str
    kind: Literal["item", "theme"]
    code: str
    text: str
    flag: Literal["red", "green"]
    mean: float


@dataclass(frozen=True, slots=True)
class KeyFindings:
    """The highest and lowest rated statements, and the groups flagged red and green."""

    highest: tuple[RankedStatement, ...]
    lowest: tuple[RankedStatement, ...]
    red: tuple[FlaggedGroup, ...]
    green: tuple[FlaggedGroup, ...]

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        """Return the findings as plain lists of dicts, in the order a report shows them."""
        return {
            "highest": [asdict(statement) for statement in self.highest],
            "lowest": [asdict(statement) for statement in self.lowest],
            "red": [asdict(group) for group in self.red],
            "green": [asdict(group) for group in self.green],
        }


def rank_statements(
    summary: Summary, count: int = DEFAULT_STATEMENTS
) -> tuple[tuple[RankedStatement, ...], tuple[RankedStatement, ...]]:
    """Return the ``count`` highest and ``count`` lowest rated published statements of the scope.

    Only unsuppressed items with a mean are ranked. Ties go to the statement that comes first in
    the survey, in both lists. A statement is never in both lists: with fewer than 2 * count
    ranked statements the highest list is filled first and the lowest takes what remains.
    Refuses (ValueError) a negative ``count``.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    ranked = [
        (position, RankedStatement(item["code"], item["text"], item["mean"], item["n"]))
        for position, item in enumerate(summary["items"])
        if not item["suppressed"] and item["mean"] is not None and item["n"] is not None
    ]
    highest = sorted(ranked, key=lambda entry: (-entry[1].mean, entry[0]))[:count]
    chosen = {position for position, _ in highest}
    remaining = [entry for entry in ranked if entry[0] not in chosen]
    lowest = sorted(remaining, key=lambda entry: (entry[1].mean, entry[0]))[:count]
    return (
        tuple(statement for _, statement in highest),
        tuple(statement for _, statement in lowest),
    )


def flagged_groups(
    summary: Summary,
) -> tuple[tuple[FlaggedGroup, ...], tuple[FlaggedGroup, ...]]:
    """Return ``(red, green)``: the groups flagged red, and green, per item and per theme.

    Each list is in survey order (items, then themes), and by group key within an item or theme.
    """
    found: dict[str, list[tuple[int, str, FlaggedGroup]]] = {"red": [], "green": []}
    themes_from = len(summary["items"])
    for group in summary["groups"]:
        if group["suppressed"]:
            continue
        # (position in the survey, kind, code, statement or title, flag, mean) of each row.
        rows: list[tuple[int, Literal["item", "theme"], str, str, Flag | None, float | None]] = [
            (position, "item", row["code"], row["text"], row["flag"], row["mean"])
            for position, row in enumerate(group["items"])
        ]
        rows += [
            (themes_from + position, "theme", row["code"], row["title"], row["flag"], row["mean"])
            for position, row in enumerate(group["themes"])
        ]
        for position, kind, code, text, flag, mean in rows:
            # A flagged row always has a mean: a group without one is never flagged.
            if (flag == "red" or flag == "green") and mean is not None:
                found[flag].append(
                    (
                        position,
                        group["key"],
                        FlaggedGroup(
                            key=group["key"],
                            label=group["label"],
                            kind=kind,
                            code=code,
                            text=text,
                            flag=flag,
                            mean=mean,
                        ),
                    )
                )

    def in_survey_order(flag: str) -> tuple[FlaggedGroup, ...]:
        return tuple(entry[2] for entry in sorted(found[flag], key=lambda e: (e[0], e[1])))

    return in_survey_order("red"), in_survey_order("green")


def key_findings(summary: Summary, count: int = DEFAULT_STATEMENTS) -> KeyFindings:
    """Return the report's key findings from a summary built by ``build_summary``.

    See ``rank_statements`` and ``flagged_groups``; refuses what they refuse.
    """
    highest, lowest = rank_statements(summary, count)
    red, green = flagged_groups(summary)
    return KeyFindings(highest=highest, lowest=lowest, red=red, green=green)
