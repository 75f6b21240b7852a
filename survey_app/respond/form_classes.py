"""The respondent's form class for a survey: its questions asked as their kinds ask them, and
the classes the respondents' pages share, built once per process."""

from __future__ import annotations

from collections.abc import Sequence

from forms.respondent import AskedQuestion, ResponseForm, build_response_form
from survey_app.models import Question, Survey, stored_id
from survey_app.process_cache import ProcessCache
from survey_app.questions import InvalidAnswer, ParsedAnswer, kind_of
from survey_app.services.organisations import OrganisationChoice


def asked_question(question: Question, max_text: int) -> AskedQuestion:
    """`question` as the form asks it: its kind's field, what its kind's `parse` accepts
    (texts up to `max_text` characters) and how its kind reads an answer."""
    kind = kind_of(question.type)

    def accepts(raw: str) -> bool:
        try:
            kind.parse(question, raw, max_text)
        except InvalidAnswer:
            return False
        return True

    def reads(raw: str) -> str:
        return kind.reads(question, raw)

    return AskedQuestion(question, kind.form_field(question, max_text), accepts, reads)


def survey_form_class(
    survey: Survey, organisations: Sequence[OrganisationChoice] | None, max_text: int
) -> type[ResponseForm]:
    """A new form class for `survey` (`build_response_form`), offering `organisations` when
    given (an open link's form asks which); it refuses nothing itself."""
    return build_response_form(
        slug=survey.slug,
        title=survey.title,
        questions=[asked_question(question, max_text) for question in survey.questions],
        organisations=(
            None
            if organisations is None
            else [(org.code, f"{org.name} ({org.code})") for org in organisations]
        ),
        organisation_question=survey.org_question,
        on_record_question=survey.on_record_question if survey.asks_on_record else None,
        max_text=max_text,
    )


#: Form classes respondents' pages use, by what they are built from; see `response_form_class`.
_response_form_classes: ProcessCache[type[ResponseForm]] = ProcessCache(limit=64)


def response_form_class(
    survey: Survey, organisations: tuple[OrganisationChoice, ...] | None, max_text: int
) -> type[ResponseForm]:
    """The form class `survey_form_class` makes, built once per process for each revision
    of the survey's definition, list of organisations and answer length, then shared by the
    requests (each makes its own instance; nothing changes the class). `survey` must be the
    definition for respondents (`services.surveys.accepting_survey`), which never changes.
    Pages rendered from a class may be kept by the class (it names all they depend on)."""
    key = (survey.id, survey.definition_revision, max_text, organisations)
    return _response_form_classes.get(  # type: ignore[return-value]
        key, lambda: survey_form_class(survey, organisations, max_text)
    )


def parsed_answers(survey: Survey, form: ResponseForm) -> dict[int, ParsedAnswer]:
    """The answers `form` was sent, in stored form, by question id; call only once the form
    has validated (a refused answer raises InvalidAnswer)."""
    answers: dict[int, ParsedAnswer] = {}
    for question in survey.questions:
        parsed = kind_of(question.type).parse(question, form[question.code].data, form.max_text)
        if parsed is not None:
            answers[stored_id(question)] = parsed
    return answers
