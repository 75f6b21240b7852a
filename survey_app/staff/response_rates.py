"""Routes only: the response-rate dashboard of a survey's wave, and its JSON twin that the
page's script reads every 30 seconds to update the figures in place."""

from __future__ import annotations

from datetime import datetime

from flask import abort, current_app, jsonify, render_template
from flask_login import current_user
from werkzeug.wrappers import Response as HttpResponse

from survey_app.auth import staff_required
from survey_app.db import get_session
from survey_app.models import AuditAction, Organisation, Role, Wave
from survey_app.reporting.response_counts import ResponseRates, response_rates
from survey_app.reporting.scope import UnknownWave, report_wave
from survey_app.services.mailing import UK_TIME
from survey_app.services.responses import utcnow
from survey_app.staff import bp
from survey_app.staff.report_choices import report_form_for
from survey_app.staff.routes import _audit, survey_scope_and_wave_asked

#: How often the page's script fetches the figures again (the template tells the script).
UPDATE_EVERY_SECONDS = 30


def _rates_for_request(slug: str) -> ResponseRates:
    """The response rates the request asks for: of wave `?wave=N` (default: the survey's
    current wave, the one its invitations go to) in scope `?scope=CODE` (default: the user's
    own). 404 for an unknown survey, scope or wave, 403 for a scope outside the user's, 400
    for a wave that is not a number or a scope or wave given more than once, as the report
    routes answer."""
    survey, scope, number = survey_scope_and_wave_asked(slug, ("scope", "wave"))
    session = get_session()
    wave: Wave = survey.current_wave
    if number is not None:
        try:
            wave = report_wave(session, survey, number)
        except UnknownWave as exc:
            abort(404, description=str(exc))
    return response_rates(session, wave, scope, current_app.config["SUPPRESSION_MIN_N"])


def uk_clock_time(moment: datetime) -> str:
    """A UTC time as the dashboard shows it, to the second in UK time: "14:05:09 on 3 June
    2026". The page's script writes the same with the browser's `Intl.DateTimeFormat`."""
    local = moment.astimezone(UK_TIME)
    return f"{local:%H:%M:%S} on {local.day} {local:%B %Y}"


def _query(rates: ResponseRates) -> dict[str, str]:
    """The scope and wave of `rates` as query parameters, so refreshing stays on them."""
    query = {"wave": str(rates.wave.number)}
    if rates.scope is not None:
        query["scope"] = rates.scope.code
    return query


@bp.get("/reports/<slug>/responses")
@staff_required(Role.ADMIN, Role.LEAD)
def response_rates_view(slug: str) -> str:
    rates = _rates_for_request(slug)
    survey = rates.wave.survey
    scope: Organisation | None = rates.scope
    form = report_form_for(
        get_session(),
        current_user,
        survey,
        scope_code=scope.code if scope else None,
        by=None,
        wave_number=rates.wave.number,
    )
    # The page load only: the script's fetches every 30 seconds would bury the log.
    _audit(
        AuditAction.REPORT_VIEWED,
        slug,
        {
            "format": "response-rates",
            "scope": scope.code if scope else None,
            "wave": rates.wave.number,
        },
    )
    return render_template(
        "staff/response_rates.html",
        rates=rates,
        survey=survey,
        wave_status=rates.wave.status_at(utcnow()),
        as_of_text=uk_clock_time(rates.as_of),
        form=form,
        query=_query(rates),
        update_every=UPDATE_EVERY_SECONDS,
    )


@bp.get("/api/surveys/<slug>/response-rates")
@staff_required(Role.ADMIN, Role.LEAD)
def response_rates_api(slug: str) -> HttpResponse:
    response = jsonify(_rates_for_request(slug).as_json())
    # Always the figures of now: neither the browser nor a proxy may answer from a copy.
    response.headers["Cache-Control"] = "no-store"
    return response
