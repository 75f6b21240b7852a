"""Coding free-text answers against a codebook of themes (regular expressions)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeGuard

from reports.likert import whole_number
from reports.summary_types import FreeTextQuestion, TextThemeCount
from reports.suppression import check_min_n


@dataclass(frozen=True, slots=True)
class TextTheme:
    """One codebook theme: an answer mentions it when any of ``patterns`` matches.

    Patterns are case-insensitive regular expressions searched anywhere in the answer; they
    are compiled once, here. Refuses (ValueError) an empty code, no patterns, or a pattern
    that is not a valid regular expression.
    """

    code: str
    label: str
    patterns: tuple[str, ...]
    _compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.code:
            raise ValueError("a text theme needs a code")
        if isinstance(self.patterns, str) or not self.patterns:
            raise ValueError(f"text theme {self.code!r} needs a tuple of at least one pattern")
        compiled = []
        for pattern in self.patterns:
            try:
                compiled.append(re.compile(pattern, re.IGNORECASE))
            except re.error as error:
                raise ValueError(
                    f"text theme {self.code!r}: invalid pattern {pattern!r}: {error}"
                ) from error
        # Frozen dataclass: the cache of compiled patterns is set once, here.
        object.__setattr__(self, "patterns", tuple(self.patterns))
        object.__setattr__(self, "_compiled", tuple(compiled))

    def is_mentioned_in(self, answer: str) -> bool:
        """Return True when any of the theme's patterns matches somewhere in ``answer``."""
        return any(pattern.search(answer) for pattern in self._compiled)


def is_answered(answer: str | None) -> TypeGuard[str]:
    """Return True for a free-text answer with content (None, "" and whitespace are not)."""
    return answer is not None and answer.strip() != ""


@dataclass(frozen=True, slots=True)
class MentionCounts:
    """How many answers a question received and how many of them mention each theme."""

    answered: int
    mentions: dict[str, int]


def count_mentions(answers: Iterable[str | None], themes: Sequence[TextTheme]) -> MentionCounts:
    """Return the number of answered answers and, per theme code, the answers mentioning it.

    An answer may mention several themes, or none. Refuses (ValueError) two themes with one
    code.
    """
    codes = [theme.code for theme in themes]
    if len(set(codes)) != len(codes):
        raise ValueError(f"duplicate text theme codes: {codes}")
    mentions = dict.fromkeys(codes, 0)
    answered = 0
    for answer in answers:
        if not is_answered(answer):
            continue
        answered += 1
        for theme in themes:
            if theme.is_mentioned_in(answer):
                mentions[theme.code] += 1
    return MentionCounts(answered=answered, mentions=mentions)


def summarise_text_question(
    question: str,
    answers: Iterable[str | None],
    themes: Sequence[TextTheme],
    responses: int,
    min_n: int,
    *,
    withheld: bool | None = None,
    mentions_withheld: Sequence[bool] | None = None,
) -> FreeTextQuestion:
    """Return the summary JSON of one text question: answered, and per theme its mentions.

    ``responses`` is the number of responses in scope (answered or not): it is each theme's
    ``of``, and percent = 100 * mentions / of. ``answered`` and every theme's mentions and
    percent are withheld (null, ``suppressed`` true) when ``withheld`` says the question's
    answers in this cell are (decided over the whole hierarchy by the caller; by default, when
    they number 1..k-1); a theme's alone when its mentions number 1..k-1. Refuses
    (ValueError) ``responses`` below the number of answered answers and ``min_n < 1``.
    """
    check_min_n(min_n)
    responses = whole_number(responses)
    counts = count_mentions(answers, themes)
    if responses < counts.answered:
        raise ValueError(
            f"question {question!r}: {counts.answered} answers but only {responses} responses"
        )
    if withheld is None:
        withheld = 0 < counts.answered < min_n
    # A theme's mentions are a cell like any other: in 1..k-1 they are withheld on their own,
    # or as the caller decided them over the whole hierarchy.
    if mentions_withheld is None:
        mentions_withheld = [0 < counts.mentions[theme.code] < min_n for theme in themes]
    small = {
        theme.code: bool(hidden) for theme, hidden in zip(themes, mentions_withheld, strict=True)
    }
    theme_rows: list[TextThemeCount] = []
    for theme in themes:
        mentions = counts.mentions[theme.code]
        hidden = withheld or small[theme.code]
        theme_rows.append(
            {
                "code": theme.code,
                "label": theme.label,
                "mentions": None if hidden else mentions,
                "of": responses,
                "percent": None if hidden or responses == 0 else (100 * mentions) / responses,
                "suppressed": hidden,
            }
        )
    return {
        "question": question,
        "answered": None if withheld else counts.answered,
        "themes": theme_rows,
    }
