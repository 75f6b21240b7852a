"""Coding free-text answers against a codebook: phrases with word forms, joined, hyphenated and
misspelt variants, exclusions and negation.

A theme (``ThemeRules``) lists ``phrases``; an answer mentions the theme when one of them occurs
in it, unless the words matched are part of one of its ``exclude`` phrases or, for a theme with
``negation``, a negating word comes shortly before them in the same clause ("we have no training
hub", "we don't have a training hub", "lack of a training hub").

How an answer is read: lower case; curly quotes made straight; dotted capitals joined ("A.R.R.S"
is "ARRS"); hyphens, slashes and apostrophes' possessives split or dropped ("training-hub" is
"training hub", "hub's" is "hub"); "n't" read as "not"; then words of letters and digits.

How a phrase is written: words separated by spaces, each matching
* itself and its word forms (plural, possessive, -ed, -ing, -er, -ers; "supervise" also
  "supervising"), and a misspelling of it: a word of at least 5 letters matches an answer's word
  that is not itself an English word (pyspellchecker's word list) and lies within one edit of it
  (two for words of 8 letters or more; a swap of neighbouring letters is one edit),
* ``word*``: any word starting with ``word`` (a misspelt start too, from 5 letters),
* ``=WORD``: exactly that word, in that case, no other form ("=IT" is IT, never "it"),
* ``...``: up to four words of any kind in between, within the clause ("variety ... patients").

A phrase of several words also matches them written as one word ("smart card" matches
"smartcard"), and a phrase word matches two of the answer's words written apart ("smartcard"
matches "smart card"). All of it is pure Python with rapidfuzz's edit distances; nothing is
loaded from outside the installed packages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache

from rapidfuzz.distance import OSA

#: Words that negate what follows them within ``NEGATION_WINDOW`` words of the same clause.
NEGATION_CUES = frozenset(
    {"no", "not", "without", "lack", "lacking", "absence", "never", "none", "nor", "nowhere"}
)
#: Words that stop "not" from negating ("not just the training hub", "not only", "not sure").
NOT_NEGATING_AFTER = frozenset({"just", "only", "sure", "merely", "simply", "least"})
NEGATION_WINDOW = 4
GAP = "..."
GAP_WORDS = 4
FUZZY_MIN_LETTERS = 5
FUZZY_TWO_EDITS_LETTERS = 8

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'"})
_DASHES = re.compile(r"[-\u2010-\u2015/_+]")
_DOTTED = re.compile(r"\b(?:[A-Za-z]\.){2,}(?:[A-Za-z]\b\.?)?")
_NOT = re.compile(r"\b(\w+)n't\b", re.I)
_NOT_STEMS = {"ca": "can", "wo": "will", "sha": "shall"}
_CANNOT = re.compile(r"\b(can)not\b", re.I)
_POSSESSIVE = re.compile(r"(?<=[A-Za-z])'s?\b")
_TOKEN = re.compile(r"[A-Za-z0-9]+|[.;:!?,()]")
_CLAUSE_BREAK = frozenset(".;:!?,()") | {"but", "although", "though", "however"}


@dataclass(frozen=True, slots=True)
class Token:
    """A word of an answer: as written, in lower case, and the number of its clause."""

    text: str
    lower: str
    clause: int


def tokenise(answer: str) -> list[Token]:
    """Return the words of ``answer`` after the normalisation the module describes, each with
    its clause (clauses end at punctuation and at "but")."""
    text = answer.translate(_QUOTES)
    text = _DOTTED.sub(lambda match: match.group(0).replace(".", "") + " ", text)
    text = _NOT.sub(lambda match: _NOT_STEMS.get(match[1].lower(), match[1]) + " not", text)
    text = _CANNOT.sub(r"\1 not", text)
    text = _POSSESSIVE.sub("", text)
    text = _DASHES.sub(" ", text).replace("&", " and ")
    tokens: list[Token] = []
    clause = 0
    for piece in _TOKEN.findall(text):
        lower = piece.lower()
        if lower in _CLAUSE_BREAK:
            clause += 1
            if not piece.isalnum():
                continue
        tokens.append(Token(piece, lower, clause))
    return tokens


@cache
def _english_words() -> frozenset[str]:
    """Every word of pyspellchecker's English dictionary, read once per process."""
    from spellchecker import SpellChecker

    return frozenset(SpellChecker(language="en").word_frequency.dictionary)


