"""Routes only: sign-in, the reports page, the PDF and the summary API."""

from __future__ import annotations

from functools import partial
from typing import TypedDict
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask import session as cookie_session
from flask_login import current_user, logout_user
from redis.exceptions import RedisError
from werkzeug.wrappers import Response as HttpResponse

from forms.staff import LoginForm, SignOutForm
from reports.export import summary_to_csv, summary_to_xlsx
from reports.pdf_sandbox import ASSETS as REPORT_ASSETS
from reports.pdf_sandbox import ReportRenderingError
from survey_app.auth import sign_in, staff_required
from survey_app.config import VERSION
from survey_app.db import get_session
from survey_app.lookups import survey_or_404
from survey_app.models import AuditAction, Organisation, Role, Survey
from survey_app.reporting import report_jobs
from survey_app.reporting.report import (
    WaveSummary,
    build_summary,
    render_report,
    report_from_summary,
)
from survey_app.reporting.report_store import (
    claim_render,
    mark_failed,
    read_report,
    renders_pending,
    report_state,
    store_report,
)
from survey_app.reporting.response_counts import response_counts_by_organisation
from survey_app.reporting.scope import UnknownWave, figures_as_of, report_wave
from survey_app.security import (
    CONTENT_SECURITY_POLICY,
    SIGN_IN_LIMIT_PER_ACCOUNT,
    SIGN_IN_LIMIT_PER_ADDRESS,
    attachment,
    failed_sign_in,
    limiter,
    sign_in_account,
)
from survey_app.services import ServiceError, audit
from survey_app.services.access import ScopeNotAllowed, UnknownScope, report_scope
from survey_app.services.responses import utcnow
from survey_app.services.surveys import survey_listing
from survey_app.services.users import authenticate, end_sessions, scope_organisations
from survey_app.staff import bp
from survey_app.staff.report_choices import report_form_for

SIGN_IN_FAILED = "The email address or password is not right"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.app_context_processor
def _sign_out_form() -> dict[str, object]:
    """Every page a signed-in user sees offers sign-out, a POST with its CSRF token."""
    return {"sign_out_form": SignOutForm() if current_user.is_authenticated else None}


@bp.app_context_processor
def _staff_navigation() -> dict[str, object]:
    """Admins reach the audit log from the header on every page."""
    if not (current_user.is_authenticated and current_user.is_admin):
        return {}
    return {
        "nav_items": [
            {
                "href": url_for("staff.reports"),
                "text": "Reports",
                "active": request.endpoint == "staff.reports",
            },
            {
                "href": url_for("staff.audit_log"),
                "text": "Audit log",
                "active": request.endpoint == "staff.audit_log",
            },
        ]
    }


def _audit(
    action: AuditAction,
    target: str = "",
    details: dict[str, object] | None = None,
    actor: audit.Actor | None = None,
) -> None:
    """Record and commit an event of this request: by `actor`, else the signed-in user."""
    session = get_session()
    audit.record(
        session,
        action,
        actor or audit.Actor.of_user(current_user, request.remote_addr),
        target=target,
        details=details,
    )
    session.commit()


def _audit_report(action: AuditAction, slug: str, asked: WaveSummary, fmt: str) -> None:
    details = {"format": fmt, "scope": asked.scope_code, "by": asked.by}
    _audit(action, slug, details | {"wave": asked.wave.number})


def _safe_next(target: str | None) -> str:
    """A local path to go on to after sign-in; anything else goes to the reports page."""
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
        ):
            return target
    return url_for("staff.reports")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT_PER_ADDRESS, methods=["POST"], deduct_when=failed_sign_in)
@limiter.limit(
    SIGN_IN_LIMIT_PER_ACCOUNT,
    methods=["POST"],
    key_func=sign_in_account,
    deduct_when=failed_sign_in,
)
def login() -> str | tuple[str, int] | HttpResponse:
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(get_session(), form.email.data or "", form.password.data or "")
        if user is not None:
            cookie_session.clear()
            sign_in(user)
            _audit(AuditAction.SIGN_IN, actor=audit.Actor.of_user(user, request.remote_addr))
            return redirect(_safe_next(request.args.get("next")), code=303)
        # The address as typed, so mistakes and guesses can be told apart; never the password.
        typed = audit.Actor(name=form.email.data or "", remote_addr=request.remote_addr)
        _audit(AuditAction.SIGN_IN_FAILED, actor=typed)
        form.email.errors = [*form.email.errors, SIGN_IN_FAILED]
    status = 400 if form.is_submitted() else 200
    return render_template("staff/login.html", form=form), status


