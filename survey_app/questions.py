"""What each question type accepts as an answer.

The web form and the CSV import both call `parse_answer`, so a value the form refuses is refused
by the import with the same words, and the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from survey_app.models import Question, QuestionType


class InvalidAnswer(ValueError):
    """An answer a question does not accept; the message is for the respondent to read."""


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """A valid, non-empty answer in the form it is stored."""

    value: int | None = None
    option_id: int | None = None
    text: str | None = None


def parse_answer(question: Question, raw: str | None, max_text: int) -> ParsedAnswer | None:
    """The stored form of `raw` for `question`, or None when it is left empty.

    Refuses (InvalidAnswer) an empty answer to a required question, a Likert value that is not a
    point of the scale, an option code the question does not offer, and text over `max_text`
    characters or holding a NUL character.
    """
    cleaned = (raw or "").strip()
    if not cleaned:
        if question.required:
            raise InvalidAnswer(_required_message(question))
        return None
    if question.type == QuestionType.LIKERT:
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
    if question.type == QuestionType.CHOICE:
        for option in question.options:
            if option.code == cleaned:
                return ParsedAnswer(option_id=option.id)
        raise InvalidAnswer(f"Choose one of the options listed (got {cleaned[:40]!r})")
    if len(raw or "") > max_text:
        raise InvalidAnswer(
            f"Your answer must be {max_text:,} characters or fewer; it has {len(raw or ''):,}"
        )
    if "\x00" in cleaned:
        # PostgreSQL cannot store it; it comes only from a broken export, never from typing.
        raise InvalidAnswer("Your answer contains a NUL character (code 0); remove it")
    # Keep the respondent's own line breaks; only trim the ends.
    return ParsedAnswer(text=(raw or "").strip())


def _required_message(question: Question) -> str:
    if question.type == QuestionType.TEXT:
        return "Enter an answer to this question"
    return "Select an answer to this question"
