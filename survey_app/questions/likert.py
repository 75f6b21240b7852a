"""A statement rated on a labelled scale of 1..K: the items and themes of every report."""

from __future__ import annotations

from typing import ClassVar

from wtforms import RadioField
from wtforms.fields.core import UnboundField

from forms.choices import SelectChoice
from survey_app.models import Question, QuestionType
from survey_app.questions.base import (
    FieldValidator,
    InvalidAnswer,
    ParsedAnswer,
    QuestionDefinition,
    QuestionKind,
    label_of,
    refuse_options,
    refuse_text_themes,
)


class LikertKind(QuestionKind):
    """Answered by a point of the question's scale; stored as the point's value."""

    type: ClassVar[QuestionType] = QuestionType.LIKERT
    report_section: ClassVar[str | None] = "items"
    has_theme: ClassVar[bool] = True

    def check_definition(self, definition: QuestionDefinition) -> None:
        """Return None for a question naming a scale; refuses (ValueError) one without, or
        with options or text themes."""
        if definition.scale is None:
            raise ValueError("a likert question needs a scale")
        refuse_options(self.type, definition)
        refuse_text_themes(definition)

    def parse_given(
        self, question: Question, cleaned: str, raw: str, max_text: int
    ) -> ParsedAnswer:
        """The scale point's value; refuses (InvalidAnswer) anything not a point of the scale."""
        points = {point.value for point in question.scale_points}
        # ASCII digits only: int() would also take full-width and Arabic-Indic digits, "+4" and
        # "0_4", which no form sends and no CSV of the spec holds.
        value = int(cleaned) if cleaned.isascii() and cleaned.isdigit() else None
        if value not in points:
            raise InvalidAnswer(
                f"Choose one of the answers from {min(points)} to {max(points)}"
                f" (got {cleaned[:20]!r})"
            )
        return ParsedAnswer(value=value)

    def unbound_field(self, question: Question, validators: list[FieldValidator]) -> UnboundField:
        """Radios, one per scale point, labelled as the scale labels them."""
        choices = [SelectChoice(str(point.value), point.label) for point in question.scale_points]
        # What `RadioField(...)` returns outside a form class, spelt out: the stubs type that
        # call as the bound field.
        return UnboundField(
            RadioField, question.text, choices=choices, validators=validators, validate_choice=False
        )

    def reads(self, question: Question, raw: str) -> str:
        """The chosen point's label ("" when unanswered)."""
        return label_of(
            raw.strip(), ((str(point.value), point.label) for point in question.scale_points)
        )
