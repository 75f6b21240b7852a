"""The report's words: key findings written from the summary JSON, and the number formats.

Every sentence is a deterministic function of the summary (and of the question texts the
caller supplies), so the same data always reads the same way and no number is ever typed by
hand. Numbers are rounded as the report page rounds them (Python's format: means to two
places, percent positive to one, free-text shares to whole percentages), so the PDF and the
page never disagree by a digit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reports.findings import FlaggedGroup, key_findings
from reports.summary_types import (
    FreeTextQuestion,
    ItemChange,
    ScopeItem,
    Summary,
    TextThemeCount,
    TextThemeRespondents,
)

#: The people who answer each survey (singular, plural), by survey slug.
RESPONDENT_NOUNS: dict[str, tuple[str, str]] = {
    "placement-quality": ("learner", "learners"),
    "icb-leaders": ("ICB leader", "ICB leaders"),
}
DEFAULT_RESPONDENT_NOUN = ("respondent", "respondents")

#: What one group of a breakdown by organisation level is called (singular, plural).
LEVEL_NOUNS: dict[str, tuple[str, str]] = {
    "region": ("region", "regions"),
    "icb": ("ICB", "ICBs"),
    "hub": ("training hub", "training hubs"),
    "pcn": ("primary care network", "primary care networks"),
    "practice": ("practice", "practices"),
}
DEFAULT_GROUP_NOUN = ("group", "groups")

#: Adjusted p-values below this are called a difference between groups.
SIGNIFICANCE = 0.05
#: How many free-text themes the executive summary names per question.
FREE_TEXT_THEMES_NAMED = 3
#: How many themes counted per respondent across all text questions the summary names.
TEXT_THEMES_NAMED = 5
#: How many flagged groups of each colour the executive summary names (most flags first).
FLAGGED_GROUPS_NAMED = 10
#: How many significant changes since the previous wave the executive summary names at most.
WAVE_CHANGES_NAMED = 3
#: A negative change is typeset with the minus sign, not the shorter hyphen.
MINUS_SIGN = "\u2212"


def respondent_noun(slug: str, count: int | None = None) -> str:
    """Return what a survey's respondents are called: singular when ``count`` is 1."""
    singular, plural = RESPONDENT_NOUNS.get(slug, DEFAULT_RESPONDENT_NOUN)
    return singular if count == 1 else plural


def anonymous_attribution(slug: str) -> str:
    """How an unattributed quote is signed: "A learner", "An ICB leader"."""
    noun = respondent_noun(slug, 1)
    return f"{'An' if noun[0].upper() in 'AEIOU' else 'A'} {noun}"


def group_noun(by: str | None, count: int | None = None) -> str:
    """Return what a group of the breakdown ``by`` is called: singular when ``count`` is 1.

    A breakdown by a choice question's answer gives plain "group(s)".
    """
    singular, plural = LEVEL_NOUNS.get(by or "", DEFAULT_GROUP_NOUN)
    return singular if count == 1 else plural


# --- numbers as a reader sees them -----------------------------------------------------------


def whole(value: float | None) -> str:
    """A count with thousands separators ("1,948"); an en dash for None."""
    return "–" if value is None else f"{value:,.0f}"


def decimal(value: float | None, places: int = 2) -> str:
    """A figure to ``places`` decimal places ("3.93"); an en dash for None."""
    return "–" if value is None else f"{value:,.{places}f}"


def percent(value: float | None, places: int = 1) -> str:
    """A percentage to ``places`` decimal places ("70.1%"); an en dash for None."""
    return "–" if value is None else f"{value:.{places}f}%"


def change(value: float | None, places: int = 2) -> str:
    """A change to ``places`` decimal places with its sign: "+0.31", or "-4.0" written with
    ``MINUS_SIGN``; "0.00" when it rounds to nothing either way; an en dash for None."""
    if value is None:
        return "–"
    rounded = f"{abs(value):,.{places}f}"
    if float(rounded.replace(",", "")) == 0:
        return rounded
    return ("+" if value > 0 else MINUS_SIGN) + rounded


