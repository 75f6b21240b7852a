"""Routes only: each parses input, calls one service, renders."""

from __future__ import annotations

from flask import current_app, redirect, render_template, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response as HttpResponse

from forms.respondent import ORGANISATION_FIELD, ResponseForm, build_response_form
from survey_app.db import get_session, show_again_if_database_fails
from survey_app.models import Invitation, Organisation, Survey
from survey_app.respond import bp
from survey_app.security import TOKEN_LIMIT_PER_ADDRESS, csrf, failed_token, limiter
from survey_app.services.invitations import find_invitation
from survey_app.services.organisations import organisations_at_levels
from survey_app.services.responses import (
    InvitationAlreadyUsed,
    SurveyNotAccepting,
    already_submitted,
    submit_response,
)
from survey_app.services.surveys import accepting_survey, open_link_surveys, survey_by_slug

#: One message for an unknown and a used link, so the page does not tell which tokens exist.
LINK_NOT_VALID = "This link is not valid. It may have been used already, or mistyped."


@bp.get("/")
def index() -> str:
    return render_template("respond/index.html", open_surveys=open_link_surveys(get_session()))


@bp.get("/privacy")
def privacy() -> str:
    return render_template("respond/privacy.html")


def _unavailable(message: str, status: int) -> tuple[str, int]:
    return render_template("respond/unavailable.html", message=message), status


def _accepting_survey(slug: str) -> Survey | None:
    return accepting_survey(get_session(), slug)


@bp.route("/s/<slug>", methods=["GET", "POST"])
@csrf.exempt  # the form's own CSRF field is checked, so a failure re-shows the answers
def open_link(slug: str) -> str | tuple[str, int] | HttpResponse:
    survey = _accepting_survey(slug)
    if survey is None or not survey.allow_open_link:
        return _unavailable("This survey is not open, or the address is wrong.", 404)
    organisations = organisations_at_levels(get_session(), survey.levels)
    form = build_response_form(survey, organisations, current_app.config["MAX_TEXT_ANSWER"])()
    return _answer(survey, form, organisation=None, invitation=None)


@bp.route("/s/<slug>/<token>", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit(TOKEN_LIMIT_PER_ADDRESS, deduct_when=failed_token)
def invitation(slug: str, token: str) -> str | tuple[str, int] | HttpResponse:
    session = get_session()
    survey = _accepting_survey(slug)
    if survey is None:
        return _unavailable("This survey is not open, or the address is wrong.", 404)
    found = find_invitation(session, survey, token)
    if found is None:
        return _unavailable(LINK_NOT_VALID, 404)
    form = build_response_form(survey, None, current_app.config["MAX_TEXT_ANSWER"])()
    if found.used_at is not None:
        if form.is_submitted() and already_submitted(session, form.submission_key.data):
            # This very page was stored (the reply was lost, or it was sent twice).
            return redirect(url_for("respond.thanks", slug=survey.slug), code=303)
        return _unavailable(LINK_NOT_VALID, 410)
    organisation = session.get(Organisation, found.organisation_id)
    return _answer(survey, form, organisation=organisation, invitation=found)


#: Rendered blank questions by what they depend on; see `_blank_questions`.
_blank_questions_html: dict[tuple[object, ...], Markup] = {}
#: Versions kept per process: each survey definition and organisation list makes one.
_BLANK_QUESTIONS_KEPT = 32


def _blank_questions(survey: Survey, form: ResponseForm) -> Markup:
    """The HTML of `form`'s questions with nothing filled in, rendered once per process for
    each version of the survey's definition and organisation list. NHS.UK's macros make the
    130-odd radios of a survey most of the cost of a form page, and every respondent gets the
    same ones; the CSRF token and submission key are outside it."""
    organisations = form[ORGANISATION_FIELD].choices if ORGANISATION_FIELD in form else ()
    key = (
        survey.id,
        survey.definition_sha256,
        form.max_text,
        tuple((choice.value, choice.label) for choice in organisations),
    )
    html = _blank_questions_html.get(key)
    if html is None:
        html = Markup(render_template("respond/_questions.html", survey=survey, form=form))
        if len(_blank_questions_html) >= _BLANK_QUESTIONS_KEPT:
            _blank_questions_html.clear()
        _blank_questions_html[key] = html
    return html


def _answer(
    survey: Survey,
    form: ResponseForm,
    organisation: Organisation | None,
    invitation: Invitation | None,
) -> str | tuple[str, int] | HttpResponse:
    if not form.is_submitted():
        return render_template(
            "respond/form.html",
            survey=survey,
            form=form,
            organisation=organisation,
            blank_questions=_blank_questions(survey, form),
        )
    if not form.validate():
        return render_template(
            "respond/form.html", survey=survey, form=form, organisation=organisation
        ), 400
    # Should the database fail while storing, the respondent gets their answers back (503)
    # with the same submission key, so sending again cannot store them twice.
    show_again_if_database_fails(
        "respond/form.html", survey=survey, form=form, organisation=organisation
    )
    try:
        submit_response(
            get_session(),
            survey,
            organisation or form.chosen_organisation(),
            form.parsed_answers(),
            on_record=form.on_record(),
            invitation=invitation,
            submission_key=form.submission_key.data,
        )
    except InvitationAlreadyUsed:
        return _unavailable(LINK_NOT_VALID, 410)
    except SurveyNotAccepting:
        return _unavailable(
            "This survey closed before your answers were sent. They have not been saved.", 404
        )
    return redirect(url_for("respond.thanks", slug=survey.slug), code=303)


@bp.get("/s/<slug>/thanks")
def thanks(slug: str) -> str | tuple[str, int]:
    survey = survey_by_slug(get_session(), slug)
    if survey is None:
        return _unavailable("There is no survey at this address.", 404)
    return render_template("respond/thanks.html", survey=survey)
