"""The kinds of question a survey asks, each in its own module, and the table of kinds.

The definition loader, the respondent's form and the CSV import look a question's kind up here
(`kind_of`) instead of asking "is it Likert?" each in its own words.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from survey_app.models import Question, QuestionType
from survey_app.questions.base import InvalidAnswer, ParsedAnswer, QuestionKind
from survey_app.questions.choice import ChoiceKind
from survey_app.questions.likert import LikertKind
from survey_app.questions.text import TextKind

__all__ = [
    "KINDS",
    "QUESTION_TYPES",
    "InvalidAnswer",
    "ParsedAnswer",
    "QuestionKind",
    "kind_of",
    "parse_answer",
]

#: Every kind of question, by its type, in the order definitions list them.
KINDS: Mapping[QuestionType, QuestionKind] = MappingProxyType(
    {kind.type: kind for kind in (LikertKind(), ChoiceKind(), TextKind())}
)
#: The `type` a definition file may give a question.
QUESTION_TYPES: tuple[str, ...] = tuple(question_type.value for question_type in KINDS)


def kind_of(question_type: str) -> QuestionKind:
    """The kind of a question of type `question_type` ("likert" or QuestionType.LIKERT alike);
    refuses (ValueError) a type no kind has."""
    return KINDS[QuestionType(question_type)]


def parse_answer(question: Question, raw: str | None, max_text: int) -> ParsedAnswer | None:
    """The stored form of `raw` for `question`, or None when it is left empty.

    Refuses (InvalidAnswer) an empty answer to a required question, a Likert value that is not a
    point of the scale, an option code the question does not offer, and text over `max_text`
    characters or holding a NUL character.
    """
    return kind_of(question.type).parse(question, raw, max_text)