def interval(pair: Sequence[float] | None, places: int = 2) -> str:
    """An interval as "3.90 to 3.97"; an en dash for None."""
    if pair is None:
        return "–"
    return f"{decimal(pair[0], places)} to {decimal(pair[1], places)}"


def p_value(value: float | None) -> str:
    """A p-value to three places, or "< 0.001"; an en dash for None."""
    if value is None:
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def in_sentence(label: str) -> str:
    """A label as it reads inside a sentence: "Training hubs" becomes "training hubs", while
    a label opening with an acronym ("ARRS and additional roles", "IT access") is kept."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def count_of(count: int, noun: tuple[str, str]) -> str:
    """ "1 theme", "3 themes"."""
    return f"{count:,} {noun[0] if count == 1 else noun[1]}"


def scale_points(item: ScopeItem, default: int = 5) -> int:
    """The number of points K of an item's scale, read off its counts (``default`` if none)."""
    counts = item.get("counts")
    return len(counts) if counts else default


def summary_points(summary: Summary, default: int = 5) -> int:
    """The number of points K of the survey's scale, read off its first published item (themed
    items first, as theme scores are on their scale); ``default`` when none is published."""
    published = [item for item in summary["items"] if item["counts"]]
    themed = [item for item in published if item["theme"]]
    return scale_points((themed or published)[0]) if published else default


# --- the executive summary -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FreeTextFindings:
    """What the executive summary says about one free-text question."""

    question: str
    answered: str
    mentions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExecutiveSummary:
    """The sentences of the executive summary, in reading order; empty where nothing applies."""

    responses: str
    themes: str
    highest: tuple[str, ...]
    lowest: tuple[str, ...]
    differences: str
    red: tuple[str, ...]
    green: tuple[str, ...]
    free_text: tuple[FreeTextFindings, ...]
    #: The name of the wave the summary is compared with ("" without a comparison), and the
    #: sentences on the largest significant changes since it (``wave_change_sentences``).
    previous_wave: str = ""
    wave_changes: tuple[str, ...] = ()
    #: Per respondent across every text question: "16 of 42 ICB leaders (38%) mentioned
    #: training hubs in any answer; 16 of 30 who wrote anything." (``text_theme_sentences``).
    text_themes: tuple[str, ...] = ()


def executive_summary(
    summary: Summary, question_texts: Mapping[str, str] | None = None
) -> ExecutiveSummary:
    """Return the executive summary of ``summary`` (a dict built by ``build_summary``).

    ``question_texts`` maps question codes to their wording (a free-text question without one
    is named by its code). Only published figures are quoted: a withheld statement, theme,
    group or free-text theme is never named with a number. With a ``"wave_comparison"`` it
    names the largest significant changes since the previous wave.
    """
    findings = key_findings(summary)
    slug = summary["survey"]["slug"]
    by_code = {item["code"]: item for item in summary["items"]}
    red, green = _flag_sentences(summary, findings.red), _flag_sentences(summary, findings.green)
    # Summaries built without the database (build_summary) have no comparison of waves.
    waves = summary.get("wave_comparison")
    previous_wave = waves["previous_wave"]["name"] if waves else ""
    return ExecutiveSummary(
        responses=responses_sentence(summary),
        themes=themes_sentence(summary),
        highest=tuple(_statement_sentence(by_code[s.code]) for s in findings.highest),
        lowest=tuple(_statement_sentence(by_code[s.code]) for s in findings.lowest),
        differences=differences_sentence(summary),
        red=red,
        green=green,
        free_text=tuple(
            free_text_findings(question, slug, question_texts or {})
            for question in summary["free_text"]
            if question["themes"]
        ),
        previous_wave=previous_wave,
        wave_changes=wave_change_sentences(waves["items"], previous_wave) if waves else (),
        text_themes=text_theme_sentences(summary.get("text_themes", []), slug),
    )


