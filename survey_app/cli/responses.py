"""Commands for responses: import, listing and deleting one, purging old ones."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from survey_app.cli.common import echo_json, fails_cleanly, read_import
from survey_app.db import get_engine, get_session
from survey_app.reporting.report_store import forget_reports
from survey_app.services import ServiceError, holding
from survey_app.services import organisations as org_service
from survey_app.services import responses as response_service
from survey_app.services import retention as retention_service
from survey_app.services import surveys as survey_service
from survey_app.services import waves as wave_service


@click.command("import-responses")
@click.argument("slug")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--skip-invalid", is_flag=True, help="Store the valid rows, report the others.")
@click.option(
    "--wave", "wave_number", type=int, default=None, help="Wave number (default: the current)."
)
@with_appcontext
@fails_cleanly
def import_responses(slug: str, file: Path, skip_invalid: bool, wave_number: int | None) -> None:
    """Import responses from CSV into the current wave, or the wave given (open or closed):
    all or nothing unless --skip-invalid."""
    session = get_session()
    survey = survey_service.require_survey(session, slug)
    report = response_service.import_responses(
        session,
        survey,
        read_import(file),
        str(file),
        max_text=current_app.config["MAX_TEXT_ANSWER"],
        skip_invalid=skip_invalid,
        max_rows=current_app.config["MAX_IMPORT_ROWS"],
        wave_number=wave_number,
    )
    for error in report.errors:
        click.echo(f"skipped: {error}", err=True)
    click.echo(
        f"imported {report.imported} responses"
        + (f", skipped {len(report.errors)} invalid rows" if report.errors else "")
    )


# --- data protection and the audit log --------------------------------------------------------


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
@click.option("--survey", "slug", default=None, help="Only this survey (default: every survey).")
@with_appcontext
@fails_cleanly
def purge(dry_run: bool, slug: str | None) -> None:
    """Delete the responses older than their survey's retention period, with their answers
    and the invitations used before then; all in one transaction. Then forget the invitees'
    addresses of every wave closed by now, and release held submissions (as release-held)."""
    session = get_session()
    now = response_service.utcnow()
    only = survey_service.require_survey(session, slug) if slug else None
    # Held submissions first, so those past the period go with the other responses.
    released = [] if dry_run else holding.release_held(get_engine(), session, now, only)
    results = retention_service.purge(session, now, slug=slug, dry_run=dry_run)
    if not results:
        click.echo("no survey has a retention period; nothing deleted")
    verb = "would delete" if dry_run else "deleted"
    for result in results:
        if result.cutoff is None:
            click.echo(f"{result.slug}: no retention period (responses kept); nothing deleted")
            continue
        click.echo(
            f"{result.slug}: {verb} {result.responses} responses submitted before "
            f"{result.cutoff:%Y-%m-%d %H:%M} UTC ({result.retention_days} days), "
            f"{result.answers} answers, {result.invitations} used invitations"
        )
    if not dry_run and any(result.responses for result in results):
        forget_reports(session)
    addresses = wave_service.forget_closed_wave_addresses(session, now, only, dry_run=dry_run)
    click.echo(
        f"{'would forget' if dry_run else 'forgot'} {addresses} invitee addresses of closed waves"
    )
    _echo_released(released)


def _echo_released(released: list[holding.Released]) -> None:
    for wave in released:
        click.echo(
            f"{wave.survey_slug} wave {wave.wave_number}: released {wave.moved} held "
            f"submissions into responses, {wave.still_held} still held"
        )


@click.group("responses")
def responses_group() -> None:
    """Stored responses: finding one, and deleting it on request."""


@responses_group.command("list")
@click.argument("slug")
@click.option("--org", "org_code", default=None, help="Only responses about this organisation.")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text")
@with_appcontext
@fails_cleanly
def responses_list(slug: str, org_code: str | None, fmt: str) -> None:
    """A survey's responses, newest first, with their ids (answers are not shown)."""
    session = get_session()
    survey = survey_service.require_survey(session, slug)
    organisation = None
    if org_code:
        organisation = org_service.organisation_by_code(session, org_code)
        if organisation is None:
            raise ServiceError(f"--org: no organisation has code {org_code!r}")
    found = retention_service.list_responses(session, survey, organisation)
    if fmt == "json":
        echo_json([response.as_dict() for response in found])
        return
    for response in found:
        click.echo(_describe_response(response))


@responses_group.command("release-held")
@click.option("--survey", "slug", default=None, help="Only this survey (default: every survey).")
@with_appcontext
@fails_cleanly
def responses_release_held(slug: str | None) -> None:
    """Turn invited answers to anonymous surveys, held since they were sent, into responses:
    every one of a closed wave, and of an open wave in shuffled batches of at least ten."""
    session = get_session()
    only = survey_service.require_survey(session, slug) if slug else None
    released = holding.release_held(get_engine(), session, response_service.utcnow(), only)
    if not released:
        click.echo("no submissions are held")
    _echo_released(released)


def _describe_response(response: retention_service.StoredResponse) -> str:
    return (
        f"{response.id:>8}  {response.submitted_at:%Y-%m-%d}  {response.organisation_code:<10} "
        f"{'on record' if response.on_record else 'not on record':<13}  "
        f"{response.answers} answers  {response.organisation_name}"
    )


@responses_group.command("delete")
@click.argument("response_id", type=int)
@click.option("--yes", is_flag=True, help="Delete without asking to confirm.")
@with_appcontext
@fails_cleanly
def responses_delete(response_id: int, yes: bool) -> None:
    """Delete one response and its answers, for example at its respondent's request."""
    session = get_session()
    found = retention_service.find_response(session, response_id)
    click.echo(f"{found.survey_slug}: {_describe_response(found).strip()}")
    if found.anonymous:
        click.echo(
            f"{found.survey_slug} is anonymous: nothing stored ties a response to a person, so "
            "no one's request can identify this one. Deleting it by id all the same."
        )
    if not yes:
        click.confirm("Delete this response and its answers?", abort=True)
    retention_service.delete_response(session, response_id)
    forget_reports(session)
    click.echo(f"deleted response {response_id} and its {found.answers} answers")
