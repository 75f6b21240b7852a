"""The respondent's form, built afresh for each request from the survey as loaded.

Each question type owns its field here and its validation in `survey_app.questions`, which the
CSV import shares, so the browser and the import refuse the same answers with the same words.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence

from wtforms import Field, HiddenField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from forms.base import PageForm
from survey_app.models import Organisation, Question, QuestionType, Survey
from survey_app.questions import InvalidAnswer, ParsedAnswer, parse_answer

ORGANISATION_FIELD = "organisation"
ON_RECORD_FIELD = "on_record"
#: What a submission key drawn by `new_submission_key` looks like (128 random bits, URL-safe).
SUBMISSION_KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{22,64}")


def new_submission_key() -> str:
    """A fresh key for one form page shown: 128 random bits, URL-safe.

    It lets the submission service tell the same page sent again (after a lost connection, a
    503 or a double click) from a new response. It is drawn from the operating system's random
    source, not from anything about the respondent, their invitation or their session, so the
    stored key identifies a page, never a person, and an anonymous response stays anonymous.
    """
    return secrets.token_urlsafe(16)


def _genuine_submission_key(sent: str | None) -> str:
    # Only a browser given this page sends it back; anything else (missing, or not a key we
    # could have drawn) is treated as a new page, never refused: the respondent cannot fix it.
    if sent and SUBMISSION_KEY_PATTERN.fullmatch(sent):
        return sent
    return new_submission_key()


class ResponseForm(PageForm):
    """Base of every respondent form; `build_response_form` adds the survey's fields."""

    questions: Sequence[Question] = ()
    organisations: dict[str, Organisation] = {}
    max_text: int = 5000
    #: Shown in the page as a hidden field and kept when the page is shown again with errors.
    submission_key = HiddenField(default=new_submission_key, filters=[_genuine_submission_key])

    def question_fields(self) -> list[tuple[Question, Field]]:
        return [(question, self[question.code]) for question in self.questions]

    def parsed_answers(self) -> dict[int, ParsedAnswer]:
        """The answers given in stored form, by question id; call only after `validate()`."""
        answers = {}
        for question, field in self.question_fields():
            parsed = parse_answer(question, field.data, self.max_text)
            if parsed is not None:
                answers[question.id] = parsed
        return answers

    def chosen_organisation(self) -> Organisation | None:
        if ORGANISATION_FIELD not in self:
            return None
        return self.organisations.get(self[ORGANISATION_FIELD].data or "")

    def on_record(self) -> bool:
        return ON_RECORD_FIELD in self and self[ON_RECORD_FIELD].data == "yes"

    def error_list(self) -> list[tuple[str, str]]:
        """(field id, message) for every field at fault, in page order, for the error summary."""
        return [(field.id, field.errors[0]) for field in self if field.errors]


def _answer_validator(question: Question, max_text: int):
    def validate(_form: PageForm, field: Field) -> None:
        # A browser sends each question once; more than one answer is a forged or broken
        # request, refused rather than silently keeping the first.
        if len(field.raw_data or ()) > 1:
            raise ValidationError(f"Give one answer to this question, not {len(field.raw_data):,}")
        try:
            parse_answer(question, field.data, max_text)
        except InvalidAnswer as exc:
            raise ValidationError(str(exc)) from None

    return validate


def _question_field(question: Question, max_text: int) -> Field:
    validators = [_answer_validator(question, max_text)]
    if question.type == QuestionType.LIKERT:
        choices = [SelectChoice(str(point.value), point.label) for point in question.scale_points]
        return RadioField(
            question.text, choices=choices, validators=validators, validate_choice=False
        )
    if question.type == QuestionType.CHOICE:
        choices = [SelectChoice(option.code, option.label) for option in question.options]
        return RadioField(
            question.text, choices=choices, validators=validators, validate_choice=False
        )
    return TextAreaField(question.text, validators=validators)


def build_response_form(
    survey: Survey, organisations: Sequence[Organisation] | None, max_text: int
) -> type[ResponseForm]:
    """A new form class for `survey`: one field per question, plus the organisation chooser
    when `organisations` is given (open link) and the on-the-record question if the survey asks
    it. A fresh subclass per call, so no request changes another's form."""
    attributes: dict[str, object] = {
        "questions": list(survey.questions),
        "max_text": max_text,
        "organisations": {org.code: org for org in organisations or []},
    }
    if organisations is not None:
        allowed = {org.code for org in organisations}

        def validate_organisation(_form: PageForm, field: Field) -> None:
            if not field.data:
                raise ValidationError("Select the organisation from the list")
            if field.data not in allowed:
                raise ValidationError("Select an organisation from the list")

        attributes[ORGANISATION_FIELD] = SelectField(
            survey.org_question,
            choices=[SelectChoice("", "Choose from the list")]
            + [SelectChoice(org.code, f"{org.name} ({org.code})") for org in organisations],
            validators=[validate_organisation],
            validate_choice=False,
        )
    for question in survey.questions:
        attributes[question.code] = _question_field(question, max_text)
    if survey.asks_on_record:

        def validate_on_record(_form: PageForm, field: Field) -> None:
            if field.data not in ("yes", "no"):
                raise ValidationError("Select yes or no")

        attributes[ON_RECORD_FIELD] = RadioField(
            survey.on_record_question,
            choices=[
                SelectChoice("yes", "Yes, you may quote me and name my ICB"),
                SelectChoice("no", "No, keep my answers off the record"),
            ],
            validators=[validate_on_record],
            validate_choice=False,
        )
    return type(f"{survey.slug.title().replace('-', '')}ResponseForm", (ResponseForm,), attributes)
