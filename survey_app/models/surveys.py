"""Surveys as loaded from their definition files: themes, questions, scales, options, codebooks."""

import enum
from datetime import datetime
from typing import Optional

from sqlalchemy import Column, Text, UniqueConstraint
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
    """A survey was asked to move to a status it cannot reach from where it is."""


class Survey(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=80, unique=True, index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: SurveyStatus = Field(default=SurveyStatus.DRAFT, max_length=10)
    #: When true nothing stored links a response to an invitation or a person.
    anonymous: bool = True
    allow_open_link: bool = False
    #: The levels a response's organisation may be at, comma-separated (e.g. "practice,pcn,hub").
    org_levels: str = Field(max_length=60)
    org_question: str = Field(max_length=300)
    #: Whether respondents are asked if they may be quoted by name (stored as Response.on_record).
    asks_on_record: bool = False
    on_record_question: str = Field(default="", max_length=500)
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    #: SHA-256 of the definition file as last loaded: reloading an unchanged file does nothing.
    definition_sha256: str = Field(max_length=64)

    themes: list["Theme"] = Relationship(
        back_populates="survey", sa_relationship_kwargs={"order_by": "Theme.position"}
    )
    questions: list["Question"] = Relationship(
        back_populates="survey", sa_relationship_kwargs={"order_by": "Question.position"}
    )

    def open(self) -> None:
        """Open for responses; refuses (InvalidTransition) when already open."""
        if self.status == SurveyStatus.OPEN:
            raise InvalidTransition(f"survey {self.slug!r} is already open")
        self.status = SurveyStatus.OPEN

    def close(self) -> None:
        """Stop taking responses; refuses (InvalidTransition) unless open."""
        if self.status != SurveyStatus.OPEN:
            raise InvalidTransition(
                f"survey {self.slug!r} is {self.status.value}, only an open survey can be closed"
            )
        self.status = SurveyStatus.CLOSED

    def is_accepting(self, now: datetime) -> bool:
        """True when open and `now` lies within the opening and closing dates, if set."""
        if self.status != SurveyStatus.OPEN:
            return False
        if self.opens_at is not None and now < self.opens_at:
            return False
        return not (self.closes_at is not None and now >= self.closes_at)

    @property
    def levels(self) -> list[str]:
        return [level for level in self.org_levels.split(",") if level]


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


class TextTheme(SQLModel, table=True):
    """A theme of a free-text question's codebook; an answer mentions it when a pattern matches."""

    __table_args__ = (UniqueConstraint("question_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="question.id", index=True)
    code: str = Field(max_length=60)
    label: str = Field(max_length=200)
    #: Case-insensitive regular expressions, one per line.
    patterns: str = Field(sa_column=Column(Text, nullable=False))
    position: int

    question: "Question" = Relationship(back_populates="text_themes")

    @property
    def pattern_list(self) -> list[str]:
        return [line for line in self.patterns.splitlines() if line.strip()]