def responses_sentence(summary: Summary) -> str:
    """How many responded, and how many answered the statements."""
    slug = summary["survey"]["slug"]
    responses = summary["responses"]
    if responses == 0:
        return f"No {respondent_noun(slug)} have responded."
    if responses is None:
        # Withheld: fewer than k, or a count that would let a smaller group be worked out.
        return (
            f"The number of {respondent_noun(slug)} who responded is withheld, so that no group "
            f"of fewer than {summary['suppression_min_n']} can be worked out."
        )
    sentence = f"{whole(responses)} {respondent_noun(slug, responses)} responded."
    # A published item always has its n; a withheld one never does.
    answered = [item["n"] for item in summary["items"] if item["n"] is not None]
    if not answered:
        return sentence + (
            f" No statement had the {summary['suppression_min_n']} answers it needs to be reported."
        )
    fewest, most = min(answered), max(answered)
    if fewest == most == responses:
        return sentence + " All of them answered every statement."
    if fewest == most:
        return sentence + f" {whole(fewest)} of them answered each statement."
    return sentence + (
        f" Each statement was answered by between {whole(fewest)} and {whole(most)} of them."
    )


def themes_sentence(summary: Summary) -> str:
    """The range of the published theme scores; empty when no theme is published."""
    # (mean, title) of each published theme: one always has a mean, a withheld one never.
    published = [
        (theme["mean"], theme["title"]) for theme in summary["themes"] if theme["mean"] is not None
    ]
    if not published:
        return ""
    points = summary_points(summary)
    if len(published) == 1:
        mean, title = published[0]
        return f"The one theme reported, {title}, scored {decimal(mean)} out of {points}."
    lowest_mean, lowest_title = min(published, key=lambda theme: theme[0])
    highest_mean, highest_title = max(published, key=lambda theme: theme[0])
    if lowest_mean == highest_mean:
        return f"Every theme reported scored {decimal(lowest_mean)} out of {points}."
    return (
        f"Theme scores ranged from {decimal(lowest_mean)} out of {points} for "
        f"{lowest_title} to {decimal(highest_mean)} for {highest_title}."
    )


def _statement_sentence(item: ScopeItem) -> str:
    # The statement's own full stop would end the sentence inside the quotation marks.
    text = item["text"].rstrip().removesuffix(".")
    return (
        f"“{text}”: {decimal(item['mean'])} out of {scale_points(item)} "
        f"(n = {whole(item['n'])}; {percent(item['percent_positive'])} positive)."
    )


def _flag_sentences(summary: Summary, flagged: Sequence[FlaggedGroup]) -> tuple[str, ...]:
    """One sentence per flagged group: how many themes (named) and statements; the group
    with most flags first, then by key."""
    per_group: dict[str, dict[str, Any]] = {}
    for entry in flagged:
        group = per_group.setdefault(entry.key, {"label": entry.label, "theme": [], "item": []})
        group[entry.kind].append(entry.text)
    themes_total, items_total = len(summary["themes"]), len(summary["items"])
    ordered = sorted(
        per_group.items(), key=lambda pair: (-len(pair[1]["theme"]) - len(pair[1]["item"]), pair[0])
    )
    sentences = []
    for _, group in ordered[:FLAGGED_GROUPS_NAMED]:
        parts = []
        if group["theme"]:
            parts.append(
                _share(len(group["theme"]), themes_total, ("theme", "themes"))
                + _named(group["theme"], [theme["title"] for theme in summary["themes"]])
            )
        if group["item"]:
            parts.append(_share(len(group["item"]), items_total, ("statement", "statements")))
        sentences.append(f"{group['label']}: {' and '.join(parts)}.")
    more = len(ordered) - FLAGGED_GROUPS_NAMED
    if more > 0:
        noun = (group_noun(summary["by"], 1), group_noun(summary["by"]))
        sentences.append(
            f"{more:,} more {noun[0] if more == 1 else noun[1]}, with fewer flags: "
            f"see the comparison of {noun[1]}."
        )
    return tuple(sentences)


def _share(count: int, total: int, noun: tuple[str, str]) -> str:
    if count == total and total > 1:
        return f"all {total:,} {noun[1]}"
    return f"{count:,} of {count_of(total, noun)}"


def _named(titles: Sequence[str], every_title: Sequence[str]) -> str:
    """The flagged themes in brackets; when most are flagged, the ones that are not."""
    missing = [title for title in every_title if title not in titles]
    if not missing and len(every_title) > 1:
        return ""
    # Commas only: theme titles contain "and" themselves ("Teamwork and culture").
    if len(titles) > len(every_title) / 2:
        return f" (all but {', '.join(missing)})"
    return f" ({', '.join(titles)})"


