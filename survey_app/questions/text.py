"""A free-text answer, coded against the question's text themes in reports."""

from __future__ import annotations

from typing import ClassVar

from wtforms import TextAreaField
from wtforms.fields.core import UnboundField

from survey_app.models import Question, QuestionType
from survey_app.questions.base import (
    FieldValidator,
    InvalidAnswer,
    ParsedAnswer,
    QuestionDefinition,
    QuestionKind,
    refuse_options,
    refuse_scale,
    refuse_theme,
)


class TextKind(QuestionKind):
    """Answered in the respondent's own words; stored as typed, trimmed at the ends."""

    type: ClassVar[QuestionType] = QuestionType.TEXT
    report_section: ClassVar[str | None] = "free_text"
    required_message: ClassVar[str] = "Enter an answer to this question"

    def check_definition(self, definition: QuestionDefinition) -> None:
        """Return None for a question with at most text themes; refuses (ValueError) one with
        a scale, options or a theme."""
        refuse_scale(self.type, definition)
        refuse_options(self.type, definition)
        refuse_theme(definition)

    def parse_given(
        self, question: Question, cleaned: str, raw: str, max_text: int
    ) -> ParsedAnswer:
        """The text; refuses (InvalidAnswer) one over `max_text` characters or holding a NUL."""
        if len(raw) > max_text:
            raise InvalidAnswer(
                f"Your answer must be {max_text:,} characters or fewer; it has {len(raw):,}"
            )
        if "\x00" in cleaned:
            # PostgreSQL cannot store it; it comes only from a broken export, never from typing.
            raise InvalidAnswer("Your answer contains a NUL character (code 0); remove it")
        # Keep the respondent's own line breaks; only trim the ends.
        return ParsedAnswer(text=raw.strip())

    def unbound_field(self, question: Question, validators: list[FieldValidator]) -> UnboundField:
        """A text area."""
        # What `TextAreaField(...)` returns outside a form class, spelt out: the stubs type that
        # call as the bound field.
        return UnboundField(TextAreaField, question.text, validators=validators)
