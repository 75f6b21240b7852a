"""Routes only: a survey's invitations for its current wave. Learners invited by email from a
CSV, their invitations and reminders sent, and single-use links downloaded for handing out.

On the admin blueprint, so for administrators alone like its other pages.
"""

from __future__ import annotations

import csv
import io
import time

from flask import current_app, render_template
from werkzeug.wrappers import Response as HttpResponse

from forms.admin import ActionForm, CsvUploadForm, InvitationLinksForm, error_list
from survey_app.admin import bp
from survey_app.admin.form_checks import organisation_named
from survey_app.admin.routes import Page, _actor, _done
from survey_app.db import get_session
from survey_app.lookups import survey_or_404
from survey_app.models import Survey
from survey_app.security import attachment
from survey_app.services import ServiceError
from survey_app.services.invitations import (
    LEARNER_CSV_HEADER,
    MAX_LEARNERS_PER_FILE,
    InvitationFileError,
    create_invitation_links,
    invite_learners,
    one_of,
)
from survey_app.services.mail import MailError, MailSettings
from survey_app.services.mailing import (
    REMINDER_INTERVAL,
    MailingReport,
    invitation_counts,
    number_of,
    send_invitations,
    send_reminders,
)
from survey_app.services.responses import utcnow

#: Seconds one press of "Send" spends sending, well inside a browser's and a load balancer's
#: patience; what is left is sent by the next press (or by `survey-app invitations send`).
SENDING_SECONDS = 20
NOTHING_INVITED = "No one was invited: fix the file and upload it again."


def _page(
    survey: Survey,
    upload_form: CsvUploadForm | None = None,
    links_form: InvitationLinksForm | None = None,
    problems: list[tuple[str, str]] | None = None,
    report: MailingReport | None = None,
    status: int | None = None,
    problem_note: str = "",
) -> Page:
    """The invitations page of `survey`'s current wave, with the forms as sent and the
    `problems` ((field id, message) pairs) to show; 400 when there are any, unless `status`."""
    session = get_session()
    upload_form = upload_form or CsvUploadForm(formdata=None)
    links_form = links_form or InvitationLinksForm(formdata=None)
    problems = (problems or []) + error_list(upload_form) + error_list(links_form)
    file_problems = [message for field_id, message in problems if field_id == "file"]
    wave = survey.current_wave
    return render_template(
        "admin/invitations.html",
        survey=survey,
        wave=wave,
        status_now=wave.status_at(utcnow()),
        counts=invitation_counts(session, wave),
        upload_form=upload_form,
        links_form=links_form,
        action_form=ActionForm(),
        problems=problems,
        problem_note=problem_note,
        upload_errors=(
            file_problems[0]
            if len(file_problems) == 1
            else f"The file has {len(file_problems)} problems, listed above"
            if file_problems
            else None
        ),
        report=report,
        mail_problem=_mail_settings().problem(),
        csv_header=",".join(LEARNER_CSV_HEADER),
        levels=one_of(survey.levels),
        max_learners=min(MAX_LEARNERS_PER_FILE, current_app.config["MAX_IMPORT_ROWS"]),
        reminder_hours=int(REMINDER_INTERVAL.total_seconds() // 3600),
    ), (status or (400 if problems else 200))


def _mail_settings() -> MailSettings:
    return MailSettings.from_config(current_app.config)


@bp.get("/surveys/<slug>/invitations")
def invitations(slug: str) -> Page:
    return _page(survey_or_404(slug))


@bp.post("/surveys/<slug>/invitations/learners")
def invite_by_email(slug: str) -> Page:
    survey = survey_or_404(slug)
    session = get_session()
    form = CsvUploadForm()
    if not form.validate():
        return _page(survey, upload_form=form, problem_note=NOTHING_INVITED)
    try:
        invited = invite_learners(
            session,
            survey,
            form.text,
            form.filename,
            _actor(),
            max_rows=current_app.config["MAX_IMPORT_ROWS"],
        )
    except InvitationFileError as exc:
        session.rollback()
        return _page(
            survey,
            problems=[("file", problem) for problem in exc.problems],
            problem_note=NOTHING_INVITED,
        )
    except ServiceError as exc:
        session.rollback()
        return _page(survey, problems=[("file", str(exc))], problem_note=NOTHING_INVITED)
    return _done(
        f"{form.filename}: {invited:,} learners invited to {survey.current_wave.name}. "
        "Nothing has been sent yet: send the invitations when you are ready.",
        "admin.invitations",
        slug=slug,
    )


@bp.post("/surveys/<slug>/invitations/links")
def invitation_links(slug: str) -> Page:
    survey = survey_or_404(slug)
    session = get_session()
    form = InvitationLinksForm()
    valid = form.validate()
    organisation = organisation_named(session, form.org_code)
    if not valid or organisation is None:
        return _page(survey, links_form=form, problem_note="No links were made.")
    try:
        issued = create_invitation_links(
            session,
            survey,
            organisation,
            form.count.data or 0,
            current_app.config["PUBLIC_URL"],
            _actor(),
        )
    except ServiceError as exc:
        session.rollback()
        form.org_code.errors = [str(exc)]
        return _page(survey, links_form=form, problem_note="No links were made.")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["token", "url"])
    writer.writerows([invitation.token, invitation.url] for invitation in issued)
    filename = f"{survey.slug}-{organisation.code}-{len(issued)}-links.csv"
    # The only copy of these tokens: no cache may keep one (every admin page is no-store).
    return attachment(HttpResponse(out.getvalue(), mimetype="text/csv"), filename)


def _mailing(slug: str, reminders: bool) -> Page:
    survey = survey_or_404(slug)
    session = get_session()
    mailing = send_reminders if reminders else send_invitations
    what = "reminder" if reminders else "invitation"
    anchor = f"send-{what}s"
    try:
        report = mailing(
            session,
            survey,
            _mail_settings(),
            current_app.config["PUBLIC_URL"],
            current_app.config["SECRET_KEY"],
            _actor(),
            deadline=time.monotonic() + SENDING_SECONDS,
        )
    except (MailError, ServiceError) as exc:
        session.rollback()
        return _page(survey, problems=[(anchor, str(exc))], problem_note="Nothing was sent.")
    if report.failure:
        return _page(
            survey,
            problems=[(anchor, report.stopped(what))],
            report=report,
            status=503,
        )
    if report.refused:
        return _page(survey, report=report)
    rest = (
        f" Still to send: {number_of(report.not_sent, what)}. Press the button again to send them."
        if report.not_sent
        else ""
    )
    return _done(f"{number_of(report.sent, what)} sent.{rest}", "admin.invitations", slug=slug)


@bp.post("/surveys/<slug>/invitations/send")
def send_wave_invitations(slug: str) -> Page:
    return _mailing(slug, reminders=False)


@bp.post("/surveys/<slug>/invitations/remind")
def remind_wave_invitees(slug: str) -> Page:
    return _mailing(slug, reminders=True)
