"""Key findings of a report, read off the published summary JSON.

Working from the summary (not from aggregates) means a key finding can never quote a figure the
summary withheld, and the PDF's first page agrees with its tables. The changes since the
previous wave are read off the wave comparison (``reports.waves.compare_waves``) in the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

#: How many statements the report lists as the highest and as the lowest rated.
DEFAULT_STATEMENTS = 3
#: How many significant changes since the previous wave the key findings name at most.
DEFAULT_WAVE_CHANGES = 3


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
    summary: Mapping[str, Any], count: int = DEFAULT_STATEMENTS
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
        if not item["suppressed"] and item["mean"] is not None
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
    summary: Mapping[str, Any],
) -> tuple[tuple[FlaggedGroup, ...], tuple[FlaggedGroup, ...]]:
    """Return ``(red, green)``: the groups flagged red, and green, per item and per theme.

    Each list is in survey order (items, then themes), and by group key within an item or theme.
    """
    found: dict[str, list[tuple[int, str, FlaggedGroup]]] = {"red": [], "green": []}
    for group in summary["groups"]:
        if group["suppressed"]:
            continue
        for kind, rows, text_key, offset in (
            ("item", group["items"], "text", 0),
            ("theme", group["themes"], "title", len(summary["items"])),
        ):
            for position, row in enumerate(rows):
                flag = row.get("flag")
                if flag in found:
                    found[flag].append(
                        (
                            offset + position,
                            group["key"],
                            FlaggedGroup(
                                key=group["key"],
                                label=group["label"],
                                kind=kind,
                                code=row["code"],
                                text=row[text_key],
                                flag=flag,
                                mean=row["mean"],
                            ),
                        )
                    )

    def in_survey_order(flag: str) -> tuple[FlaggedGroup, ...]:
        return tuple(entry[2] for entry in sorted(found[flag], key=lambda e: (e[0], e[1])))

    return in_survey_order("red"), in_survey_order("green")


def key_findings(summary: Mapping[str, Any], count: int = DEFAULT_STATEMENTS) -> KeyFindings:
    """Return the report's key findings from a summary built by ``build_summary``.

    See ``rank_statements`` and ``flagged_groups``; refuses what they refuse.
    """
    highest, lowest = rank_statements(summary, count)
    red, green = flagged_groups(summary)
    return KeyFindings(highest=highest, lowest=lowest, red=red, green=green)


def wave_change_sentences(
    comparison: Sequence[Mapping[str, Any]],
    previous_wave: str,
    count: int = DEFAULT_WAVE_CHANGES,
) -> tuple[str, ...]:
    """Return the key findings' sentences on the largest significant changes since the
    previous wave, such as "“I had a named supervisor for the whole placement”: % positive
    rose from 71.0% to 84.2% since Wave 1, and the mean from 3.90 to 4.21 (p = 0.003 after
    adjustment)."

    ``comparison`` is what ``reports.waves.compare_waves`` returns; ``previous_wave`` names
    the previous wave as readers know it ("Wave 1"). A change is significant when its
    adjusted p is below ``narrative.SIGNIFICANCE`` (0.05); at most ``count`` of them are
    named, the largest absolute change in percent positive first, then in mean, then in
    question order. Numbers are rounded as the report page rounds them. A withheld statement
    is never named. Without a significant change the one sentence says so, with the number of
    statements compared. Refuses (ValueError) a negative ``count``.
    """
    # narrative imports this module (for key_findings), so its number formats come in here.
    from reports import narrative

    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    compared = [row for row in comparison if not row["suppressed"]]
    significant = [
        (position, row)
        for position, row in enumerate(compared)
        if row["p_adjusted"] is not None and row["p_adjusted"] < narrative.SIGNIFICANCE
    ]
    if significant:
        largest = sorted(
            significant,
            key=lambda entry: (
                -abs(entry[1]["change_percent_positive"]),
                -abs(entry[1]["change_mean"]),
                entry[0],
            ),
        )[:count]
        return tuple(_wave_change_sentence(row, previous_wave) for _, row in largest)
    test = f"(Mann-Whitney test, adjusted p below {narrative.SIGNIFICANCE:g})"
    if not compared:
        return (
            f"No statement had enough answers both in this wave and in {previous_wave} "
            "to compare them.",
        )
    if len(compared) == 1:
        return (
            f"The one statement compared did not change significantly since {previous_wave} "
            f"{test}.",
        )
    return (
        f"None of the {len(compared):,} statements compared changed significantly since "
        f"{previous_wave} {test}.",
    )


def _wave_change_sentence(row: Mapping[str, Any], previous_wave: str) -> str:
    """One significant change: percent positive and mean before and now, and the adjusted p."""
    from reports import narrative

    before, now = row["previous"], row["current"]
    positive_verb, positive = _movement(
        narrative.percent(before["percent_positive"]),
        narrative.percent(now["percent_positive"]),
        row["change_percent_positive"],
    )
    mean_verb, mean = _movement(
        narrative.decimal(before["mean"]), narrative.decimal(now["mean"]), row["change_mean"]
    )
    p_value = narrative.p_value(row["p_adjusted"])
    p_value = p_value if p_value.startswith("<") else f"= {p_value}"
    # The statement's own full stop would end the sentence inside the quotation marks.
    text = row["text"].rstrip().removesuffix(".")
    if positive_verb == mean_verb == "stayed":
        # The ranks moved although neither rounded figure did (possible with many answers).
        direction = "up" if row["effect_size"] > 0 else "down"
        change = (
            f"answers shifted {direction} since {previous_wave}, though % positive stayed "
            f"{positive} and the mean {mean}"
        )
    else:
        change = (
            f"% positive {positive_verb} {positive} since {previous_wave}, and the mean "
            f"{'' if mean_verb == positive_verb else mean_verb + ' '}{mean}"
        )
    return f"“{text}”: {change} (p {p_value} after adjustment)."


def _movement(before: str, now: str, change: float) -> tuple[str, str]:
    """ "rose", "from 71.0% to 84.2%"; "stayed", "at 71.0%" when the rounded figures agree."""
    if before == now:
        return "stayed", f"at {before}"
    return ("rose" if change > 0 else "fell"), f"from {before} to {now}"
