"""Counting free-text answers' themes: per question (answers that mention a theme) and per
survey (respondents who mention it in any of its text questions), with primary suppression.

A theme is coded by its codebook rules (``reports.text_coding.ThemeRules``: phrases, word forms,
misspellings, exclusions, negation) or, for a definition stored before codebooks had rules, by
its regular expressions.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeGuard

from reports.likert import whole_number
from reports.summary_types import FreeTextQuestion, TextThemeCount, TextThemeRespondents
from reports.suppression import check_min_n
from reports.text_coding import ThemeRules, Token, codebook, tokenise


@dataclass(frozen=True, slots=True)
class TextTheme:
    """One codebook theme of a question: an answer mentions it as its ``rules`` decide or,
    without rules (a definition stored before codebooks had them), when any of ``patterns``
    matches.

    Patterns are case-insensitive regular expressions searched anywhere in the answer; they
    are compiled once, here. Refuses (ValueError) an empty code, neither rules nor patterns,
    rules of another code, or a pattern that is not a valid regular expression.
    """

    code: str
    label: str
    patterns: tuple[str, ...] = ()
    rules: ThemeRules | None = None
    _compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.code:
            raise ValueError("a text theme needs a code")
        if self.rules is not None and self.rules.code != self.code:
            raise ValueError(f"text theme {self.code!r} has the rules of {self.rules.code!r}")
        if isinstance(self.patterns, str) or (not self.patterns and self.rules is None):
            raise ValueError(
                f"text theme {self.code!r} needs rules or a tuple of at least one pattern"
            )
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

    def is_mentioned_in(self, answer: str, tokens: Sequence[Token] | None = None) -> bool:
        """Return True when ``answer`` mentions the theme (``tokens``: the answer already
        tokenised, saving the work when several themes read it)."""
        if self.rules is not None:
            return bool(self.rules.mentions(tokenise(answer) if tokens is None else tokens))
        return any(pattern.search(answer) for pattern in self._compiled)


def themes_mentioned(answer: str, themes: Sequence[TextTheme]) -> set[str]:
    """Return the codes of the ``themes`` that ``answer`` mentions (read once for all themes
    with rules)."""
    ruled = tuple(theme.rules for theme in themes if theme.rules is not None)
    found = set(codebook(ruled).codes(answer)) if ruled else set()
    return found | {t.code for t in themes if t.rules is None and t.is_mentioned_in(answer)}


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
        for code in themes_mentioned(answer, themes):
            mentions[code] += 1
    return MentionCounts(answered=answered, mentions=mentions)


def withheld(count: int, min_n: int) -> bool:
    """Primary suppression: True for a count in 1..k-1 (zero is published)."""
    return 0 < count < min_n


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


def summarise_text_themes(
    questions: Sequence[tuple[str, Sequence[TextTheme]]],
    answers: Mapping[str, Sequence[str | None]],
    respondents: Mapping[str, Sequence[Hashable]] | None,
    responses: int,
    min_n: int,
) -> list[TextThemeRespondents]:
    """Return the survey's text themes counted per respondent across all its text questions.

    ``questions`` are the text questions' codes with their codebooks, in question order; a
    theme's code is one theme across them (its label is the first question's). ``answers``
    maps a question code to its answers, ``respondents`` to the response each answer comes
    from (same order and length); without ``respondents`` the answers of every question are
    taken as aligned by position (answer i of each question is response i's). ``respondents``
    of a theme are the responses with at least one answer mentioning it; ``of`` the responses
    in scope; ``of_answered`` those that wrote any text; percent = 100 * respondents / of.
    Primary suppression: a count in 1..k-1 is null (``of_answered`` in 1..k-1 withholds every
    theme). Refuses (ValueError) respondents of another length than the answers, and more
    respondents who wrote than ``responses``.
    """
    check_min_n(min_n)
    responses = whole_number(responses)
    labels: dict[str, str] = {}
    for _code, themes in questions:
        for theme in themes:
            labels.setdefault(theme.code, theme.label)
    wrote: set[Hashable] = set()
    mentioned: dict[str, set[Hashable]] = {code: set() for code in labels}
    for code, themes in questions:
        texts = answers.get(code, ())
        keys: Sequence[Hashable] = range(len(texts)) if respondents is None else respondents[code]
        if len(keys) != len(texts):
            raise ValueError(f"question {code!r}: {len(texts)} answers, {len(keys)} respondents")
        for key, text in zip(keys, texts, strict=True):
            if not is_answered(text):
                continue
            wrote.add(key)
            for theme_code in themes_mentioned(text, themes):
                mentioned[theme_code].add(key)
    if len(wrote) > responses:
        raise ValueError(f"{len(wrote)} responses wrote text but only {responses} responses")
    few_wrote = withheld(len(wrote), min_n)
    rows: list[TextThemeRespondents] = []
    for theme_code, label in labels.items():
        count = len(mentioned[theme_code])
        hidden = few_wrote or withheld(count, min_n)
        rows.append(
            {
                "code": theme_code,
                "label": label,
                "respondents": None if hidden else count,
                "of": responses,
                "of_answered": None if few_wrote else len(wrote),
                "percent": None if hidden or responses == 0 else 100 * count / responses,
                "suppressed": hidden,
            }
        )
    return rows