def is_english_word(word: str) -> bool:
    """Return True when ``word`` (lower case) is a word of the English dictionary used to tell
    a misspelling from another word ("finding" is a word, so it is never read as "funding")."""
    return word in _english_words()


@cache
def word_forms(word: str) -> frozenset[str]:
    """Return ``word`` and its regular inflections: -s, -es, -ies, -ed, -d, -ing, -er, -ers and
    their forms after a final e or y."""
    forms = {word, word + "s", word + "es", word + "ed", word + "ing", word + "er", word + "ers"}
    if word.endswith("e"):
        stem = word[:-1]
        forms |= {word + "d", word + "r", word + "rs", stem + "ing"}
    if word.endswith("y") and len(word) > 2:
        forms |= {word[:-1] + "ies", word[:-1] + "ied"}
    consonant_vowel_consonant = (
        len(word) >= 3 and word[-1] not in "aeiouwxy" and word[-2] in "aeiou"
    ) and word[-3] not in "aeiou"
    if consonant_vowel_consonant:
        # "plan": "planned", "planning"
        forms |= {word + word[-1] + "ed", word + word[-1] + "ing", word + word[-1] + "er"}
    return frozenset(forms)


@dataclass(frozen=True, slots=True)
class WordPattern:
    """One word of a phrase: ``text`` in lower case (as written for ``exact``), and whether it is
    a prefix (``word*``) or an exact word (``=WORD``); ``GAP`` is the gap."""

    text: str
    prefix: bool = False
    exact: bool = False

    @property
    def is_gap(self) -> bool:
        return self.text == GAP

    def matches(self, token: Token, fuzzy: bool = True) -> bool:
        """Return True when ``token`` is this word, a form of it, or (with ``fuzzy``) a
        misspelling of it."""
        if self.exact:
            return token.text == self.text
        return _matches_lower(self.text, self.prefix, token.lower, fuzzy)


@cache
def _matches_lower(pattern: str, prefix: bool, word: str, fuzzy: bool) -> bool:
    """Return True when the answer's ``word`` (lower case) is ``pattern`` (a prefix when
    ``prefix``), a form of it, or with ``fuzzy`` a misspelling of it (the module's notes)."""
    if prefix:
        if word.startswith(pattern):
            return True
    elif word in word_forms(pattern):
        return True
    if not fuzzy or len(pattern) < FUZZY_MIN_LETTERS or is_english_word(word):
        return False
    edits = 2 if len(pattern) >= FUZZY_TWO_EDITS_LETTERS else 1
    if prefix:
        if len(word) < len(pattern):
            return False
        starts = {word[:length] for length in range(len(pattern) - 1, len(pattern) + 2)}
        return any(OSA.distance(start, pattern, score_cutoff=edits) <= edits for start in starts)
    return any(
        OSA.distance(word, form, score_cutoff=edits) <= edits for form in word_forms(pattern)
    )


def parse_phrase(phrase: str) -> tuple[WordPattern, ...]:
    """Return the words of a codebook phrase. Refuses (ValueError) an empty phrase, one that
    starts or ends with the gap, a word that is neither letters and digits nor one of the
    forms ``word*`` and ``=WORD``."""
    words: list[WordPattern] = []
    for raw in phrase.split():
        if raw == GAP:
            words.append(WordPattern(GAP))
            continue
        exact = raw.startswith("=")
        prefix = raw.endswith("*") and not exact
        body = raw[1:] if exact else raw[:-1] if prefix else raw
        if not re.fullmatch(r"[A-Za-z0-9]+", body):
            raise ValueError(
                f"{phrase!r}: {raw!r} is not a word (letters and digits, or word*, or =WORD)"
            )
        words.append(WordPattern(body if exact else body.lower(), prefix=prefix, exact=exact))
    if not words:
        raise ValueError("a phrase needs at least one word")
    if words[0].is_gap or words[-1].is_gap:
        raise ValueError(f"{phrase!r}: a phrase cannot start or end with {GAP}")
    return tuple(words)


def _variants(words: tuple[WordPattern, ...]) -> list[tuple[WordPattern, ...]]:
    """A phrase and, for several plain words, the same words joined into one."""
    variants = [words]
    if len(words) > 1 and all(not (w.exact or w.prefix or w.is_gap) for w in words):
        variants.append((WordPattern("".join(w.text for w in words)),))
    return variants