@bp.post("/logout")
def logout() -> HttpResponse:
    """Sign out: this cookie, and every other session of the user on every host (a copy of
    the cookie taken before no longer works)."""
    if current_user.is_authenticated:
        end_sessions(get_session(), current_user.id)
        _audit(AuditAction.SIGN_OUT)
    logout_user()
    cookie_session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("respond.index"), code=303)


def _scope_or_abort(code: str | None) -> Organisation | None:
    try:
        return report_scope(get_session(), current_user, code)
    except UnknownScope as exc:
        abort(404, description=str(exc))
    except ScopeNotAllowed as exc:
        abort(403, description=str(exc))


@bp.get("/reports")
@staff_required(Role.ADMIN, Role.LEAD)
def reports() -> str:
    session = get_session()
    scopes = scope_organisations(session, current_user)
    surveys = []
    for listing in survey_listing(session):
        # The counts of the wave its reports show by default, so a link's count is its report's.
        survey = listing.survey
        entry = listing.as_json()
        wave = report_wave(session, survey)
        counts = response_counts_by_organisation(
            session, survey, scopes, current_app.config["SUPPRESSION_MIN_N"], wave
        )
        several = len(survey.waves) > 1
        surveys.append(
            entry
            | {
                "by_organisation": counts,
                "wave": wave if several else None,
                "figures_as_of": figures_as_of(wave),
            }
        )
    return render_template(
        "staff/reports.html",
        surveys=surveys,
        scopes=scopes,
        min_n=current_app.config["SUPPRESSION_MIN_N"],
    )


def survey_scope_and_wave_asked(
    slug: str, parameters: tuple[str, ...]
) -> tuple[Survey, Organisation | None, int | None]:
    """The survey, the scope (`?scope=CODE`, default the user's own) and the wave number
    (`?wave=N`, None if not given) a staff request asks for. Aborts with 400 when one of
    `parameters` is given more than once (which one was meant is anyone's guess) or the wave
    is not a number, 404 for an unknown survey or scope, 403 for a scope outside the user's."""
    for name in parameters:
        given = request.args.getlist(name)
        if len(given) > 1:
            abort(400, description=f"{name}: given more than once ({len(given)} times); give one")
    survey = survey_or_404(slug, description=f"no survey has the slug {slug!r}")
    scope = _scope_or_abort(request.args.get("scope"))
    return survey, scope, _wave_number(request.args.get("wave"))


def _summary_for_request(slug: str) -> WaveSummary:
    """The summary the request asks for, of the wave it names (by default `report_wave`'s),
    with its survey, scope, wave and grouping; 404 for an unknown survey, scope or wave, 403
    for a scope outside the user's, 400 for an unknown grouping, a wave that is not a number,
    or a scope, grouping or wave given more than once (which one was meant is anyone's
    guess)."""
    survey, scope, wave_number = survey_scope_and_wave_asked(slug, ("scope", "by", "wave"))
    session = get_session()
    try:
        wave = report_wave(session, survey, wave_number)
    except UnknownWave as exc:
        abort(404, description=str(exc))
    try:
        return build_summary(
            session,
            survey,
            scope,
            by=request.args.get("by") or None,
            wave=wave,
            min_n=current_app.config["SUPPRESSION_MIN_N"],
        )
    except ServiceError as exc:
        abort(400, description=str(exc))


def _wave_number(given: str | None) -> int | None:
    """The wave number a request gives (None for none or empty); 400 unless a whole number
    from 1."""
    if given is None or not given.strip():
        return None
    if not given.strip().isdigit() or int(given) < 1:
        abort(400, description=f"wave: must be a wave number (1, 2, ...), not {given[:40]!r}")
    return int(given)


