"""Read a survey definition file and validate it, naming the file and field at fault.

A definition is YAML (or JSON, which YAML reads too). Its shape is the pydantic models below;
unknown keys are refused so that a misspelt key is an error, not a silently ignored setting.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from reports.text_coding import ThemeRules
from survey_app.questions import QUESTION_TYPES, kind_of

#: The six domains of NHS England's education quality framework, by the code definitions use.
QUALITY_FRAMEWORK_DOMAINS: dict[str, str] = {
    "learning-environment": "Learning environment and culture",
    "educational-governance": "Educational governance and commitment to quality",
    "supporting-learners": "Developing and supporting learners",
    "supporting-educators": "Supporting and empowering educators",
    "curricula-assessments": "Delivering curricula and assessments",
    "sustainable-workforce": "Developing a sustainable workforce",
}

ORG_LEVELS = ("region", "icb", "hub", "pcn", "practice")
SHIPPED_FOLDER = Path(__file__).resolve().parent

Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Prose = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]


class DefinitionError(ValueError):
    """A definition file is unreadable or invalid; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScalePointDef(_Strict):
    value: int
    label: Label


class OptionDef(_Strict):
    code: Code
    label: Label


class TextThemeDef(_Strict):
    code: Code
    label: Label
    patterns: list[Annotated[str, StringConstraints(min_length=1, max_length=300)]] = Field(
        min_length=1
    )

    @model_validator(mode="after")
    def _patterns_compile(self) -> TextThemeDef:
        for index, pattern in enumerate(self.patterns):
            try:
                re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"patterns[{index}] is not a regular expression: {exc}") from None
        return self


Phrase = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class CodebookThemeDef(_Strict):
    """A theme of the survey's codebook: phrases that mention it (with their word forms and
    misspellings, `reports.text_coding`), phrases excluded, and whether a negated mention
    ("no training hub") is left out."""

    code: Code
    label: Label
    phrases: list[Phrase] = Field(min_length=1)
    exclude: list[Phrase] = []
    negation: bool = False

    @model_validator(mode="after")
    def _phrases_parse(self) -> CodebookThemeDef:
        self.rules()
        return self

    def rules(self) -> ThemeRules:
        """The theme as the matcher reads it; refuses (ValueError, naming the phrase) a phrase
        it cannot read."""
        try:
            return ThemeRules(
                self.code, self.label, tuple(self.phrases), tuple(self.exclude), self.negation
            )
        except ValueError as exc:
            raise ValueError(str(exc).removeprefix(f"theme {self.code!r}: ")) from None


class QuestionDef(_Strict):
    code: Code
    type: Literal[QUESTION_TYPES]  # type: ignore[valid-type]
    text: Prose
    hint: str = ""
    required: bool = False
    theme: Code | None = None
    scale: Code | None = None
    options: list[OptionDef] | None = None
    #: The codes of the survey's `codebook` themes this question is coded for, or (as
    #: definitions were written before codebooks) themes of its own with regular expressions.
    text_themes: list[Code | TextThemeDef] | None = None

    @model_validator(mode="after")
    def _fits_its_type(self) -> QuestionDef:
        # Each kind says which settings it takes (a scale, options, text themes, a theme).
        kind_of(self.type).check_definition(self)
        _unique([option.code for option in self.options or []], "options")
        _unique(
            [t if isinstance(t, str) else t.code for t in self.text_themes or []], "text_themes"
        )
        return self


class SectionDef(_Strict):
    title: Label
    intro: str = ""
    #: The theme of every Likert question in the section that names none itself.
    theme: Code | None = None
    questions: list[QuestionDef] = Field(min_length=1)


class ThemeDef(_Strict):
    code: Code
    title: Label
    domain: Literal[tuple(QUALITY_FRAMEWORK_DOMAINS)] | None = None  # type: ignore[valid-type]


class OrganisationQuestionDef(_Strict):
    text: Prose
    levels: list[Literal[ORG_LEVELS]] = Field(min_length=1)  # type: ignore[valid-type]


class OnRecordDef(_Strict):
    text: Prose