class _PhraseIndex:
    """A set of phrases compiled for matching: each distinct phrase word once, the phrases by
    their first word, and per answer word (as written) the phrase words it matches, worked out
    once per process and then looked up (answers share most of their words)."""

    #: Words remembered per index before the memory is cleared (a bound, not a tuning).
    CACHE_LIMIT = 200_000

    def __init__(self, phrases: Sequence[tuple[WordPattern, ...]]) -> None:
        words: dict[WordPattern, int] = {}
        self.phrases: list[tuple[int, ...]] = []
        for words_of_phrase in phrases:
            # -1 stands for the gap.
            self.phrases.append(
                tuple(-1 if w.is_gap else words.setdefault(w, len(words)) for w in words_of_phrase)
            )
        self.words = list(words)
        self.by_first: dict[int, list[int]] = {}
        for number, numbered in enumerate(self.phrases):
            self.by_first.setdefault(numbered[0], []).append(number)
        self._single: dict[str, frozenset[int]] = {}
        self._joined: dict[str, frozenset[int]] = {}

    def single(self, token: Token) -> frozenset[int]:
        """The phrase words ``token`` matches (forms and misspellings included)."""
        found = self._single.get(token.text)
        if found is None:
            if len(self._single) > self.CACHE_LIMIT:
                self._single.clear()
            found = frozenset(n for n, w in enumerate(self.words) if w.matches(token))
            self._single[token.text] = found
        return found

    def joined(self, first: Token, second: Token) -> frozenset[int]:
        """The phrase words two neighbouring words written as one match, exactly (forms
        only: "each session" is no misspelt "teach")."""
        text = first.lower + second.lower
        found = self._joined.get(text)
        if found is None:
            if len(self._joined) > self.CACHE_LIMIT:
                self._joined.clear()
            token = Token(text, text, first.clause)
            found = frozenset(
                n for n, w in enumerate(self.words) if not w.exact and w.matches(token, False)
            )
            self._joined[text] = found
        return found

    def find(self, tokens: Sequence[Token]) -> list[tuple[int, range]]:
        """Each phrase (by number) found, with the token range where it occurs."""
        hits = [self.single(token) for token in tokens]
        spans = []
        for start in range(len(tokens)):
            candidates = set(hits[start])
            if start + 1 < len(tokens) and len(tokens[start].lower) >= 2:
                candidates |= self._joined_at(tokens, start)
            for first in candidates & self.by_first.keys():
                for number in self.by_first[first]:
                    end = self._match_at(self.phrases[number], tokens, hits, start)
                    if end is not None:
                        spans.append((number, range(start, end)))
        return spans

    def _joined_at(self, tokens: Sequence[Token], at: int) -> frozenset[int]:
        if tokens[at + 1].clause != tokens[at].clause:
            return frozenset()
        return self.joined(tokens[at], tokens[at + 1])

    def _match_at(
        self,
        phrase: tuple[int, ...],
        tokens: Sequence[Token],
        hits: Sequence[frozenset[int]],
        start: int,
    ) -> int | None:
        """The index after the last token of ``phrase`` matched from ``tokens[start]``."""
        position = start
        for index, word in enumerate(phrase):
            if word == -1:
                continue
            gap = index > 0 and phrase[index - 1] == -1
            last = min(len(tokens), position + (GAP_WORDS + 1 if gap else 1))
            found = None
            for at in range(position, last):
                if at > start and tokens[at].clause != tokens[start].clause:
                    break
                if word in hits[at]:
                    found = at + 1
                elif (
                    at + 1 < len(tokens)
                    and len(tokens[at].lower) >= 2
                    and word in self._joined_at(tokens, at)
                ):
                    found = at + 2
                if found is not None:
                    break
            if found is None:
                return None
            position = found
        return position


def _negated(tokens: Sequence[Token], start: int) -> bool:
    """True when a negating word comes within ``NEGATION_WINDOW`` words before ``start`` in the
    same clause ("not just" and the like excepted)."""
    for at in range(max(0, start - NEGATION_WINDOW), start):
        if tokens[at].clause != tokens[start].clause or tokens[at].lower not in NEGATION_CUES:
            continue
        after = tokens[at + 1].lower if at + 1 < len(tokens) else ""
        if tokens[at].lower == "not" and after in NOT_NEGATING_AFTER:
            continue
        return True
    return False