def differences_sentence(summary: Summary) -> str:
    """How many statements differ between groups (Kruskal-Wallis, adjusted p), and how many
    groups are compared; empty without a breakdown."""
    if not summary["by"]:
        return ""
    noun = group_noun(summary["by"])
    published = [group for group in summary["groups"] if not group["suppressed"]]
    withheld = len(summary["groups"]) - len(published)
    sentence = (
        f"The report compares {count_of(len(published), (group_noun(summary['by'], 1), noun))}"
    )
    if withheld:
        sentence += (
            f"; {whole(withheld)} more had fewer than {summary['suppression_min_n']} responses,"
            " so their figures are withheld"
        )
    sentence += "."
    tested = [row["p_adjusted"] for row in summary["comparisons"] if row["p_adjusted"] is not None]
    if not tested:
        sentence += f" No statement had enough answers in two or more {noun} to compare them."
    else:
        differing = sum(p_adjusted < SIGNIFICANCE for p_adjusted in tested)
        sentence += (
            f" Answers differed between {noun} for {whole(differing)} of "
            f"{count_of(len(tested), ('statement', 'statements'))} tested "
            f"(Kruskal-Wallis test, adjusted p below {SIGNIFICANCE:g})."
        )
    if len(published) < 4:
        sentence += f" Flags need at least four {noun} to compare, so none is flagged."
    return sentence


def free_text_findings(
    question: FreeTextQuestion, slug: str, question_texts: Mapping[str, str]
) -> FreeTextFindings:
    """The answer count of a free-text question and its most mentioned themes, as sentences
    such as "16 of 42 ICB leaders (38%) mentioned training hubs."."""
    text = question_texts.get(question["question"], question["question"])
    themes = question["themes"]
    of = themes[0]["of"] if themes else 0
    if question["answered"] is None or of is None:
        # The count of answers is withheld (fewer than k, or it would reveal a withheld one).
        return FreeTextFindings(
            text, "The number who answered is withheld, and with it the themes.", ()
        )
    answered = f"{whole(question['answered'])} of {whole(of)} {respondent_noun(slug, of)} answered."
    ranked = sorted(
        (theme for theme in themes if theme["mentions"] and not theme["suppressed"]),
        key=lambda theme: -(theme["mentions"] or 0),  # stable: ties keep codebook order
    )[:FREE_TEXT_THEMES_NAMED]
    return FreeTextFindings(
        text, answered, tuple(mention_sentence(theme, slug) for theme in ranked)
    )


def text_theme_sentence(theme: TextThemeRespondents, slug: str) -> str:
    """ "16 of 42 ICB leaders (38%) mentioned training hubs in any answer; 16 of 30 who wrote
    anything." for a published theme counted per respondent ("" for a withheld one)."""
    if theme["suppressed"] or theme["respondents"] is None:
        return ""
    sentence = (
        f"{whole(theme['respondents'])} of {whole(theme['of'])} "
        f"{respondent_noun(slug, theme['of'])} ({percent(theme['percent'], 0)}) "
        f"mentioned {in_sentence(theme['label'])} in any answer"
    )
    if theme["of_answered"] is not None and theme["of_answered"] != theme["of"]:
        sentence += (
            f"; {whole(theme['respondents'])} of {whole(theme['of_answered'])} who wrote anything"
        )
    return sentence + "."


def text_theme_sentences(
    themes: Sequence[TextThemeRespondents], slug: str, count: int = TEXT_THEMES_NAMED
) -> tuple[str, ...]:
    """The sentences of the ``count`` themes most respondents mentioned in any answer (ties in
    codebook order); withheld themes and themes nobody mentioned are not named."""
    ranked = sorted(
        (theme for theme in themes if theme["respondents"] and not theme["suppressed"]),
        key=lambda theme: -(theme["respondents"] or 0),
    )[:count]
    return tuple(text_theme_sentence(theme, slug) for theme in ranked)


