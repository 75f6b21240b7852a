"""Surveys as loaded from their definition files: themes, questions, scales, options, codebooks."""

import enum
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Optional

from sqlalchemy import Column, String, Text, UniqueConstraint, event
from sqlmodel import Field, Relationship, SQLModel


class SurveyStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class QuestionType(enum.StrEnum):
    LIKERT = "likert"
    CHOICE = "choice"
    TEXT = "text"


class InvalidTransition(ValueError):
    """A wave was asked to move to a status it cannot reach from where it is."""


def new_definition_revision() -> str:
    """A revision name no survey has had: 32 random hexadecimal digits."""
    return uuid.uuid4().hex


class Survey(SQLModel, table=True):
    """A survey as its definition file describes it. It is run in waves (`Wave`): each
    rotation or period answers it again, and each wave has its own status, dates, invitations
    and responses."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=80, unique=True, index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    #: When true nothing stored links a response to an invitation or a person.
    anonymous: bool = True
    allow_open_link: bool = False
    #: The levels a response's organisation may be at, comma-separated (e.g. "practice,pcn,hub").
    org_levels: str = Field(max_length=60)
    org_question: str = Field(max_length=300)
    #: Whether respondents are asked if they may be quoted by name (stored as Response.on_record).
    asks_on_record: bool = False
    on_record_question: str = Field(default="", max_length=500)
    #: SHA-256 of the definition file as last loaded: reloading an unchanged file does nothing.
    definition_sha256: str = Field(max_length=64)
    #: A new random value whenever a load changes the definition: respondents' pages keep each
    #: revision's questions in memory (`services.surveys.accepting_survey`). The fingerprint
    #: cannot serve: a file changed and changed back has its old fingerprint but new rows.
    definition_revision: str = Field(
        default_factory=new_definition_revision,
        sa_column=Column(String(32), nullable=False, server_default=""),
    )
    #: Days a response is kept after it was submitted; `survey-app purge` deletes older ones.
    #: Null: kept until deleted by hand.
    retention_days: int | None = None

    themes: list["Theme"] = Relationship(
        back_populates="survey", sa_relationship_kwargs={"order_by": "Theme.position"}
    )
    questions: list["Question"] = Relationship(
        back_populates="survey", sa_relationship_kwargs={"order_by": "Question.position"}
    )
    waves: list["Wave"] = Relationship(
        back_populates="survey", sa_relationship_kwargs={"order_by": "Wave.number"}
    )

    @property
    def current_wave(self) -> "Wave":
        """The wave with the highest number: the one respondents, invitations and the open and
        close commands act on. Refuses (LookupError) a survey without waves, which only a
        survey not stored by `load_definition_files` can be."""
        if not self.waves:
            raise LookupError(f"survey {self.slug!r} has no wave")
        return self.waves[-1]

    def wave(self, number: int) -> "Wave | None":
        """The wave numbered `number`, or None."""
        return next((wave for wave in self.waves if wave.number == number), None)

    def status_at(self, now: datetime) -> SurveyStatus:
        """The current wave's status at `now` (`Wave.status_at`)."""
        return self.current_wave.status_at(now)

    def open(self, now: datetime | None = None) -> None:
        """Open the current wave (`Wave.open`)."""
        self.current_wave.open(now)

    def close(self, now: datetime | None = None) -> None:
        """Close the current wave (`Wave.close`)."""
        self.current_wave.close(now)

    def is_accepting(self, now: datetime) -> bool:
        """True when the current wave is open at `now`."""
        return self.current_wave.is_accepting(now)

    @property
    def levels(self) -> list[str]:
        return [level for level in self.org_levels.split(",") if level]


def default_wave_name(number: int) -> str:
    """The name a wave gets when none is given: "Wave 2"."""
    return f"Wave {number}"


