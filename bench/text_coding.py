"""Precision and recall of the free-text coding against answers coded by hand. Not a test.

    python bench/text_coding.py [--misses]

Reads tests/data/free_text_coded.yaml (answers as ICB leaders and placement learners write
them, each with the theme codes an analyst gave it) and codes every answer with the shipped
definitions' codebooks (``reports.text_coding``), and with the regular expressions the
definitions had before (the old matcher, one pattern list per theme, kept below as they were
shipped), then prints each theme's precision, recall and F1 for both. A theme the old codebooks
lacked is shown as "-". Then the same for tests/data/free_text_held_out.yaml, answers written
after the codebooks were settled and never used to change them. ``--misses`` lists every answer
coded wrongly by the new codebooks.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reports.free_text import TextTheme, themes_mentioned
from survey_app.definitions.loader import SHIPPED_FOLDER, load_definition

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
CODED = DATA / "free_text_coded.yaml"
#: Answers written and coded after the codebooks were settled, never used to change them.
HELD_OUT = DATA / "free_text_held_out.yaml"

#: The codebooks as the definitions shipped them before codebooks had rules: one regular
#: expression list per theme and question, merged here over the survey's questions.
OLD_PATTERNS: dict[str, dict[str, tuple[str, ...]]] = {
    "icb-leaders": {
        "training-hubs": ("training hubs?",),
        "arrs": (r"\bARRS\b", "additional roles?"),
        "funding": ("fund", "budget", "financ", "money", "investment"),
        "mentoring": ("mentor", "coach", "preceptor"),
        "retention": ("retain", "retention", "leaving", "burn-?out"),
        "recruitment": ("recruit", "vacanc"),
        "estates": ("estate", "premises", "building"),
    },
    "placement-quality": {
        "supervision": ("supervis", "support", r"\bGP trainer\b", r"\btrainer\b"),
        "team": (r"\bteam\b", "friendly", "welcom", "staff"),
        "variety": ("variety", "range of", "different (patients|cases|conditions)"),
        "teaching": ("teach", "feedback", "tutorial", "debrief"),
        "space": (r"\broom", "space", "desk", "premises"),
        "it-access": (
            r"(?-i:\bIT\b)",
            r"\blog-?ins?\b",
            "smart ?cards?",
            "access to (the )?(system|records)",
            r"\bEMIS\b",
            r"\bSystmOne\b",
        ),
        "induction": ("induction", "first (day|week)", "orientation"),
        "workload": ("busy", "no time", "not enough time"),
    },
}


@dataclass(frozen=True, slots=True)
class Score:
    """A theme's confusion counts over the coded answers."""

    true_positive: int
    false_positive: int
    false_negative: int

    @property
    def precision(self) -> float:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positive + self.false_negative
        return self.true_positive / wanted if wanted else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def coded_answers(path: Path = CODED) -> dict[str, list[tuple[str, frozenset[str]]]]:
    """The hand-coded answers of ``path`` by survey slug: (answer, the analyst's codes)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        slug: [(row["text"], frozenset(row["codes"])) for row in rows]
        for slug, rows in document.items()
    }


def shipped_codebook(slug: str) -> list[TextTheme]:
    """The codebook of the shipped definition of ``slug``, as the reports code with it."""
    definition, _ = load_definition(SHIPPED_FOLDER / f"{slug}.yaml")
    return [
        TextTheme(theme.code, theme.label, rules=theme.rules()) for theme in definition.codebook
    ]


def old_codebook(slug: str) -> list[TextTheme]:
    """The regular expressions the shipped definition of ``slug`` used before."""
    return [TextTheme(code, code, patterns) for code, patterns in OLD_PATTERNS[slug].items()]


def score(
    answers: Sequence[tuple[str, frozenset[str]]], code: str, coder: Callable[[str], set[str]]
) -> Score:
    """The confusion counts of theme ``code`` when ``coder`` codes ``answers``."""
    tp = fp = fn = 0
    for text, wanted in answers:
        found = code in coder(text)
        tp += found and code in wanted
        fp += found and code not in wanted
        fn += code in wanted and not found
    return Score(tp, fp, fn)


def scores(
    answers: Sequence[tuple[str, frozenset[str]]], themes: Sequence[TextTheme]
) -> dict[str, Score]:
    """Each theme's score over a survey's hand-coded answers."""
    return {
        theme.code: score(answers, theme.code, lambda text: themes_mentioned(text, themes))
        for theme in themes
    }


def report(path: Path, misses: bool) -> None:
    """Print each survey's table of ``path``'s answers (and, with ``misses``, the misses)."""
    print(f"hand-coded answers: {path.relative_to(path.parents[2])}")
    header = f"{'theme':<16}{'answers':>8}{'P':>7}{'R':>7}{'F1':>7}   {'old P':>6}{'old R':>7}"
    for slug, answers in coded_answers(path).items():
        new = scores(answers, shipped_codebook(slug))
        old = scores(answers, old_codebook(slug))
        print(f"\n{slug}: {len(answers)} answers")
        print(header)
        for code, result in new.items():
            was = old.get(code)
            before = f"{was.precision:>6.2f}{was.recall:>7.2f}" if was else f"{'-':>6}{'-':>7}"
            wanted = result.true_positive + result.false_negative
            print(
                f"{code:<16}{wanted:>8}{result.precision:>7.2f}{result.recall:>7.2f}"
                f"{result.f1:>7.2f}   {before}"
            )
        if misses:
            themes = shipped_codebook(slug)
            for text, wanted in answers:
                found = themes_mentioned(text, themes)
                if found != wanted:
                    extra, missed = sorted(found - wanted), sorted(wanted - found)
                    print(f"  {text!r}: extra {extra}, missed {missed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--misses", action="store_true", help="list the answers coded wrongly")
    arguments = parser.parse_args()
    report(CODED, arguments.misses)
    print()
    report(HELD_OUT, arguments.misses)


if __name__ == "__main__":
    main()