@dataclass(frozen=True, slots=True)
class ThemeRules:
    """One codebook theme: its ``code``, ``label``, ``phrases`` that mention it, ``exclude``
    phrases whose words never count as a mention of it, and whether a negated mention counts
    (``negation`` True: it does not).

    Refuses (ValueError, naming the field) an empty code or label, no phrases, or a phrase the
    module's syntax does not allow."""

    code: str
    label: str
    phrases: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    negation: bool = False
    _include: tuple[tuple[WordPattern, ...], ...] = field(init=False, repr=False, compare=False)
    _exclude: tuple[tuple[WordPattern, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.code or not self.label:
            raise ValueError("a theme needs a code and a label")
        if isinstance(self.phrases, str) or not self.phrases:
            raise ValueError(f"theme {self.code!r}: phrases: give at least one phrase")
        if isinstance(self.exclude, str):
            raise ValueError(f"theme {self.code!r}: exclude: give a list of phrases")
        compiled: dict[str, list[tuple[WordPattern, ...]]] = {"phrases": [], "exclude": []}
        for name, phrases in (("phrases", self.phrases), ("exclude", self.exclude)):
            for index, phrase in enumerate(phrases):
                try:
                    words = parse_phrase(phrase)
                except ValueError as error:
                    raise ValueError(f"theme {self.code!r}: {name}[{index}]: {error}") from None
                compiled[name] += _variants(words)
        # Frozen dataclass: the parsed phrases are set once, here.
        object.__setattr__(self, "phrases", tuple(self.phrases))
        object.__setattr__(self, "exclude", tuple(self.exclude))
        object.__setattr__(self, "_include", tuple(compiled["phrases"]))
        object.__setattr__(self, "_exclude", tuple(compiled["exclude"]))

    def mentions(self, tokens: Sequence[Token]) -> list[range]:
        """The token ranges of ``tokens`` that mention this theme (after exclusions and
        negation)."""
        return codebook((self,)).mentions(tokens)[0]

    def is_mentioned_in(self, answer: str) -> bool:
        """Return True when ``answer`` mentions this theme."""
        return bool(self.mentions(tokenise(answer)))


class Codebook:
    """Themes compiled together, so that an answer is read once for all of them: every
    theme's phrases and exclusions in one index (``codebook`` keeps one per set of themes)."""

    def __init__(self, themes: Sequence[ThemeRules]) -> None:
        self.themes = tuple(themes)
        phrases: list[tuple[WordPattern, ...]] = []
        #: Per phrase: the theme it belongs to (by position) and whether it excludes.
        self._owner: list[tuple[int, bool]] = []
        for number, theme in enumerate(self.themes):
            for excludes, compiled in ((False, theme._include), (True, theme._exclude)):
                phrases += compiled
                self._owner += [(number, excludes)] * len(compiled)
        self._index = _PhraseIndex(phrases)

    def mentions(self, tokens: Sequence[Token]) -> list[list[range]]:
        """For each theme, in order, the token ranges of ``tokens`` that mention it (after its
        exclusions and, where it asks, negation)."""
        included: list[list[range]] = [[] for _ in self.themes]
        excluded: list[list[range]] = [[] for _ in self.themes]
        for number, span in self._index.find(tokens):
            owner, excludes = self._owner[number]
            (excluded if excludes else included)[owner].append(span)
        found: list[list[range]] = []
        for theme, spans, others in zip(self.themes, included, excluded, strict=True):
            found.append(
                [
                    span
                    for span in spans
                    if not any(span.start < o.stop and o.start < span.stop for o in others)
                    and not (theme.negation and _negated(tokens, span.start))
                ]
            )
        return found

    def codes(self, answer: str) -> frozenset[str]:
        """The codes of the themes ``answer`` mentions."""
        spans = self.mentions(tokenise(answer))
        return frozenset(
            theme.code for theme, found in zip(self.themes, spans, strict=True) if found
        )


@lru_cache(maxsize=256)
def codebook(themes: tuple[ThemeRules, ...]) -> Codebook:
    """The compiled ``Codebook`` of ``themes``, built once per process per set of themes."""
    return Codebook(themes)


def code_answer(answer: str, themes: Sequence[ThemeRules]) -> frozenset[str]:
    """Return the codes of the ``themes`` that ``answer`` mentions (the answer is read once)."""
    return codebook(tuple(themes)).codes(answer)
