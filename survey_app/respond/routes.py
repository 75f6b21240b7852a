"""Routes only: each parses input, calls one service, renders."""

from __future__ import annotations

from flask import current_app, redirect, render_template, url_for
from sqlmodel import col, select
from werkzeug.wrappers import Response as HttpResponse

from forms.respondent import build_response_form
from survey_app.db import get_session
from survey_app.models import Invitation, Organisation, Survey, SurveyStatus
from survey_app.respond import bp
from survey_app.security import TOKEN_LIMIT_PER_ADDRESS, csrf, failed_token, limiter
from survey_app.services.invitations import find_invitation
from survey_app.services.organisations import organisations_at_levels
from survey_app.services.responses import (
    InvitationAlreadyUsed,
    SurveyNotAccepting,
    submit_response,
    utcnow,
)
from survey_app.services.surveys import survey_by_slug

#: One message for an unknown and a used link, so the page does not tell which tokens exist.
LINK_NOT_VALID = "This link is not valid. It may have been used already, or mistyped."


@bp.get("/")
def index() -> str:
    open_links = (
        get_session()
        .exec(
            select(Survey)
            .where(Survey.status == SurveyStatus.OPEN, col(Survey.allow_open_link).is_(True))
            .order_by(Survey.title)
        )
        .all()
    )
    return render_template("respond/index.html", open_surveys=open_links)


@bp.get("/privacy")
def privacy() -> str:
    return render_template("respond/privacy.html")


def _unavailable(message: str, status: int) -> tuple[str, int]:
    return render_template("respond/unavailable.html", message=message), status


def _accepting_survey(slug: str) -> Survey | None:
    survey = survey_by_slug(get_session(), slug)
    if survey is None or not survey.is_accepting(utcnow()):
        return None
    return survey


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
    if found.used_at is not None:
        return _unavailable(LINK_NOT_VALID, 410)
    organisation = session.get(Organisation, found.organisation_id)
    form = build_response_form(survey, None, current_app.config["MAX_TEXT_ANSWER"])()
    return _answer(survey, form, organisation=organisation, invitation=found)


def _answer(
    survey: Survey,
    form,
    organisation: Organisation | None,
    invitation: Invitation | None,
) -> str | tuple[str, int] | HttpResponse:
    if not form.is_submitted():
        return render_template(
            "respond/form.html", survey=survey, form=form, organisation=organisation
        )
    if not form.validate():
        return render_template(
            "respond/form.html", survey=survey, form=form, organisation=organisation
        ), 400
    try:
        submit_response(
            get_session(),
            survey,
            organisation or form.chosen_organisation(),
            form.parsed_answers(),
            on_record=form.on_record(),
            invitation=invitation,
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