def mention_sentence(theme: TextThemeCount, slug: str) -> str:
    """ "16 of 42 ICB leaders (38%) mentioned training hubs." for a published text theme."""
    return (
        f"{whole(theme['mentions'])} of {whole(theme['of'])} "
        f"{respondent_noun(slug, theme['of'])} ({percent(theme['percent'], 0)}) "
        f"mentioned {in_sentence(theme['label'])}."
    )


# --- changes since the previous wave -----------------------------------------------------------


def wave_change_sentences(
    comparison: Sequence[ItemChange],
    previous_wave: str,
    count: int = WAVE_CHANGES_NAMED,
) -> tuple[str, ...]:
    """Return the key findings' sentences on the largest significant changes since the
    previous wave, such as "“I had a named supervisor for the whole placement”: % positive
    rose from 71.0% to 84.2% since Wave 1, and the mean from 3.90 to 4.21 (p = 0.003 after
    adjustment)."

    ``comparison`` is what ``reports.waves.compare_waves`` returns; ``previous_wave`` names
    the previous wave as readers know it ("Wave 1"). A change is significant when its
    adjusted p is below ``SIGNIFICANCE`` (0.05); at most ``count`` of them are named, the
    largest absolute change in percent positive first, then in mean, then in question order.
    Numbers are rounded as the report page rounds them. A withheld statement is never named.
    Without a significant change the one sentence says so, with the number of statements
    compared. Refuses (ValueError) a negative ``count``.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    compared = [row for row in comparison if not row["suppressed"]]
    # A compared row always has its changes and effect size; only p can be undefined.
    significant = [
        (position, row, _Change(change_positive, change_mean, effect_size, p_adjusted))
        for position, row in enumerate(compared)
        if (p_adjusted := row["p_adjusted"]) is not None
        and p_adjusted < SIGNIFICANCE
        and (change_positive := row["change_percent_positive"]) is not None
        and (change_mean := row["change_mean"]) is not None
        and (effect_size := row["effect_size"]) is not None
    ]
    if significant:
        largest = sorted(
            significant,
            key=lambda entry: (
                -abs(entry[2].percent_positive),
                -abs(entry[2].mean),
                entry[0],
            ),
        )[:count]
        return tuple(
            _wave_change_sentence(row, change, previous_wave) for _, row, change in largest
        )
    test = f"(Mann-Whitney test, adjusted p below {SIGNIFICANCE:g})"
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


@dataclass(frozen=True, slots=True)
class _Change:
    """The figures of a significant change: never None, unlike the row's."""

    percent_positive: float
    mean: float
    effect_size: float
    p_adjusted: float


def _wave_change_sentence(row: ItemChange, change: _Change, previous_wave: str) -> str:
    """One significant change: percent positive and mean before and now, and the adjusted p."""
    before, now = row["previous"], row["current"]
    positive_verb, positive = _movement(
        percent(before["percent_positive"]),
        percent(now["percent_positive"]),
        change.percent_positive,
    )
    mean_verb, mean = _movement(decimal(before["mean"]), decimal(now["mean"]), change.mean)
    adjusted = p_value(change.p_adjusted)
    adjusted = adjusted if adjusted.startswith("<") else f"= {adjusted}"
    # The statement's own full stop would end the sentence inside the quotation marks.
    text = row["text"].rstrip().removesuffix(".")
    if positive_verb == mean_verb == "stayed":
        # The ranks moved although neither rounded figure did (possible with many answers).
        direction = "up" if change.effect_size > 0 else "down"
        moved = (
            f"answers shifted {direction} since {previous_wave}, though % positive stayed "
            f"{positive} and the mean {mean}"
        )
    else:
        moved = (
            f"% positive {positive_verb} {positive} since {previous_wave}, and the mean "
            f"{'' if mean_verb == positive_verb else mean_verb + ' '}{mean}"
        )
    return f"“{text}”: {moved} (p {adjusted} after adjustment)."


def _movement(before: str, now: str, difference: float) -> tuple[str, str]:
    """ "rose", "from 71.0% to 84.2%"; "stayed", "at 71.0%" when the rounded figures agree."""
    if before == now:
        return "stayed", f"at {before}"
    return ("rose" if difference > 0 else "fell"), f"from {before} to {now}"