class Wave(SQLModel, table=True):
    """One run of a survey for a period (a placement rotation, a year). Responses and
    invitations belong to a wave; a new wave starts once the one before is closed."""

    __table_args__ = (UniqueConstraint("survey_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    #: 1, 2, ... in the order the waves were started.
    number: int
    #: As people call the period, e.g. "2025/26 rotation 1"; "Wave N" when none is given.
    name: str = Field(default="", max_length=120)
    status: SurveyStatus = Field(default=SurveyStatus.DRAFT, max_length=10)
    #: UTC; from this moment the wave is open, unless closed by hand.
    opens_at: datetime | None = None
    #: UTC; from this moment the wave is closed.
    closes_at: datetime | None = None
    created_at: datetime
    #: When it was closed by hand (UTC); None while it has not been, or once opened again.
    closed_at: datetime | None = None

    survey: "Survey" = Relationship(back_populates="waves")

    @property
    def label(self) -> str:
        """The wave as messages name it: "wave 2 of placement-quality"."""
        return f"wave {self.number} of {self.survey.slug}"

    def status_at(self, now: datetime) -> SurveyStatus:
        """The status respondents meet at `now`: the stored status as the dates move it.

        Closing by hand is final until opened by hand. Otherwise an opening date, when set,
        decides whether the wave has opened (draft before it, open from it); without one the
        stored status does. An opened wave is closed from its closing date on. The one place
        that reads the dates, so no scheduled job is needed to open or close a wave.
        """
        if self.status == SurveyStatus.CLOSED:
            return SurveyStatus.CLOSED
        if self.opens_at is not None:
            opened = now >= self.opens_at
        else:
            opened = self.status == SurveyStatus.OPEN
        if not opened:
            return SurveyStatus.DRAFT
        if self.closes_at is not None and now >= self.closes_at:
            return SurveyStatus.CLOSED
        return SurveyStatus.OPEN

    def open(self, now: datetime | None = None) -> None:
        """Open for responses from `now` (default: the current time), clearing an opening date
        still to come. Refuses (InvalidTransition) when already open at `now` or when the
        closing date has passed."""
        now = now or datetime.now(UTC)
        if self.status_at(now) == SurveyStatus.OPEN:
            raise InvalidTransition(f"{self.label} is already open")
        if self.closes_at is not None and now >= self.closes_at:
            raise InvalidTransition(
                f"{self.label} closed at its closing date, {self.closes_at:%Y-%m-%d %H:%M}"
                " UTC; set a later closing date (or none) to open it again"
            )
        if self.opens_at is not None and now < self.opens_at:
            self.opens_at = None
        self.status = SurveyStatus.OPEN
        self.closed_at = None

    def close(self, now: datetime | None = None) -> None:
        """Stop taking responses from `now` (default: the current time), noting it in
        `closed_at`; refuses (InvalidTransition) unless open at `now`."""
        now = now or datetime.now(UTC)
        status = self.status_at(now)
        if status != SurveyStatus.OPEN:
            raise InvalidTransition(
                f"{self.label} is {status.value}, only an open wave can be closed"
            )
        self.status = SurveyStatus.CLOSED
        self.closed_at = now

    def is_accepting(self, now: datetime) -> bool:
        """True when the wave is open at `now` (`status_at`)."""
        return self.status_at(now) == SurveyStatus.OPEN


@event.listens_for(Wave, "before_insert")
def _name_unnamed_wave(_mapper: object, _connection: object, wave: Wave) -> None:
    # Every way of creating a wave (the loader, `start_wave`, a test) gets the default name.
    if not wave.name.strip():
        wave.name = default_wave_name(wave.number)


class Theme(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("survey_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    code: str = Field(max_length=60)
    title: str = Field(max_length=200)
    #: The domain of NHS England's education quality framework this theme serves, if any.
    domain: str | None = Field(default=None, max_length=80)
    position: int

    survey: "Survey" = Relationship(back_populates="themes")


class Question(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("survey_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    #: Stable code: the CSV column, the form field and the key in every report.
    code: str = Field(max_length=60)
    type: QuestionType = Field(max_length=10)
    text: str = Field(sa_column=Column(Text, nullable=False))
    hint: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    required: bool = False
    theme_id: int | None = Field(default=None, foreign_key="theme.id")
    #: The section heading the question is shown under on the respondent's page.
    section: str = Field(default="", max_length=200)
    #: The words shown under that heading (the definition's section `intro`), the same on
    #: every question of the section.
    section_intro: str = Field(
        default="", sa_column=Column(Text, nullable=False, default="", server_default="")
    )
    position: int

    survey: "Survey" = Relationship(back_populates="questions")
    theme: Optional["Theme"] = Relationship()
    scale_points: list["ScalePoint"] = Relationship(
        back_populates="question", sa_relationship_kwargs={"order_by": "ScalePoint.value"}
    )
    options: list["ChoiceOption"] = Relationship(
        back_populates="question", sa_relationship_kwargs={"order_by": "ChoiceOption.position"}
    )
    text_themes: list["TextTheme"] = Relationship(
        back_populates="question", sa_relationship_kwargs={"order_by": "TextTheme.position"}
    )


class ScalePoint(SQLModel, table=True):
    """One labelled point of a Likert question's scale, valued 1..K."""

    __table_args__ = (UniqueConstraint("question_id", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="question.id", index=True)
    value: int
    label: str = Field(max_length=100)

    question: "Question" = Relationship(back_populates="scale_points")


class ChoiceOption(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("question_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="question.id", index=True)
    code: str = Field(max_length=60)
    label: str = Field(max_length=200)
    position: int

    question: "Question" = Relationship(back_populates="options")


#: How a stored text theme's `patterns` starts when it holds codebook rules (JSON).
RULES_START = '{"phrases":'


def stored_rules(phrases: Sequence[str], exclude: Sequence[str], negation: bool) -> str:
    """A codebook theme's rules as `TextTheme.patterns` stores them: JSON, phrases first."""
    return json.dumps(
        {"phrases": list(phrases), "exclude": list(exclude), "negation": negation},
        ensure_ascii=False,
        separators=(",", ":"),
    )


class TextTheme(SQLModel, table=True):
    """A theme of a free-text question's codebook, as `reports.free_text.TextTheme` codes it:
    by codebook rules (phrases, exclusions, negation) or, as definitions stored before the
    codebook had rules, by case-insensitive regular expressions."""

    __table_args__ = (UniqueConstraint("question_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="question.id", index=True)
    code: str = Field(max_length=60)
    label: str = Field(max_length=200)
    #: The codebook rules as JSON (`stored_rules`, starting `RULES_START`) or, stored before
    #: codebooks had rules, case-insensitive regular expressions one per line.
    patterns: str = Field(sa_column=Column(Text, nullable=False))
    position: int

    question: "Question" = Relationship(back_populates="text_themes")

    @property
    def rules(self) -> dict[str, Any] | None:
        """The stored rules (`phrases`, `exclude`, `negation`), or None for regular expressions."""
        if not self.patterns.startswith(RULES_START):
            return None
        rules: dict[str, Any] = json.loads(self.patterns)
        return rules

    @property
    def pattern_list(self) -> list[str]:
        """The regular expressions of a theme stored without rules ([] for one with rules)."""
        if self.rules is not None:
            return []
        return [line for line in self.patterns.splitlines() if line.strip()]