class SurveyDefinition(_Strict):
    """A validated survey definition, as in its file."""

    slug: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")]
    title: Label
    description: str = ""
    anonymous: bool
    allow_open_link: bool
    organisation: OrganisationQuestionDef
    on_record: OnRecordDef | None = None
    #: Days each response is kept after submission before `survey-app purge` deletes it;
    #: absent leaves the period as stored (none: kept until deleted).
    retention_days: int | None = Field(default=None, ge=1, le=36_500)
    scales: dict[Code, list[ScalePointDef]]
    themes: list[ThemeDef] = []
    #: The free-text themes, shared by the text questions that name them in `text_themes`.
    codebook: list[CodebookThemeDef] = []
    sections: list[SectionDef] = Field(min_length=1)

    @model_validator(mode="after")
    def _references_resolve(self) -> SurveyDefinition:
        for name, points in self.scales.items():
            values = [point.value for point in points]
            if values != list(range(1, len(values) + 1)) or len(values) < 3:
                raise ValueError(
                    f"scales.{name}: values must run 1, 2, 3 ... K with at least 3 points, "
                    f"got {values}"
                )
        _unique([theme.code for theme in self.themes], "themes")
        _unique([theme.code for theme in self.codebook], "codebook")
        codebook = {theme.code for theme in self.codebook}
        theme_codes = {theme.code for theme in self.themes}
        codes: list[str] = []
        for s_index, section in enumerate(self.sections):
            if section.theme is not None and section.theme not in theme_codes:
                raise ValueError(f"sections[{s_index}].theme: unknown theme {section.theme!r}")
            for q_index, question in enumerate(section.questions):
                where = f"sections[{s_index}].questions[{q_index}]"
                codes.append(question.code)
                if question.scale is not None and question.scale not in self.scales:
                    raise ValueError(f"{where}.scale: unknown scale {question.scale!r}")
                if question.theme is not None and question.theme not in theme_codes:
                    raise ValueError(f"{where}.theme: unknown theme {question.theme!r}")
                for t_index, text_theme in enumerate(question.text_themes or []):
                    if isinstance(text_theme, str) and text_theme not in codebook:
                        raise ValueError(
                            f"{where}.text_themes[{t_index}]: {text_theme!r} is not a theme of "
                            f"the codebook ({', '.join(sorted(codebook)) or 'it has none'})"
                        )
        _unique(codes, "question codes")
        reserved = {"org_code", "submitted_at", "on_record", "organisation", "csrf_token"} & set(
            codes
        )
        if reserved:
            raise ValueError(f"question codes {sorted(reserved)} are reserved names")
        return self

    def questions(self) -> list[tuple[SectionDef, QuestionDef]]:
        """Every question in order, with its section."""
        return [(section, question) for section in self.sections for question in section.questions]

    def text_themes_of(self, question: QuestionDef) -> list[CodebookThemeDef | TextThemeDef]:
        """The question's text themes: the codebook's themes it names, or its own."""
        codebook = {theme.code: theme for theme in self.codebook}
        return [codebook[t] if isinstance(t, str) else t for t in question.text_themes or []]

    @staticmethod
    def theme_of(section: SectionDef, question: QuestionDef) -> str | None:
        if not kind_of(question.type).has_theme:
            return None
        return question.theme or section.theme


def _unique(codes: list[str], what: str) -> None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise ValueError(f"{what}: {code!r} appears twice")
        seen.add(code)


def load_definition(path: Path) -> tuple[SurveyDefinition, str]:
    """The validated definition in `path` and the SHA-256 of the file's bytes.

    Raises DefinitionError naming the file and, for invalid content, each field at fault.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DefinitionError(f"{path}: cannot be read: {exc.strerror}") from None
    try:
        document = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{path}: is not valid YAML or JSON: {exc}") from None
    if not isinstance(document, dict):
        raise DefinitionError(f"{path}: must hold a mapping of survey fields at the top level")
    where = _nul_location(document)
    if where is not None:
        # A YAML "\0" escape makes one; PostgreSQL cannot store it.
        raise DefinitionError(f"{path}: {where}: contains a NUL character (code 0)")
    try:
        definition = SurveyDefinition.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise DefinitionError(f"{path}: {problems}") from None
    return definition, hashlib.sha256(raw).hexdigest()


def _nul_location(value: object, location: str = "") -> str | None:
    """Where in a parsed definition a text holds a NUL character, named as `_describe` names
    fields (`sections[0].title`); None when none does."""
    if isinstance(value, str):
        return (location or "the file") if "\x00" in value else None
    children: list[tuple[str, object]] = []
    if isinstance(value, dict):
        children = [(f"{location}.{key}" if location else str(key), v) for key, v in value.items()]
    elif isinstance(value, list):
        children = [(f"{location}[{index}]", item) for index, item in enumerate(value)]
    for child_location, child in children:
        found = _nul_location(child, child_location)
        if found is not None:
            return found
    return None


def _describe(error: ErrorDetails) -> str:
    location = ""
    for part in error["loc"]:
        location += f"[{part}]" if isinstance(part, int) else (f".{part}" if location else part)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "string_type" and isinstance(error.get("input"), bool):
        # YAML reads unquoted Yes, No, On and Off as true/false.
        message += " (YAML reads unquoted Yes/No/On/Off as true/false: put the text in quotes)"
    return f"{location}: {message}" if location else message


def shipped_definition_paths() -> list[Path]:
    """The definition files that ship with the application, in name order."""
    return sorted(SHIPPED_FOLDER.glob("*.yaml"))
