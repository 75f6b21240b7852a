"""Routes only: the administrators' pages. Each parses input, calls one service, renders.

Every route of the blueprint is for administrators alone (`_administrators_only`): anyone
signed out goes to the sign-in page, a quality lead gets 403.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as HttpResponse

from forms.admin import (
    ActionForm,
    CsvUploadForm,
    OrganisationSearchForm,
    SurveyDatesForm,
    UploadForm,
    UserAccessForm,
    UserCreateForm,
    WaveStartForm,
    error_list,
    uk_time,
)
from forms.base import add_error
from survey_app.admin import bp
from survey_app.admin.form_checks import LEVEL_CHOICES, ROLE_CHOICES, scopes_named
from survey_app.db import get_session
from survey_app.definitions import DefinitionError, shipped_definition_paths
from survey_app.lookups import survey_or_404
from survey_app.models import InvalidTransition, OrgLevel, Role
from survey_app.respond.form_classes import survey_form_class
from survey_app.services import FieldError, ServiceError
from survey_app.services.audit import Actor
from survey_app.services.definitions import (
    DefinitionUploadError,
    load_definition_files,
    load_uploaded_definition,
)
from survey_app.services.organisations import (
    PRACTICE_LIST_HEADERS,
    import_organisation_file,
    organisation_choices,
    search_organisations,
)
from survey_app.services.surveys import MAX_WAVE_NAME, survey_listing
from survey_app.services.users import (
    MIN_PASSWORD_LENGTH,
    UserListing,
    change_access,
    create_user,
    deactivate_user,
    list_users,
    reactivate_user,
    user_listing,
)
from survey_app.services.waves import (
    close_survey,
    open_survey,
    set_survey_dates,
    start_wave,
    wave_listing,
)

Page = str | tuple[str, int] | HttpResponse


@bp.before_request
def _administrators_only() -> HttpResponse | None:
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    if not current_user.is_admin:
        abort(403)
    return None


@bp.app_template_filter("app_uk_time")
def _uk_time_text(moment: datetime | None) -> str:
    """A stored UTC time as UK clock time, e.g. "1 March 2027, 09:00"."""
    local = uk_time(moment)
    return f"{local.day} {local:%B %Y, %H:%M}" if local else "not set"


def _actor() -> Actor:
    return Actor.of_user(current_user, request.remote_addr)


def _done(message: str, endpoint: str, **values: Any) -> HttpResponse:
    # Any, as `url_for` takes its values: each is turned into its URL's text.
    flash(message, "info")
    return redirect(url_for(endpoint, **values), code=303)


@bp.get("")
def index() -> str:
    return render_template("admin/index.html")


# --- organisations ----------------------------------------------------------------------------


@bp.get("/organisations")
def organisations() -> Page:
    form = OrganisationSearchForm(formdata=request.args, levels=LEVEL_CHOICES)
    if not form.validate():
        return render_template("admin/organisations.html", form=form, found=None), 400
    found = search_organisations(
        get_session(),
        form.q.data,
        OrgLevel(form.level.data) if form.level.data else None,
        page=request.args.get("page", 1, type=int),
    )
    return render_template("admin/organisations.html", form=form, found=found)


@bp.route("/organisations/import", methods=["GET", "POST"])
def import_organisations() -> Page:
    form = CsvUploadForm()
    if form.validate_on_submit():
        try:
            counts = import_organisation_file(
                get_session(),
                form.text,
                form.filename,
                _actor(),
                max_rows=current_app.config["MAX_IMPORT_ROWS"],
            )
        except ServiceError as exc:
            get_session().rollback()
            add_error(form.file, str(exc))
        else:
            skipped = f", {counts.skipped} closed practices left out" if counts.skipped else ""
            return _done(
                f"{form.filename}: {counts.created} created, {counts.updated} updated, "
                f"{counts.unchanged} unchanged{skipped}.",
                "admin.organisations",
            )
    return render_template(
        "admin/import_organisations.html", form=form, practice_headers=PRACTICE_LIST_HEADERS
    ), (400 if form.is_submitted() else 200)


# --- users ------------------------------------------------------------------------------------


@bp.get("/users")
def users() -> str:
    return render_template("admin/users.html", users=list_users(get_session()))


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> Page:
    session = get_session()
    form = UserCreateForm(
        roles=ROLE_CHOICES, scoped_role=Role.LEAD.value, min_password_length=MIN_PASSWORD_LENGTH
    )
    valid = form.validate_on_submit()
    scopes = scopes_named(session, form) if form.is_submitted() else None
    if valid and scopes is not None:
        try:
            user = create_user(
                session,
                form.email.data or "",
                form.password.data or "",
                Role(form.role.data),
                scopes,
                _actor(),
            )
        except ServiceError as exc:
            session.rollback()
            add_error(form.email, str(exc))
        else:
            role = "an administrator" if user.is_admin else "a quality lead"
            return _done(f"{user.email} can now sign in as {role}.", "admin.users")
    return render_template(
        "admin/new_user.html",
        form=form,
        problems=error_list(form, UserCreateForm.field_order),
        min_password=MIN_PASSWORD_LENGTH,
    ), (400 if form.is_submitted() else 200)


def _user_page(listing: UserListing, form: UserAccessForm | None = None, problem: str = "") -> Page:
    if form is None:
        form = UserAccessForm(formdata=None, roles=ROLE_CHOICES, scoped_role=Role.LEAD.value)
        form.fill_from(listing.user.role.value, [org.code for org in listing.scopes])
    problems = error_list(form) + ([("account-status", problem)] if problem else [])
    return render_template(
        "admin/user.html",
        listing=listing,
        form=form,
        action_form=ActionForm(),
        problems=problems,
        is_self=listing.user.id == current_user.id,
    ), (400 if problems else 200)


def _user_or_404(user_id: int) -> UserListing:
    listing = user_listing(get_session(), user_id)
    if listing is None:
        abort(404)
    return listing


@bp.get("/users/<int:user_id>")
def user(user_id: int) -> Page:
    return _user_page(_user_or_404(user_id))


@bp.post("/users/<int:user_id>")
def change_user(user_id: int) -> Page:
    listing = _user_or_404(user_id)
    session = get_session()
    form = UserAccessForm(roles=ROLE_CHOICES, scoped_role=Role.LEAD.value)
    valid = form.validate()
    scopes = scopes_named(session, form)
    if valid and scopes is not None:
        try:
            change_access(session, listing.user, Role(form.role.data), scopes, _actor())
        except ServiceError as exc:
            session.rollback()
            add_error(form.role, str(exc))
        else:
            return _done(f"{listing.user.email}'s access is saved.", "admin.user", user_id=user_id)
    return _user_page(listing, form)


def _change_active(user_id: int, active: bool) -> Page:
    listing = _user_or_404(user_id)
    session = get_session()
    change = reactivate_user if active else deactivate_user
    try:
        change(session, listing.user, _actor())
    except ServiceError as exc:
        session.rollback()
        return _user_page(listing, problem=str(exc))
    message = "can sign in again" if active else "can no longer sign in"
    return _done(f"{listing.user.email} {message}.", "admin.user", user_id=user_id)


@bp.post("/users/<int:user_id>/deactivate")
def deactivate(user_id: int) -> Page:
    return _change_active(user_id, active=False)


@bp.post("/users/<int:user_id>/reactivate")
def reactivate(user_id: int) -> Page:
    return _change_active(user_id, active=True)


# --- surveys ----------------------------------------------------------------------------------


@bp.get("/surveys")
def surveys() -> str:
    return render_template(
        "admin/surveys.html", surveys=survey_listing(get_session()), action_form=ActionForm()
    )


@bp.post("/surveys/load-shipped")
def load_shipped() -> Page:
    session = get_session()
    try:
        results = load_definition_files(session, shipped_definition_paths(), _actor())
    except (ServiceError, DefinitionError) as exc:
        session.rollback()
        return render_template(
            "admin/surveys.html",
            surveys=survey_listing(session),
            action_form=ActionForm(),
            problem=str(exc),
        ), 400
    loaded = "; ".join(f"{r.slug}: {'loaded' if r.changed else 'unchanged'}" for r in results)
    return _done(f"Shipped definitions {loaded}.", "admin.surveys")


@bp.route("/surveys/upload", methods=["GET", "POST"])
def upload_definition() -> Page:
    form = UploadForm()
    problems = []
    if form.validate_on_submit():
        content, filename = form.file_bytes()
        try:
            result = load_uploaded_definition(get_session(), content, filename, _actor())
        except DefinitionUploadError as exc:
            problems = [(form.file.id, f"{filename}: {problem}") for problem in exc.problems]
        else:
            verb = "loaded" if result.changed else "unchanged (the same file was loaded before)"
            return _done(f"{filename}: {result.slug} {verb}.", "admin.survey", slug=result.slug)
    problems = error_list(form) + problems
    return render_template("admin/upload_definition.html", form=form, problems=problems), (
        400 if form.is_submitted() else 200
    )


def _survey_page(
    slug: str,
    dates_form: SurveyDatesForm | None = None,
    problem: str = "",
    wave_form: WaveStartForm | None = None,
) -> Page:
    session = get_session()
    found = survey_listing(session, slug)
    if not found:
        abort(404)
    listing = found[0]
    if dates_form is None:
        dates_form = SurveyDatesForm(formdata=None)
        dates_form.fill_from(listing.wave.opens_at, listing.wave.closes_at)
    if wave_form is None:
        wave_form = WaveStartForm(
            formdata=None, prefix=WAVE_FORM_PREFIX, max_name_length=MAX_WAVE_NAME
        )
    problems = (
        error_list(dates_form)
        + error_list(wave_form, WaveStartForm.field_order)
        + ([("status-actions", problem)] if problem else [])
    )
    return render_template(
        "admin/survey.html",
        listing=listing,
        waves=wave_listing(session, listing.survey),
        dates_form=dates_form,
        wave_form=wave_form,
        action_form=ActionForm(),
        problems=problems,
    ), (400 if problems else 200)


@bp.get("/surveys/<slug>")
def survey(slug: str) -> Page:
    return _survey_page(slug)


def _change_status(slug: str, opening: bool) -> Page:
    session = get_session()
    found = survey_or_404(slug)
    try:
        (open_survey if opening else close_survey)(session, found, _actor())
    except InvalidTransition as exc:
        session.rollback()
        return _survey_page(slug, problem=str(exc))
    verb = "open: respondents can answer it" if opening else "closed: it takes no more answers"
    wave = found.current_wave
    return _done(
        f"{found.title}, wave {wave.number} ({wave.name}), is {verb}.", "admin.survey", slug=slug
    )


@bp.post("/surveys/<slug>/open")
def open_(slug: str) -> Page:
    return _change_status(slug, opening=True)


@bp.post("/surveys/<slug>/close")
def close(slug: str) -> Page:
    return _change_status(slug, opening=False)


@bp.post("/surveys/<slug>/dates")
def dates(slug: str) -> Page:
    session = get_session()
    found = survey_or_404(slug)
    form = SurveyDatesForm()
    if not form.validate():
        return _survey_page(slug, dates_form=form)
    try:
        set_survey_dates(session, found, form.opens_at_utc(), form.closes_at_utc(), _actor())
    except ServiceError as exc:
        session.rollback()
        add_error(form.closes_at, str(exc))
        return _survey_page(slug, dates_form=form)
    wave = found.current_wave
    return _done(
        f"The opening and closing dates of {found.title}, wave {wave.number} ({wave.name}), "
        "are saved.",
        "admin.survey",
        slug=slug,
    )


#: The prefix of the new wave form's fields, which would otherwise share the dates form's ids.
WAVE_FORM_PREFIX = "wave"


@bp.post("/surveys/<slug>/waves")
def start_wave_(slug: str) -> Page:
    session = get_session()
    found = survey_or_404(slug)
    form = WaveStartForm(prefix=WAVE_FORM_PREFIX, max_name_length=MAX_WAVE_NAME)
    if not form.validate():
        return _survey_page(slug, wave_form=form)
    try:
        wave = start_wave(
            session,
            found,
            form.name.data,
            form.opens_at_utc(),
            form.closes_at_utc(),
            _actor(),
        )
    except FieldError as exc:
        session.rollback()
        field = {"name": form.name, "closes": form.closes_at}[exc.field]
        field.errors = [*field.errors, exc.message.capitalize()]
        return _survey_page(slug, wave_form=form)
    except ServiceError as exc:
        session.rollback()
        # About the current wave: still open, or a wave started by someone else a moment ago.
        return _survey_page(slug, wave_form=form, problem=str(exc))
    return _done(
        f"Wave {wave.number} of {found.title} ({wave.name}) is started. "
        + (
            f"It opens by itself on {_uk_time_text(wave.opens_at)} (UK time)."
            if wave.opens_at
            else "Open it when respondents should answer."
        ),
        "admin.survey",
        slug=slug,
    )


@bp.get("/surveys/<slug>/preview")
def preview(slug: str) -> str:
    session = get_session()
    found = survey_or_404(slug)
    organisations = organisation_choices(session, found.levels) if found.allow_open_link else None
    form = survey_form_class(found, organisations, current_app.config["MAX_TEXT_ANSWER"])(
        formdata=None
    )
    return render_template("admin/preview.html", survey=found, form=form, organisation=None)
