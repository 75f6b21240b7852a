"""The respondent's page flow: which page a post of the form leads to, what each button does
(continue, back, change, save and come back, send), and how a page is shown.

The routes find the survey, the wave and the invitation, make the form and hand both here.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import make_response, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_login import current_user
from werkzeug.wrappers import Response as HttpResponse

from forms.respondent import Action, FormPage, Navigation, ResponseForm, navigation_from
from survey_app.db import get_session, show_again_if_database_fails
from survey_app.models import Invitation, Organisation, Survey, Wave
from survey_app.respond.form_classes import parsed_answers
from survey_app.respond.page_cache import blank_questions, first_open_link_page
from survey_app.respond.send_limits import SendRefused, count_open_link_send
from survey_app.services.organisations import OrganisationChoice
from survey_app.services.responses import (
    InvitationAlreadyUsed,
    SurveyNotAccepting,
    already_submitted,
    submit_response,
)
from survey_app.services.saved_answers import save_answers

#: One message for an unknown and a used link, so the page does not tell which tokens exist.
LINK_NOT_VALID = "This link is not valid. It may have been used already, or mistyped."
#: A survey run by invitation only has no open link.
INVITATION_ONLY = (
    "This survey is answered by invitation only, through the personal link in the email "
    "inviting you; it has no open link."
)


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


def unavailable(message: str, status: int) -> tuple[str, int]:
    """The page saying the survey or link cannot be answered, with `message`, and `status`."""
    return render_template("respond/unavailable.html", message=message), status


def _page_view(
    respondent: Respondent, form: ResponseForm, index: int, reached: int, **extra: object
) -> tuple[str, dict[str, object]]:
    """The template and context of page `index` of the form ("check your answers" when it is
    the number of pages): what `show_page` renders, and what a failing database shows again."""
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
        context["blank_questions"] = blank_questions(respondent.survey, form, page)
    return "respond/form.html", {"page": page, **context}


def show_page(
    respondent: Respondent,
    form: ResponseForm,
    index: int,
    reached: int,
    status: int = 200,
    **extra: object,
) -> tuple[str, int]:
    """Page `index` of the form ("check your answers" when it is the number of pages),
    rendered, with `status`; `extra` goes to the template (`resumed=True`, say)."""
    template, context = _page_view(respondent, form, index, reached, **extra)
    return render_template(template, **context), status


def answer(respondent: Respondent, form: ResponseForm) -> str | tuple[str, int] | HttpResponse:
    """A form page shown, or the answers sent from one: each button's work (see `Action`).
    A page at fault is shown again with status 400; a link used meanwhile is refused (410), and
    so is a survey that closed before the answers were stored (404)."""
    if not form.is_submitted():
        # Only the page every visitor gets alike is shared: a signed-in user's header names
        # them, and a message waiting to be shown is one visitor's.
        if (
            respondent.invitation is None
            and not current_user.is_authenticated
            and "_flashes" not in flask_session
        ):
            return first_open_link_page(form, lambda: show_page(respondent, form, 0, reached=0)[0])
        return show_page(respondent, form, 0, reached=0)
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
        return show_page(respondent, form, navigation.page, navigation.reached, status=400)
    if navigation.action == Action.CHANGE:
        return show_page(respondent, form, navigation.target, navigation.reached)
    if navigation.action == Action.BACK:
        following = max(navigation.page - 1, 0)
    else:
        following = navigation.page + 1
        if following == page_count or navigation.reached == page_count:
            # Every page is done: "check your answers" shows only what sending would accept.
            if not form.validate():
                faulty = form.first_page_with_errors()
                index = faulty.index if faulty is not None else navigation.page
                return show_page(respondent, form, index, navigation.reached, status=400)
            following = page_count
    reached = max(navigation.reached, following)
    if not _keep(respondent, form, navigation.page, navigation.reached, reached):
        return unavailable(LINK_NOT_VALID, 410)
    return show_page(respondent, form, following, reached)


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
        return show_page(respondent, form, shown, reached)
    if not form.validate_given(sent_from):
        return show_page(respondent, form, shown, reached, status=400)
    if not _keep(respondent, form, shown, reached, reached):
        return unavailable(LINK_NOT_VALID, 410)
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
        return show_page(respondent, form, index, navigation.reached, status=400)
    if respondent.invitation is None:
        refused = count_open_link_send(survey.slug)
        if refused is not None:
            return _not_sent_yet(survey, form, refused, template, context)
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
        return unavailable(LINK_NOT_VALID, 410)
    except SurveyNotAccepting:
        return unavailable(
            "This survey closed before your answers were sent. They have not been saved.", 404
        )
    return redirect(url_for("respond.thanks", slug=survey.slug), code=303)


def _not_sent_yet(
    survey: Survey,
    form: ResponseForm,
    refused: SendRefused,
    template: str,
    context: dict[str, object],
) -> HttpResponse:
    """An open-link send the limits refused: the page it came from again, every answer still
    in it, saying why and from when it can be sent (429, with Retry-After); nothing stored.
    A page stored already (its reply was lost) goes to the thank-you page as usual."""
    if already_submitted(get_session(), form.submission_key.data):
        return redirect(url_for("respond.thanks", slug=survey.slug), code=303)
    page = make_response(render_template(template, **context, send_refused=refused), 429)
    page.headers["Retry-After"] = str(refused.retry_after_seconds)
    return page
