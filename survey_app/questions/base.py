"""What every kind of question offers: its definition check, its form field, `parse`, how its
answer reads on "check your answers", and the report section that shows its answers.

The web form and the CSV import both parse through the kind, so a value the form refuses is
refused by the import with the same words, and the two cannot drift apart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from wtforms import Field
from wtforms.fields.core import UnboundField
from wtforms.validators import ValidationError

from survey_app.models import Question, QuestionType


class InvalidAnswer(ValueError):
    """An answer a question does not accept; the message is for the respondent to read."""


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """A valid, non-empty answer in the form it is stored."""

    value: int | None = None
    option_id: int | None = None
    text: str | None = None


class QuestionDefinition(Protocol):
    """What a kind checks of a question as a definition file gives it (the loader's
    `QuestionDef`): which of the per-kind settings it has."""

    @property
    def scale(self) -> str | None: ...
    @property
    def options(self) -> Sequence[object] | None: ...
    @property
    def text_themes(self) -> Sequence[object] | None: ...
    @property
    def theme(self) -> str | None: ...


#: A validator as WTForms calls it: (form, field), raising ValidationError to refuse.
FieldValidator = Callable[[object, Field], None]


class QuestionKind(ABC):
    """One kind of question (likert, choice, text): everything that differs between kinds."""

    type: ClassVar[QuestionType]
    #: The summary's section reporting this kind's answers ("items", "free_text"), or None
    #: when no section of its own does.
    report_section: ClassVar[str | None] = None
    #: Whether a report can compare groups of respondents by the answer to such a question.
    groups_reports: ClassVar[bool] = False
    #: Whether such a question belongs to a theme (its own or its section's).
    has_theme: ClassVar[bool] = False
    #: What an empty answer to a required question of this kind is told.
    required_message: ClassVar[str] = "Select an answer to this question"

    @abstractmethod
    def check_definition(self, definition: QuestionDefinition) -> None:
        """Return None when `definition` has the settings this kind needs and no other's;
        refuses (ValueError, its message naming what is wrong) otherwise."""

    @abstractmethod
    def parse_given(
        self, question: Question, cleaned: str, raw: str, max_text: int
    ) -> ParsedAnswer:
        """The stored form of a non-empty answer (`cleaned` is `raw` trimmed); refuses
        (InvalidAnswer) a value `question` does not accept."""

    @abstractmethod
    def unbound_field(self, question: Question, validators: list[FieldValidator]) -> UnboundField:
        """The form field asking `question`, with `validators`; it refuses nothing itself."""

    def parse(self, question: Question, raw: str | None, max_text: int) -> ParsedAnswer | None:
        """The stored form of `raw` for `question`, or None when it is left empty.

        Refuses (InvalidAnswer) an empty answer to a required question and whatever
        `parse_given` refuses.
        """
        cleaned = (raw or "").strip()
        if not cleaned:
            if question.required:
                raise InvalidAnswer(self.required_message)
            return None
        return self.parse_given(question, cleaned, raw or "", max_text)

    def form_field(self, question: Question, max_text: int) -> UnboundField:
        """The form field asking `question`, refusing what `parse` refuses with its words and
        more than one answer sent for it."""

        def validate(_form: object, field: Field) -> None:
            # A browser sends each question once; more than one answer is a forged or broken
            # request, refused rather than silently keeping the first.
            sent = field.raw_data or ()
            if len(sent) > 1:
                raise ValidationError(f"Give one answer to this question, not {len(sent):,}")
            try:
                self.parse(question, field.data, max_text)
            except InvalidAnswer as exc:
                raise ValidationError(str(exc)) from None

        return self.unbound_field(question, [validate])

    def reads(self, question: Question, raw: str) -> str:
        """The answer `raw` as "check your answers" shows it: the text as typed, trimmed ("" when
        unanswered). Kinds answered from a list show the label instead."""
        return raw.strip()


def label_of(value: str, labelled: Iterable[tuple[str, str]]) -> str:
    """The label paired with `value` in `labelled`, or `value` itself when none is (or it is
    empty): how an answer picked from a list reads."""
    for code, label in labelled:
        if value and code == value:
            return label
    return value


def refuse_scale(kind: QuestionType, definition: QuestionDefinition) -> None:
    """Return None when `definition` names no scale; refuses (ValueError) one, which `kind`
    does not have."""
    if definition.scale is not None:
        raise ValueError(f"a {kind} question has no scale")


def refuse_options(kind: QuestionType, definition: QuestionDefinition) -> None:
    """Return None when `definition` lists no options; refuses (ValueError) them."""
    if definition.options is not None:
        raise ValueError(f"a {kind} question has no options")


def refuse_text_themes(definition: QuestionDefinition) -> None:
    """Return None when `definition` has no text themes; refuses (ValueError) them."""
    if definition.text_themes is not None:
        raise ValueError("only a text question has text_themes")


def refuse_theme(definition: QuestionDefinition) -> None:
    """Return None when `definition` names no theme; refuses (ValueError) one."""
    if definition.theme is not None:
        raise ValueError("only a likert question belongs to a theme")
