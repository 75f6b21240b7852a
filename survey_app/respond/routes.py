"""Routes only: each parses input, calls one service, renders."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_login import current_user
from markupsafe import Markup, escape
from werkzeug.wrappers import Response as HttpResponse

from forms.respondent import (
    Action,
    FormPage,
    Navigation,
    ResponseForm,
    navigation_from,
    resume_form,
)
from survey_app.db import get_session, show_again_if_database_fails
from survey_app.models import Invitation, Organisation, Survey, Wave
from survey_app.process_cache import ProcessCache
from survey_app.respond import bp
from survey_app.respond.form_classes import parsed_answers, response_form_class
from survey_app.security import TOKEN_LIMIT_PER_ADDRESS, csrf, failed_token, limiter
from survey_app.services.invitations import find_invitation
from survey_app.services.organisations import OrganisationChoice, organisation_choices
from survey_app.services.responses import (
    InvitationAlreadyUsed,
    SurveyNotAccepting,
    already_submitted,
    submit_response,
)
from survey_app.services.saved_answers import save_answers, saved_answers_for
from survey_app.services.surveys import (
    OpenSurvey,
    accepting_survey,
    open_link_surveys,
    survey_without_definition,
)

#: One message for an unknown and a used link, so the page does not tell which tokens exist.
LINK_NOT_VALID = "This link is not valid. It may have been used already, or mistyped."


@dataclass(frozen=True, slots=True)
class Respondent:
    """Who is answering: the survey (a definition shared by the process's requests) and its
    open wave, the organisation an invitation is for (None for an open link, where the form
    asks), the invitation (None for an open link), and the organisations an open link's form
    offers."""

    survey: Survey
    wave: Wave
    organisation: Organisation | None
    invitation: Invitation | None
    offered: tuple[OrganisationChoice, ...] = ()

    def answering_for(self, form: ResponseForm) -> Organisation | OrganisationChoice | None:
        """The organisation the answers are about: the invitation's, or the one chosen on the
        form from those offered; None when neither is."""
        if self.organisation is not None:
            return self.organisation
        code = form.chosen_organisation_code()
        return next((org for org in self.offered if org.code == code), None)


@bp.get("/")
def index() -> str:
    return render_template("respond/index.html", open_surveys=open_link_surveys(get_session()))


@bp.get("/privacy")
def privacy() -> str:
    return render_template("respond/privacy.html")


def _unavailable(message: str, status: int) -> tuple[str, int]:
    return render_template("respond/unavailable.html", message=message), status


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
    if accepting is None or not accepting.survey.allow_open_link:
        return _unavailable("This survey is not open, or the address is wrong.", 404)
    survey = accepting.survey
    organisations = organisation_choices(get_session(), survey.levels)
    form = response_form_class(survey, organisations, current_app.config["MAX_TEXT_ANSWER"])()
    return _answer(Respondent(survey, accepting.wave, None, None, organisations), form)


@bp.route("/s/<slug>/<token>", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit(TOKEN_LIMIT_PER_ADDRESS, deduct_when=failed_token)
def invitation(slug: str, token: str) -> str | tuple[str, int] | HttpResponse:
    session = get_session()
    accepting = _accepting_survey(slug)
    if accepting is None:
        return _unavailable("This survey is not open, or the address is wrong.", 404)
    survey = accepting.survey
    found = find_invitation(session, accepting.wave, token)
    if found is None:
        return _unavailable(LINK_NOT_VALID, 404)
    form_class = response_form_class(survey, None, current_app.config["MAX_TEXT_ANSWER"])
    form = form_class()
    if found.used_at is not None:
        if form.is_submitted() and already_submitted(session, form.submission_key.data):
            # This very page was stored (the reply was lost, or it was sent twice).
            return redirect(url_for("respond.thanks", slug=survey.slug), code=303)
        return _unavailable(LINK_NOT_VALID, 410)
    respondent = Respondent(
        survey, accepting.wave, session.get(Organisation, found.organisation_id), found
    )
    if not form.is_submitted():
        saved = saved_answers_for(session, found)
        if saved is not None:
            # The same link in any browser carries on where the invitee stopped.
            form, resume_at = resume_form(form_class, saved.answers, saved.page)
            reached = max(resume_at, min(saved.page, len(form.pages)))
            return _page(respondent, form, resume_at, reached, resumed=True)
    return _answer(respondent, form)


#: Rendered blank questions by form class and page; see `_blank_questions`.
_blank_questions_html: ProcessCache[Markup] = ProcessCache(limit=64)


def _blank_questions(survey: Survey, form: ResponseForm, page: FormPage) -> Markup:
    """The HTML of `page`'s questions with nothing filled in, rendered once per process for
    each form class (`response_form_class`: each version of the survey's definition and
    organisation list). NHS.UK's macros make the radios most of the cost of a form page, and
    every respondent gets the same ones; the CSRF token, the submission key and the answers
    carried from other pages are outside it."""
    return _blank_questions_html.get(  # type: ignore[return-value]
        (type(form), page.index),
        lambda: Markup(
            render_template("respond/_questions.html", survey=survey, form=form, page=page)
        ),
    )


def _page_view(
    respondent: Respondent, form: ResponseForm, index: int, reached: int, **extra: object
) -> tuple[str, dict[str, object]]:
    """The template and context of page `index` of the form ("check your answers" when it is
    the number of pages): what `_page` renders, and what a failing database shows again."""
    context: dict[str, object] = {
        "survey": respondent.survey,
        "form": form,
        "organisation": respondent.organisation,
        "page_count": len(form.pages),
        "reached": reached,
        "can_save": respondent.invitation is not None,
        **extra,
    }
    if index >= len(form.pages):
        return "respond/check.html", context
    page = form.pages[index]
    unanswered = not any(form.given(name) or form[name].errors for name in page.field_names)
    if unanswered:
        context["blank_questions"] = _blank_questions(respondent.survey, form, page)
    return "respond/form.html", {"page": page, **context}


def _page(
    respondent: Respondent,
    form: ResponseForm,
    index: int,
    reached: int,
    status: int = 200,
    **extra: object,
) -> tuple[str, int]:
    template, context = _page_view(respondent, form, index, reached, **extra)
    return render_template(template, **context), status


#: The open link's first page as a visitor first gets it, by form class and the application's
#: root: its HTML before its CSRF token, between the token and the submission key, and after.
_first_pages: ProcessCache[tuple[str, str, str]] = ProcessCache(limit=16)


def _first_open_link_page(respondent: Respondent, form: ResponseForm) -> str:
    """The open link's first page with nothing answered: the same for every visitor who is not
    signed in apart from the form's CSRF token and submission key, so it is rendered once per
    process for each form class (each version of the definition and organisation list), and
    the two values are put into a copy. It is what most visitors to a national survey's link
    get; rendering it was the larger part of serving it. A page for a signed-in user (whose
    header names them) or with a message waiting to be shown is rendered afresh."""
    token = str(escape(form.csrf_token.current_token))
    submission_key = str(escape(form.submission_key.data))

    def split_page() -> tuple[str, str, str] | None:
        html = _page(respondent, form, 0, reached=0)[0]
        # Each value once, the token first: otherwise the page cannot be kept.
        if html.count(token) != 1 or html.count(submission_key) != 1:
            return None
        before, _, rest = html.partition(token)
        between, _, after = rest.partition(submission_key)
        return (before, between, after) if after else None

    parts = _first_pages.get((type(form), request.script_root), split_page)
    if parts is None:
        return _page(respondent, form, 0, reached=0)[0]
    before, between, after = parts
    return before + token + between + submission_key + after


def _answer(respondent: Respondent, form: ResponseForm) -> str | tuple[str, int] | HttpResponse:
    """A form page shown, or the answers sent from one: each button's work (see `Action`)."""
    if not form.is_submitted():
        if (
            respondent.invitation is None
            and not current_user.is_authenticated
            and "_flashes" not in flask_session
        ):
            return _first_open_link_page(respondent, form)
        return _page(respondent, form, 0, reached=0)
    page_count = len(form.pages)
    navigation = navigation_from(request.form, page_count)
    if (
        navigation.page is None
        or navigation.action == Action.SEND
        or (navigation.action == Action.CONTINUE and navigation.page == page_count)
    ):
        return _send(respondent, form, navigation)
    sent_from = form.pages[navigation.page] if navigation.page < page_count else None
    if navigation.action == Action.SAVE:
        return _save(respondent, form, navigation.page, navigation.reached, sent_from)
    # Every move between pages checks the CSRF token (and only that, going back).
    valid = (
        form.validate_page(sent_from)
        if (navigation.action == Action.CONTINUE and sent_from is not None)
        else form.validate_given(None)
    )
    if not valid:
        return _page(respondent, form, navigation.page, navigation.reached, status=400)
    if navigation.action == Action.CHANGE:
        return _page(respondent, form, navigation.target, navigation.reached)
    if navigation.action == Action.BACK:
        following = max(navigation.page - 1, 0)
    else:
        following = navigation.page + 1
        if following == page_count or navigation.reached == page_count:
            # Every page is done: "check your answers" shows only what sending would accept.
            if not form.validate():
                faulty = form.first_page_with_errors()
                index = faulty.index if faulty is not None else navigation.page
                return _page(respondent, form, index, navigation.reached, status=400)
            following = page_count
    reached = max(navigation.reached, following)
    if not _keep(respondent, form, navigation.page, navigation.reached, reached):
        return _unavailable(LINK_NOT_VALID, 410)
    return _page(respondent, form, following, reached)


def _keep(
    respondent: Respondent, form: ResponseForm, shown: int, shown_reached: int, reached: int
) -> bool:
    """Save an invitee's answers so far (an open link keeps nothing); False when the
    invitation was used meanwhile, from another tab or browser."""
    if respondent.invitation is None:
        return True
    # Should the database fail, the page the answers came from is shown again with them.
    template, context = _page_view(respondent, form, shown, shown_reached)
    show_again_if_database_fails(template, **context)
    return save_answers(get_session(), respondent.invitation, form.answers_to_keep(), reached)


def _save(
    respondent: Respondent,
    form: ResponseForm,
    shown: int,
    reached: int,
    sent_from: FormPage | None,
) -> str | tuple[str, int]:
    """The button "Save and come back later" on page `shown`: an invitation keeps the answers
    given so far (each one valid, none required yet) and the page says the same link carries
    on."""
    if respondent.invitation is None:
        # An open link has nowhere to come back to: nothing is offered, so nothing is saved.
        return _page(respondent, form, shown, reached)
    if not form.validate_given(sent_from):
        return _page(respondent, form, shown, reached, status=400)
    if not _keep(respondent, form, shown, reached, reached):
        return _unavailable(LINK_NOT_VALID, 410)
    return render_template("respond/saved.html", survey=respondent.survey, link=request.path)


def _send(
    respondent: Respondent, form: ResponseForm, navigation: Navigation
) -> str | tuple[str, int] | HttpResponse:
    """Validate every answer and store the response. A post of the whole survey at once (no
    page named) is answered as before pages: the whole form, with a message at each fault."""
    survey = respondent.survey
    if navigation.page is None:
        template = "respond/form.html"
        context: dict[str, object] = {
            "survey": survey,
            "form": form,
            "organisation": respondent.organisation,
        }
    else:
        template, context = _page_view(respondent, form, navigation.page, navigation.reached)
    if not form.validate():
        if navigation.page is None:
            return render_template(template, **context), 400
        # The first page with a fault is shown with it, whichever page the answers came from.
        faulty = form.first_page_with_errors()
        index = faulty.index if faulty is not None else navigation.page
        return _page(respondent, form, index, navigation.reached, status=400)
    # Should the database fail while storing, the respondent gets their answers back (503)
    # with the same submission key, so sending again cannot store them twice.
    show_again_if_database_fails(template, **context)
    try:
        submit_response(
            get_session(),
            survey,
            respondent.answering_for(form),  # type: ignore[arg-type]
            parsed_answers(survey, form),
            on_record=form.on_record(),
            invitation=respondent.invitation,
            submission_key=form.submission_key.data,
            wave=respondent.wave,
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
    # Every respondent lands here: the survey's title and anonymity are all the page shows.
    survey = survey_without_definition(get_session(), slug)
    if survey is None:
        return _unavailable("There is no survey at this address.", 404)
    return render_template(
        "respond/thanks.html", survey=survey, min_n=current_app.config["SUPPRESSION_MIN_N"]
    )
