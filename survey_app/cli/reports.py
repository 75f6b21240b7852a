"""Commands for statistics and PDF reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import with_appcontext

from survey_app.cli.common import fails_cleanly
from survey_app.db import get_session
from survey_app.models import AuditAction
from survey_app.services import ServiceError
from survey_app.services import audit as audit_service
from survey_app.services import organisations as org_service
from survey_app.services import responses as response_service
from survey_app.services import surveys as survey_service

if TYPE_CHECKING:
    from survey_app.models import Organisation, Survey, Wave

# --- reports ---------------------------------------------------------------------------------


@click.group("report")
def report_group() -> None:
    """Statistics and PDF reports."""


WAVE_HELP = "Wave number (default: the latest wave that has opened or has responses)."


def _report_subject(
    slug: str, scope_code: str | None, wave_number: int | None
) -> tuple[Survey, Organisation | None, Wave]:
    """The survey, scope (None: England) and wave named on the command line; the wave
    numbered `wave_number`, by default the latest wave that has opened or has responses.
    Refuses (ServiceError) an unknown survey, scope or wave."""
    from survey_app.reporting.scope import report_wave

    session = get_session()
    survey = survey_service.require_survey(session, slug)
    scope = None
    if scope_code:
        scope = org_service.organisation_by_code(session, scope_code)
        if scope is None:
            raise ServiceError(f"--scope: no organisation has code {scope_code!r}")
    return survey, scope, report_wave(session, survey, wave_number)


def _write_output(content: str | bytes, output: Path | None) -> None:
    if output is None:
        if isinstance(content, bytes):
            sys.stdout.buffer.write(content)
        else:
            click.echo(content, nl=not content.endswith("\n"))
        return
    try:
        if isinstance(content, bytes):
            output.write_bytes(content)
        else:
            output.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise ServiceError(f"{output}: cannot be written: {exc.strerror}") from None
    click.echo(f"wrote {output}", err=True)


@report_group.command("summary")
@click.argument("slug")
@click.option(
    "--by",
    default=None,
    help="A level (region, icb, hub, pcn, practice) or a choice question code.",
)
@click.option("--scope", "scope_code", default=None, help="Organisation code (default England).")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx"]), default="json")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option("--wave", "wave_number", type=int, default=None, help=WAVE_HELP)
@with_appcontext
@fails_cleanly
def report_summary(
    slug: str,
    by: str | None,
    scope_code: str | None,
    fmt: str,
    output: Path | None,
    wave_number: int | None,
) -> None:
    """The statistics of a survey's wave as JSON, CSV or XLSX."""
    from reports.export import summary_to_csv, summary_to_xlsx
    from survey_app.reporting.report import build_summary

    survey, scope, wave = _report_subject(slug, scope_code, wave_number)
    min_n = current_app.config["SUPPRESSION_MIN_N"]
    summary = build_summary(get_session(), survey, scope, by=by, wave=wave, min_n=min_n).summary
    if fmt == "json":
        content: str | bytes = json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False)
    elif fmt == "csv":
        content = summary_to_csv(summary)
    else:
        content = summary_to_xlsx(summary)
    _write_output(content, output)
    _record_export(slug, scope_code, by, fmt, output, wave)


@report_group.command("pdf")
@click.argument("slug")
@click.option("--by", default=None)
@click.option("--scope", "scope_code", default=None)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--wave", "wave_number", type=int, default=None, help=WAVE_HELP)
@with_appcontext
@fails_cleanly
def report_pdf(
    slug: str, by: str | None, scope_code: str | None, output: Path, wave_number: int | None
) -> None:
    """The PDF report of a survey's wave."""
    from reports.pdf_sandbox import ReportRenderingError, prepare_renderer
    from survey_app.config import VERSION
    from survey_app.reporting.report import build_report, render_report

    # The rendering server imports WeasyPrint (about half a second) while the summary is read.
    prepare_renderer()
    survey, scope, wave = _report_subject(slug, scope_code, wave_number)
    min_n = current_app.config["SUPPRESSION_MIN_N"]
    report = build_report(get_session(), survey, scope, by=by, wave=wave, min_n=min_n)
    try:
        pdf = render_report(report, response_service.utcnow(), VERSION, fmt="pdf")
    except ReportRenderingError as exc:
        raise ServiceError(f"the report could not be rendered: {exc}") from None
    _write_output(pdf, output)
    _record_export(slug, scope_code, by, "pdf", output, wave)


def _record_export(
    slug: str,
    scope_code: str | None,
    by: str | None,
    fmt: str,
    output: Path | None,
    wave: Wave,
) -> None:
    """Record and commit the export of `wave`'s report as `fmt` to `output` (None: stdout)."""
    session = get_session()
    audit_service.record(
        session,
        AuditAction.REPORT_EXPORTED,
        audit_service.COMMAND_LINE,
        target=slug,
        details={
            "format": fmt,
            "scope": scope_code,
            "by": by,
            "output": str(output) if output else "stdout",
            "wave": wave.number,
        },
    )
    session.commit()
