"""Routes only: each finds the survey, the wave and the invitation a request is for, makes the
form and hands both to the page flow (`flow.py`)."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as HttpResponse

from forms.respondent import resume_form
from survey_app.db import get_session
from survey_app.models import Organisation
from survey_app.respond import bp
from survey_app.respond.flow import (
    INVITATION_ONLY,
    LINK_NOT_VALID,
    Respondent,
    answer,
    show_page,
    unavailable,
)
from survey_app.respond.form_classes import response_form_class
from survey_app.security import TOKEN_LIMIT_PER_ADDRESS, csrf, failed_token, limiter
from survey_app.services.invitations import find_invitation
from survey_app.services.organisations import organisation_choices
from survey_app.services.responses import already_submitted
from survey_app.services.saved_answers import saved_answers_for
from survey_app.services.surveys import (
    OpenSurvey,
    accepting_survey,
    open_link_surveys,
    survey_without_definition,
)


@bp.get("/")
def index() -> str:
    return render_template("respond/index.html", open_surveys=open_link_surveys(get_session()))


@bp.get("/privacy")
def privacy() -> str:
    return render_template("respond/privacy.html")


def _accepting_survey(slug: str) -> OpenSurvey | None:
    return accepting_survey(get_session(), slug)


@bp.after_request
def _not_kept_by_caches(response: HttpResponse) -> HttpResponse:
    # A form page carries the answers given so far in hidden fields: no cache, a shared one or
    # the browser's back-forward cache on a shared computer, may keep a copy.
    if request.endpoint in ("respond.open_link", "respond.invitation"):
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/s/<slug>", methods=["GET", "POST"])
@csrf.exempt  # the form's own CSRF field is checked, so a failure re-shows the answers
def open_link(slug: str) -> str | tuple[str, int] | HttpResponse:
    accepting = _accepting_survey(slug)
    if accepting is None:
        return unavailable("This survey is not open, or the address is wrong.", 404)
    if not accepting.survey.allow_open_link:
        # Its definition says `allow_open_link: false`: only invitations' own links answer it.
        return unavailable(INVITATION_ONLY, 404)
    survey = accepting.survey
    organisations = organisation_choices(get_session(), survey.levels)
    form = response_form_class(survey, organisations, current_app.config["MAX_TEXT_ANSWER"])()
    return answer(Respondent(survey, accepting.wave, None, None, organisations), form)


@bp.route("/s/<slug>/<token>", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit(TOKEN_LIMIT_PER_ADDRESS, deduct_when=failed_token)
def invitation(slug: str, token: str) -> str | tuple[str, int] | HttpResponse:
    session = get_session()
    accepting = _accepting_survey(slug)
    if accepting is None:
        return unavailable("This survey is not open, or the address is wrong.", 404)
    survey = accepting.survey
    found = find_invitation(session, accepting.wave, token)
    if found is None:
        return unavailable(LINK_NOT_VALID, 404)
    form_class = response_form_class(survey, None, current_app.config["MAX_TEXT_ANSWER"])
    form = form_class()
    if found.used_at is not None:
        if form.is_submitted() and already_submitted(session, form.submission_key.data):
            # This very page was stored (the reply was lost, or it was sent twice).
            return redirect(url_for("respond.thanks", slug=survey.slug), code=303)
        return unavailable(LINK_NOT_VALID, 410)
    respondent = Respondent(
        survey, accepting.wave, session.get(Organisation, found.organisation_id), found
    )
    if not form.is_submitted():
        saved = saved_answers_for(session, found)
        if saved is not None:
            # The same link in any browser carries on where the invitee stopped.
            form, resume_at = resume_form(form_class, saved.answers, saved.page)
            reached = max(resume_at, min(saved.page, len(form.pages)))
            return show_page(respondent, form, resume_at, reached, resumed=True)
    return answer(respondent, form)


@bp.get("/s/<slug>/thanks")
def thanks(slug: str) -> str | tuple[str, int]:
    # Every respondent lands here: the survey's title and anonymity are all the page shows.
    survey = survey_without_definition(get_session(), slug)
    if survey is None:
        return unavailable("There is no survey at this address.", 404)
    return render_template(
        "respond/thanks.html", survey=survey, min_n=current_app.config["SUPPRESSION_MIN_N"]
    )