@bp.get("/reports/<slug>")
@staff_required(Role.ADMIN, Role.LEAD)
def report_view(slug: str) -> str:
    asked = _summary_for_request(slug)
    form = report_form_for(
        get_session(),
        current_user,
        asked.survey,
        scope_code=asked.scope_code,
        by=asked.by,
        wave_number=asked.wave.number,
    )
    _audit_report(AuditAction.REPORT_VIEWED, slug, asked, "page")
    return render_template(
        "staff/report.html",
        summary=asked.summary,
        form=form,
        query=_report_query(asked),
        question_texts={question.code: question.text for question in asked.survey.questions},
        figures_as_of=figures_as_of(asked.wave),
    )


class ReportQuery(TypedDict, total=False):
    """The query parameters of a report's downloads (see `_report_query`)."""

    scope: str
    by: str
    wave: str


def _report_query(asked: WaveSummary) -> ReportQuery:
    """The scope and grouping of `asked` as query parameters for its downloads, and its
    wave when the request named one (so the downloads stay on it when a newer wave opens)."""
    query: ReportQuery = {}
    if asked.scope_code:
        query["scope"] = asked.scope_code
    if asked.by:
        query["by"] = asked.by
    if request.args.get("wave"):
        query["wave"] = str(asked.wave.number)
    return query


def _download(
    content: str | bytes, mimetype: str, slug: str, asked: WaveSummary, extension: str
) -> HttpResponse:
    scope = asked.scope_code or "england"
    by = f"-by-{asked.by}" if asked.by else ""
    _audit_report(AuditAction.REPORT_DOWNLOADED, slug, asked, extension)
    response = current_app.response_class(content, mimetype=mimetype)
    return attachment(response, f"{slug}-{scope}{by}.{extension}")


@bp.get("/reports/<slug>.csv")
@staff_required(Role.ADMIN, Role.LEAD)
def report_csv(slug: str) -> HttpResponse:
    asked = _summary_for_request(slug)
    return _download(summary_to_csv(asked.summary), "text/csv", slug, asked, "csv")


@bp.get("/reports/<slug>.xlsx")
@staff_required(Role.ADMIN, Role.LEAD)
def report_xlsx(slug: str) -> HttpResponse:
    asked = _summary_for_request(slug)
    return _download(summary_to_xlsx(asked.summary), XLSX_MIMETYPE, slug, asked, "xlsx")


@bp.get("/reports/<slug>.pdf")
@staff_required(Role.ADMIN, Role.LEAD)
def report_pdf(slug: str) -> HttpResponse | tuple[str, int]:
    """The PDF, from the database when any host or worker has rendered it for the same data.
    Otherwise: with Redis, a worker renders it and this answers the progress page; without,
    a small report is rendered here and a large one on this process's background thread."""
    asked = _summary_for_request(slug)
    session = get_session()
    order = report_jobs.order_for(asked, current_app.config["SUPPRESSION_MIN_N"], current_user.id)
    state = report_state(session, order.key)
    if state.status == "ready":
        pdf = read_report(session, order.key)
        if pdf is not None:
            return _download(pdf, "application/pdf", slug, asked, "pdf")
    queued = current_app.config["REDIS_URL"] is not None
    large = (asked.summary["responses"] or 0) >= current_app.config[
        "REPORT_BACKGROUND_MIN_RESPONSES"
    ]
    if queued or large or state.status == "pending":
        if state.status != "pending":
            refused = _start_render(asked, order, queued)
            if refused is not None:
                return refused
        return redirect(
            url_for("staff.report_progress", slug=slug, **_report_query(asked)), code=303
        )
    # No Redis and a small report: rendered in this request, as the command line does.
    try:
        pdf = render_report(report_from_summary(session, asked), utcnow(), VERSION, fmt="pdf")
    except ReportRenderingError:
        current_app.logger.exception("report %s could not be rendered", slug)
        abort(503, description="The report could not be made just now. Try again shortly.")
    limits = {"max_bytes": current_app.config["REPORT_MAX_BYTES"]}
    store_report(session, order.key, pdf, keep=report_jobs.keep_for(current_app), **limits)
    return _download(pdf, "application/pdf", slug, asked, "pdf")


