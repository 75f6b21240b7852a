"""One option of a list (a learner's profession, say): what reports compare groups by."""

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
    refuse_scale,
    refuse_text_themes,
    refuse_theme,
)


class ChoiceKind(QuestionKind):
    """Answered by an option's code; stored as the option."""

    type: ClassVar[QuestionType] = QuestionType.CHOICE
    groups_reports: ClassVar[bool] = True

    def check_definition(self, definition: QuestionDefinition) -> None:
        """Return None for a question listing at least two options; refuses (ValueError) one
        with fewer, or with a scale, text themes or a theme."""
        refuse_scale(self.type, definition)
        if not definition.options or len(definition.options) < 2:
            raise ValueError("a choice question needs at least two options")
        refuse_text_themes(definition)
        refuse_theme(definition)

    def parse_given(
        self, question: Question, cleaned: str, raw: str, max_text: int
    ) -> ParsedAnswer:
        """The option with code `cleaned`; refuses (InvalidAnswer) a code not offered."""
        for option in question.options:
            if option.code == cleaned:
                return ParsedAnswer(option_id=option.id)
        raise InvalidAnswer(f"Choose one of the options listed (got {cleaned[:40]!r})")

    def unbound_field(self, question: Question, validators: list[FieldValidator]) -> UnboundField:
        """Radios, one per option, labelled as the definition labels them."""
        choices = [SelectChoice(option.code, option.label) for option in question.options]
        # What `RadioField(...)` returns outside a form class, spelt out: the stubs type that
        # call as the bound field.
        return UnboundField(
            RadioField, question.text, choices=choices, validators=validators, validate_choice=False
        )

    def reads(self, question: Question, raw: str) -> str:
        """The chosen option's label ("" when unanswered)."""
        return label_of(raw.strip(), ((option.code, option.label) for option in question.options))
