"""The respondent's form, built from the questions a survey asks: a class per call.

Each question arrives with its field, what it accepts and how its answer reads, made by its
kind in `survey_app.questions` (which the CSV import shares, so the browser and the import
refuse the same answers with the same words); this module runs no query and knows no model.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from werkzeug.datastructures import MultiDict
from wtforms import Field, HiddenField, RadioField, SelectField, TextAreaField
from wtforms.fields.core import UnboundField
from wtforms.validators import ValidationError

from forms.base import PageForm
from forms.choices import SelectChoice

ORGANISATION_FIELD = "organisation"
ON_RECORD_FIELD = "on_record"
#: The paged form's own fields. A leading underscore, which no question code can have (the
#: definition loader allows codes of a-z, 0-9, "_" and "-" starting with a letter or digit).
#: The page the answers were sent from, the first page not yet completed, and the button.
PAGE_FIELD = "_page"
REACHED_FIELD = "_reached"
ACTION_FIELD = "_action"
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


class SurveyQuestion(Protocol):
    """What the form reads of a question itself: its code (the field's name) and section.
    The question travels on to the templates, which read its text, hint and kind."""

    @property
    def code(self) -> str: ...
    @property
    def section(self) -> str: ...
    @property
    def section_intro(self) -> str: ...


@dataclass(frozen=True, slots=True)
class AskedQuestion:
    """A question as the form asks it, made by the question's kind."""

    question: SurveyQuestion
    #: Its field, refusing what the question refuses with the question's words.
    field: UnboundField
    #: Whether the question accepts an answer as sent (valid, or empty and optional).
    accepts: Callable[[str], bool]
    #: An answer as sent, as "check your answers" shows it ("" when unanswered).
    reads: Callable[[str], str]


@dataclass(frozen=True, slots=True)
class FormPage:
    """One page of a respondent's form: a run of consecutive questions of one section, with
    the organisation question on the first page and the on-the-record question on the last."""

    #: From 0.
    index: int
    #: The section's title: the page's heading.
    title: str
    #: The section's introduction, shown under the heading ("" for none).
    intro: str
    questions: tuple[SurveyQuestion, ...]
    #: The form fields on the page, in page order.
    field_names: tuple[str, ...]
    #: The number shown before the page's first question; questions are numbered through the
    #: whole survey.
    first_number: int


def form_pages(
    title: str,
    questions: Sequence[SurveyQuestion],
    with_organisation: bool,
    with_on_record: bool,
) -> tuple[FormPage, ...]:
    """The pages of the form of a survey titled `title` asking `questions`: one per run of
    consecutive questions with the same section, so a survey of one section is one page (as is
    a survey without questions); a page of no section is titled `title`."""
    runs: list[list[SurveyQuestion]] = []
    for question in questions:
        if runs and runs[-1][0].section == question.section:
            runs[-1].append(question)
        else:
            runs.append([question])
    runs = runs or [[]]
    pages = []
    number = 1
    for index, run in enumerate(runs):
        names = [question.code for question in run]
        if index == 0 and with_organisation:
            names.insert(0, ORGANISATION_FIELD)
        if index == len(runs) - 1 and with_on_record:
            names.append(ON_RECORD_FIELD)
        heading = run[0].section if run and run[0].section else title
        intro = run[0].section_intro if run else ""
        pages.append(FormPage(index, heading, intro, tuple(run), tuple(names), number))
        number += len(run)
    return tuple(pages)


class Action(enum.StrEnum):
    """The buttons of a form page (the value each sends as ACTION_FIELD)."""

    CONTINUE = "continue"
    BACK = "back"
    SAVE = "save"
    SEND = "send"
    #: "change-N" on "check your answers": show page N again.
    CHANGE = "change"


@dataclass(frozen=True, slots=True)
class Navigation:
    """What a post of the respondent's form asks for."""

    action: Action
    #: The page it was sent from: a page's index, the number of pages for "check your
    #: answers", or None for the whole survey sent at once (no page named).
    page: int | None
    #: The first page not yet completed: from `page` up to the number of pages.
    reached: int
    #: The page a CHANGE asks for.
    target: int = 0


def _page_number(raw: str | None, highest: int) -> int | None:
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 4:
        return None
    number = int(raw)
    return number if number <= highest else None


def navigation_from(formdata: Mapping[str, str], page_count: int) -> Navigation:
    """The navigation a form post asks for. Never refuses: a post naming no page, or a button
    it does not know, is a sending of the whole survey, which validation then judges as any
    other (so a client that posts every answer at once, as before pages, is served as before).
    """
    page = _page_number(formdata.get(PAGE_FIELD), page_count)
    if page is None:
        return Navigation(Action.SEND, None, 0)
    reached = _page_number(formdata.get(REACHED_FIELD), page_count)
    reached = page if reached is None else max(reached, page)
    button, _, target = (formdata.get(ACTION_FIELD) or "").partition("-")
    try:
        action = Action(button)
    except ValueError:
        return Navigation(Action.SEND, page, reached)
    if action == Action.CHANGE:
        number = _page_number(target, page_count - 1)
        if number is None:
            return Navigation(Action.SEND, page, reached)
        return Navigation(action, page, reached, number)
    return Navigation(action, page, reached)


class ResponseForm(PageForm):
    """Base of every respondent form; `build_response_form` adds the survey's fields."""

    questions: Sequence[SurveyQuestion] = ()
    #: The questions as asked, by field name. This and the next start with "_", as no question
    #: code can, so that no question's field replaces them.
    _asked: Mapping[str, AskedQuestion] = {}
    #: The codes of the organisations offered (an open link's form); none otherwise.
    _organisation_codes: frozenset[str] = frozenset()
    max_text: int = 5000
    pages: Sequence[FormPage] = ()
    #: Every answer field (organisation, questions, on the record) in page order.
    answer_names: Sequence[str] = ()
    #: Shown in the page as a hidden field and kept when the page is shown again with errors.
    submission_key = HiddenField(default=new_submission_key, filters=[_genuine_submission_key])

    def question_fields(self, page: FormPage | None = None) -> list[tuple[SurveyQuestion, Field]]:
        """(question, field) of `page`'s questions, or of every question when None."""
        questions = self.questions if page is None else page.questions
        return [(question, self[question.code]) for question in questions]

    def given(self, name: str) -> str:
        """The answer sent for field `name`, as sent; "" when there is none."""
        data = self[name].data
        return data if isinstance(data, str) else ""

    def _own_fields(self) -> list[Field]:
        return [self[name] for name in _OWN_FIELDS if name in self]

    def validate_page(self, page: FormPage) -> bool:
        """Validate the CSRF token, the submission key and `page`'s fields, and nothing else:
        the other pages' answers are judged on their own pages and when the survey is sent.
        True when all are valid; otherwise the errors are on the fields, as `validate` leaves
        them."""
        self._errors = None
        fields = self._own_fields() + [self[name] for name in page.field_names]
        return all([field.validate(self) for field in fields])

    def validate_given(self, page: FormPage | None) -> bool:
        """Validate the CSRF token, the submission key and the answers given on `page` (None:
        none), leaving questions not answered unjudged: what saving part-way checks, so that a
        learner cannot save an answer that sending would refuse (text over the limit)."""
        self._errors = None
        names = page.field_names if page is not None else ()
        answered = [self[name] for name in names if self.given(name).strip()]
        return all([field.validate(self) for field in self._own_fields() + answered])

    def first_page_with_errors(self) -> FormPage | None:
        """The first page holding a field at fault after validation, or None."""
        for page in self.pages:
            if any(self[name].errors for name in page.field_names):
                return page
        return None

    def carried_answers(self, page: FormPage | None) -> list[tuple[str, str]]:
        """(name, value) of each answer given on a page other than `page` (on any page when
        None), to send back in hidden fields: the answers travel with the form from page to
        page, so an open link keeps nothing on the server until the survey is sent."""
        shown = set(page.field_names) if page is not None else set()
        carried = []
        for name in self.answer_names:
            value = self.given(name)
            if name not in shown and value:
                carried.append((name, value))
        return carried

    def answers_to_keep(self) -> dict[str, str]:
        """The answers given that their questions accept, by field name, as sent: what an
        invitation keeps between visits. An answer a question refuses is left out; the page it
        is on says why when that page is sent."""
        kept = {}
        for name in self.answer_names:
            value = self.given(name)
            if value.strip() and self._accepts(name, value):
                kept[name] = value
        return kept

    def _accepts(self, name: str, value: str) -> bool:
        asked = self._asked.get(name)
        if asked is not None:
            return asked.accepts(value)
        if name == ON_RECORD_FIELD:
            return value in ("yes", "no")
        return name == ORGANISATION_FIELD and value in self._organisation_codes

    def answer_shown(self, name: str) -> str:
        """The answer to field `name` as the respondent chose or typed it, for "check your
        answers": the label of the option or scale point, or the text; "" when unanswered."""
        asked = self._asked.get(name)
        if asked is not None:
            return asked.reads(self.given(name))
        value = self.given(name).strip()
        for choice in getattr(self[name], "choices", None) or ():
            if value and choice.value == value:
                return choice.label
        return value

    def chosen_organisation_code(self) -> str | None:
        """The code of the organisation chosen from those offered; None when none is (or the
        form offers none)."""
        if ORGANISATION_FIELD not in self:
            return None
        code = self[ORGANISATION_FIELD].data or ""
        return code if code in self._organisation_codes else None

    def on_record(self) -> bool:
        return ON_RECORD_FIELD in self and self[ON_RECORD_FIELD].data == "yes"

    def error_list(self, page: FormPage | None = None) -> list[tuple[str, str]]:
        """(field id, message) for every field at fault on `page` (on any page when None) and
        in the form's own hidden fields, in page order, for the error summary."""
        shown = set(page.field_names) if page is not None else None
        return [
            (field.id, field.errors[0])
            for field in self
            if field.errors and (shown is None or field.name in shown or field.name in _OWN_FIELDS)
        ]


#: The fields every page carries and every post validates.
_OWN_FIELDS = ("csrf_token", "submission_key")


def resume_form(
    form_class: type[ResponseForm], saved: Mapping[str, object], reached: int
) -> tuple[ResponseForm, int]:
    """A form filled with answers saved earlier, and the page to resume on: `reached`, the
    first page not completed when they were saved, or sooner the first page whose answers are
    no longer complete and valid, since the survey's definition may have changed meanwhile.

    Saved answers to questions no longer asked are dropped, and so are options and scale
    points no longer offered (shown unanswered on their page); a text is kept as typed, for
    its page to say what is wrong when it is sent. No error is shown on the page resumed.
    """
    known = set(form_class.answer_names)
    answers = MultiDict(
        [(name, value) for name, value in saved.items() if name in known and isinstance(value, str)]
    )
    form = form_class(formdata=answers)
    resume_at = max(0, min(reached, len(form.pages)))
    for page in form.pages[:resume_at]:
        fields = [form[name] for name in page.field_names]
        if all([field.validate(form) for field in fields]):
            continue
        for field in fields:
            if field.errors and not isinstance(field, TextAreaField):
                field.data, field.raw_data = None, []
        resume_at = page.index
        break
    for field in form:
        field.errors = []
    form._errors = None
    return form, resume_at


def build_response_form(
    *,
    slug: str,
    title: str,
    questions: Sequence[AskedQuestion],
    organisations: Sequence[tuple[str, str]] | None,
    organisation_question: str,
    on_record_question: str | None,
    max_text: int,
) -> type[ResponseForm]:
    """A new form class for the survey `slug` titled `title`: one field per question, plus the
    organisation chooser (`organisation_question`) offering `organisations`, (code, label)
    pairs, when they are given (open link), and the on-the-record question when the survey
    asks one. A fresh subclass per call, so no request changes another's form; it refuses
    nothing itself."""
    pages = form_pages(
        title,
        [asked.question for asked in questions],
        organisations is not None,
        on_record_question is not None,
    )
    attributes: dict[str, object] = {
        "questions": [asked.question for asked in questions],
        "_asked": {asked.question.code: asked for asked in questions},
        "max_text": max_text,
        "_organisation_codes": frozenset(code for code, _label in organisations or ()),
        "pages": pages,
        "answer_names": tuple(name for page in pages for name in page.field_names),
    }
    if organisations is not None:
        allowed = {code for code, _label in organisations}

        def validate_organisation(_form: PageForm, field: Field) -> None:
            if not field.data:
                raise ValidationError("Select the organisation from the list")
            if field.data not in allowed:
                raise ValidationError("Select an organisation from the list")

        attributes[ORGANISATION_FIELD] = SelectField(
            organisation_question,
            choices=[SelectChoice("", "Choose from the list")]
            + [SelectChoice(code, label) for code, label in organisations],
            validators=[validate_organisation],
            validate_choice=False,
        )
    for asked in questions:
        attributes[asked.question.code] = asked.field
    if on_record_question is not None:

        def validate_on_record(_form: PageForm, field: Field) -> None:
            if field.data not in ("yes", "no"):
                raise ValidationError("Select yes or no")

        attributes[ON_RECORD_FIELD] = RadioField(
            on_record_question,
            choices=[
                SelectChoice("yes", "Yes, you may quote me and name my ICB"),
                SelectChoice("no", "No, keep my answers off the record"),
            ],
            validators=[validate_on_record],
            validate_choice=False,
        )
    return type(f"{slug.title().replace('-', '')}ResponseForm", (ResponseForm,), attributes)