def _start_render(
    asked: WaveSummary, order: report_jobs.ReportOrder, queued: bool
) -> tuple[str, int] | None:
    """Start rendering `order` (on the queue, or on this process's thread) unless its user
    already has as many renders under way as allowed: then the page saying so (429)."""
    session = get_session()
    allowed = current_app.config["REPORT_RENDERS_PER_USER"]
    if renders_pending(session, current_user.id) >= allowed:
        page = render_template(
            "staff/progress.html",
            summary=asked.summary,
            state=None,
            busy=allowed,
            waited=0,
            query=_report_query(asked),
        )
        return page, 429
    if not claim_render(session, order.key, current_user.id):
        return None  # another request, on this host or another, has just started it
    if queued:
        try:
            report_jobs.enqueue(current_app, order)
        except RedisError:
            current_app.logger.exception("the report queue could not be reached")
            reason = "The report queue could not be reached."
            mark_failed(session, order.key, reason)
            abort(503, description=f"{reason} Try again shortly.")
    else:
        # The report is read now, in the request; the thread only renders and stores it.
        report = report_from_summary(session, asked)
        render = partial(render_report, report, utcnow(), VERSION, fmt="pdf")
        report_jobs.render_in_process(current_app._get_current_object(), order.key, render)  # type: ignore[attr-defined]
    return None


@bp.get("/reports/<slug>/preview")
@staff_required(Role.ADMIN, Role.LEAD)
def report_preview(slug: str) -> HttpResponse:
    """The PDF's own HTML, shown in the browser: the same report, before downloading it."""
    asked = _summary_for_request(slug)
    html = render_report(report_from_summary(get_session(), asked), utcnow(), VERSION, fmt="html")
    _audit_report(AuditAction.REPORT_VIEWED, slug, asked, "preview")
    # The report links its stylesheet relatively (its fonts are relative to the stylesheet). Not
    # a <base>: the CSP forbids one, and it would send the contents' #links to the asset folder.
    # The screen stylesheet after it sizes the report for a browser window (the PDF never sees it).
    stylesheets = (
        f'<link rel="stylesheet" href="{url_for("staff.report_asset", filename="report.css")}">'
        f'<link rel="stylesheet" href="{url_for("static", filename="css/report-preview.css")}">'
    )
    html = html.replace('<link rel="stylesheet" href="report.css">', stylesheets, 1)
    response = current_app.response_class(html)
    # The report sizes its chart bars with style attributes; user text in it is escaped.
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'"
    )
    return response


@bp.get("/reports/assets/<path:filename>")
@staff_required(Role.ADMIN, Role.LEAD)
def report_asset(filename: str) -> HttpResponse:
    return send_from_directory(REPORT_ASSETS, filename)


@bp.get("/reports/<slug>/progress")
@staff_required(Role.ADMIN, Role.LEAD)
def report_progress(slug: str) -> str:
    asked = _summary_for_request(slug)
    state = report_state(get_session(), report_jobs.key_of(asked))
    return render_template(
        "staff/progress.html",
        summary=asked.summary,
        state=state,
        busy=None,
        waited=state.seconds_waited(),
        query=_report_query(asked),
    )


@bp.get("/api/surveys/<slug>/summary")
@staff_required(Role.ADMIN, Role.LEAD)
def summary_api(slug: str) -> HttpResponse:
    asked = _summary_for_request(slug)
    _audit_report(AuditAction.REPORT_DOWNLOADED, slug, asked, "json")
    return jsonify(asked.summary)


#: Audit events shown per page.
AUDIT_PAGE_SIZE = 50


@bp.get("/admin/audit")
@staff_required(Role.ADMIN)
def audit_log() -> str:
    """The audit log, newest first, a page at a time, optionally of one action."""
    try:
        action = audit.parse_action(request.args.get("action"))
    except ServiceError as exc:
        abort(400, description=str(exc))
    session = get_session()
    total = audit.count_events(session, action)
    pages = max(1, -(-total // AUDIT_PAGE_SIZE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    events = audit.list_events(
        session, action, limit=AUDIT_PAGE_SIZE, offset=(page - 1) * AUDIT_PAGE_SIZE
    )
    return render_template(
        "staff/audit.html",
        events=events,
        action=action,
        action_items=[{"value": "", "text": "All actions"}]
        + [{"value": known.value, "text": known.label} for known in AuditAction],
        labels={known.value: known.label for known in AuditAction},
        describe_details=audit.describe_details,
        page=page,
        pages=pages,
        total=total,
    )
