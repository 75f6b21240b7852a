"""The `survey-app` command line: each command a thin call into services or reports.

Errors exit non-zero with a message on stderr naming the file, row, column or field at fault;
a command that fails changes nothing in the database.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from survey_app.db import get_engine, get_session
from survey_app.definitions import DefinitionError, shipped_definition_paths
from survey_app.migrations.runner import upgrade
from survey_app.models import AuditAction, InvalidTransition, Role
from survey_app.services import ServiceError
from survey_app.services import audit as audit_service
from survey_app.services import invitations as invitation_service
from survey_app.services import organisations as org_service
from survey_app.services import responses as response_service
from survey_app.services import retention as retention_service
from survey_app.services import surveys as survey_service
from survey_app.services import users as user_service
from survey_app.services.mail import MailSettings


def _fails_cleanly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a person can fix into a message and exit status 1."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ServiceError, DefinitionError, InvalidTransition) as exc:
            get_session().rollback()
            raise click.ClickException(str(exc)) from None

    return run


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ServiceError(f"{path}: is not UTF-8 text") from None
    except OSError as exc:
        raise ServiceError(f"{path}: cannot be read: {exc.strerror}") from None


def _read_import(path: Path) -> str:
    """The text of a CSV to import; refuses (ServiceError naming the file and the limit) a file
    over MAX_IMPORT_BYTES before reading any of it."""
    limit = current_app.config["MAX_IMPORT_BYTES"]
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ServiceError(f"{path}: cannot be read: {exc.strerror}") from None
    if size > limit:
        raise ServiceError(
            f"{path}: the file is {size:,} bytes, over the import limit of {limit:,} bytes "
            "(MAX_IMPORT_BYTES); split the file"
        )
    return _read_text(path)


def _echo_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False))


# --- database and reference data -------------------------------------------------------------


@click.group("db")
def db_group() -> None:
    """The database schema."""


@db_group.command("init")
@with_appcontext
def db_init() -> None:
    """Create the schema on an empty database, or bring an existing one up to the newest
    migration."""
    upgrade(get_engine())
    click.echo("database schema is up to date")


@click.command("load-reference")
@with_appcontext
@_fails_cleanly
def load_reference() -> None:
    """Load the 7 NHS England regions and 42 ICBs (idempotent)."""
    counts = org_service.load_reference(get_session())
    click.echo(
        f"reference organisations: {counts.created} created, {counts.updated} updated, "
        f"{counts.unchanged} unchanged"
    )


@click.group("orgs")
def orgs_group() -> None:
    """Organisations."""


@orgs_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@with_appcontext
@_fails_cleanly
def orgs_import(file: Path) -> None:
    """Create or update organisations from a CSV with header code,name,level,parent_code, or
    practices from a practice list of the NHS Organisation Data Service (columns by header)."""
    counts = org_service.import_organisation_file(
        get_session(),
        _read_import(file),
        str(file),
        max_rows=current_app.config["MAX_IMPORT_ROWS"],
    )
    skipped = f", {counts.skipped} closed practices left out" if counts.skipped else ""
    click.echo(
        f"{file}: {counts.created} created, {counts.updated} updated, "
        f"{counts.unchanged} unchanged{skipped}"
    )


# --- surveys ----------------------------------------------------------------------------------


@click.group("surveys")
def surveys_group() -> None:
    """Survey definitions and their status."""


@surveys_group.command("load")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@with_appcontext
@_fails_cleanly
def surveys_load(path: Path | None) -> None:
    """Load a definition file, every *.yaml/*.json in a folder, or the shipped definitions."""
    if path is None:
        paths = shipped_definition_paths()
    elif path.is_dir():
        paths = sorted([*path.glob("*.yaml"), *path.glob("*.yml"), *path.glob("*.json")])
        if not paths:
            raise ServiceError(f"{path}: holds no .yaml, .yml or .json definition file")
    elif path.exists():
        paths = [path]
    else:
        raise ServiceError(f"{path}: no such file or folder")
    for result in survey_service.load_definition_files(get_session(), paths):
        click.echo(f"{result.slug}: {'loaded' if result.changed else 'unchanged'}")


@surveys_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text")
@with_appcontext
def surveys_list(fmt: str) -> None:
    """Every survey with its status and number of responses."""
    surveys = survey_service.list_surveys(get_session())
    if fmt == "json":
        _echo_json(surveys)
        return
    for survey in surveys:
        click.echo(
            f"{survey['slug']:<24} {survey['status']:<7} {survey['responses']:>7}  "
            f"{survey['title']}"
        )


@surveys_group.command("show")
@click.argument("slug")
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json")
@with_appcontext
@_fails_cleanly
def surveys_show(slug: str, fmt: str) -> None:
    """The definition as loaded."""
    _echo_json(survey_service.survey_as_dict(survey_service.require_survey(get_session(), slug)))


def _change_status(slug: str, change: Callable[..., Any], verb: str) -> None:
    session = get_session()
    survey = change(session, survey_service.require_survey(session, slug))
    wave = survey.current_wave
    click.echo(f"{slug}: {verb} (wave {wave.number}, {wave.name})")


@surveys_group.command("open")
@click.argument("slug")
@with_appcontext
@_fails_cleanly
def surveys_open(slug: str) -> None:
    """Open a survey's current wave for responses."""
    _change_status(slug, survey_service.open_survey, "open")


@surveys_group.command("close")
@click.argument("slug")
@with_appcontext
@_fails_cleanly
def surveys_close(slug: str) -> None:
    """Close a survey's current wave: it takes no more responses, and its invitations'
    addresses are forgotten."""
    _change_status(slug, survey_service.close_survey, "closed")


@surveys_group.command("retention")
@click.argument("slug")
@click.argument("days")
@with_appcontext
@_fails_cleanly
def surveys_retention(slug: str, days: str) -> None:
    """Keep SLUG's responses DAYS days after submission (`survey-app purge` deletes older
    ones); DAYS `keep` keeps them until deleted by hand."""
    if days == "keep":
        period = None
    elif days.isdigit():
        period = int(days)
    else:
        raise ServiceError(f"DAYS: must be a whole number of days or keep, not {days!r}")
    session = get_session()
    retention_service.set_retention(session, survey_service.require_survey(session, slug), period)
    click.echo(
        f"{slug}: responses kept {period} days after submission"
        if period
        else f"{slug}: responses kept until deleted"
    )


# --- waves -----------------------------------------------------------------------------------


@click.group("waves")
def waves_group() -> None:
    """A survey's waves: each run of it for a new period, with its own responses."""


@waves_group.command("list")
@click.argument("slug")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text")
@with_appcontext
@_fails_cleanly
def waves_list(slug: str, fmt: str) -> None:
    """Every wave of SLUG with its status, dates and numbers of responses and invitations."""
    session = get_session()
    waves = survey_service.list_waves(session, survey_service.require_survey(session, slug))
    if fmt == "json":
        _echo_json(waves)
        return
    for wave in waves:
        click.echo(
            f"{wave['number']:>3}  {wave['status']:<7} {wave['responses']:>7} responses "
            f"{wave['invitations']:>7} invitations  {wave['opens_at'] or '-'} to "
            f"{wave['closes_at'] or '-'}  {wave['name']}"
        )


def _utc_option(name: str, raw: str | None) -> datetime | None:
    """The ISO 8601 date and time given to option `name`, in UTC (a time without an offset is
    UTC); refuses (ServiceError naming the option) anything else."""
    if raw is None or not raw.strip():
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ServiceError(f"{name}: {raw!r} is not an ISO 8601 date and time") from None
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@waves_group.command("start")
@click.argument("slug")
@click.option("--name", default=None, help='What to call it, e.g. "2026/27 rotation 1".')
@click.option("--opens", default=None, help="ISO 8601 opening time (UTC unless an offset).")
@click.option("--closes", default=None, help="ISO 8601 closing time (UTC unless an offset).")
@with_appcontext
@_fails_cleanly
def waves_start(slug: str, name: str | None, opens: str | None, closes: str | None) -> None:
    """Start SLUG's next wave once its current wave is closed; it waits as a draft to be
    opened (`surveys open`) or for its opening time."""
    session = get_session()
    survey = survey_service.require_survey(session, slug)
    wave = survey_service.start_wave(
        session, survey, name, _utc_option("--opens", opens), _utc_option("--closes", closes)
    )
    opening = (
        f"opens by itself at {wave.opens_at:%Y-%m-%d %H:%M} UTC"
        if wave.opens_at
        else f"a draft until `survey-app surveys open {slug}`"
    )
    click.echo(f"{slug}: started wave {wave.number}, {wave.name}; {opening}")


# --- invitations, responses, users ------------------------------------------------------------


@click.group("invitations")
def invitations_group() -> None:
    """Single-use invitation links."""


@invitations_group.command("create")
@click.argument("slug")
@click.option("--org", "org_code", required=True, help="Code of the organisation invited.")
@click.option("--count", type=int, required=True, help="How many invitations.")
@click.option("--format", "fmt", type=click.Choice(["csv"]), default="csv")
@with_appcontext
@_fails_cleanly
def invitations_create(slug: str, org_code: str, count: int, fmt: str) -> None:
    """Create COUNT single-use invitations; prints CSV `token,url` (the only copy of tokens)."""
    session = get_session()
    survey = survey_service.require_survey(session, slug)
    organisation = org_service.organisation_by_code(session, org_code)
    if organisation is None:
        raise ServiceError(f"--org: no organisation has code {org_code!r}")
    issued = invitation_service.create_invitation_links(
        session, survey, organisation, count, current_app.config["PUBLIC_URL"]
    )
    click.echo("token,url")
    for invitation in issued:
        click.echo(f"{invitation.token},{invitation.url}")


@invitations_group.command("import")
@click.argument("slug")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@with_appcontext
@_fails_cleanly
def invitations_import(slug: str, file: Path) -> None:
    """Invite the learners of a CSV `email,org_code` to the survey's current wave; all or
    nothing. Sends nothing: `invitations send` does."""
    session = get_session()
    survey = survey_service.require_survey(session, slug)
    invited = invitation_service.invite_learners(
        session,
        survey,
        _read_import(file),
        str(file),
        max_rows=current_app.config["MAX_IMPORT_ROWS"],
    )
    click.echo(f"{file}: invited {invited} learners to {survey.current_wave.label}")


@invitations_group.command("send")
@click.argument("slug")
@with_appcontext
@_fails_cleanly
def invitations_send(slug: str) -> None:
    """Email each learner invited to the survey's current wave and not yet sent their
    invitation, with their own link."""
    _send_mail(slug, reminders=False)


@invitations_group.command("remind")
@click.argument("slug")
@with_appcontext
@_fails_cleanly
def invitations_remind(slug: str) -> None:
    """Remind each learner sent an invitation to the current wave who has not answered,
    at most once in 24 hours; never one who has answered."""
    _send_mail(slug, reminders=True)


def _send_mail(slug: str, reminders: bool) -> None:
    """Send a survey's invitations or reminders; print the counts (never an address).

    Refuses (ServiceError, exit status 1) to make links with a SECRET_KEY made up for this
    command, and reports a mail server failure the same way, with how many were sent first.
    """
    if not (os.environ.get("SECRET_KEY") or current_app.testing):
        raise ServiceError(
            "SECRET_KEY is not set: set it to the web server's, since the links emailed in "
            "invitations and reminders are made with it"
        )
    session = get_session()
    survey = survey_service.require_survey(session, slug)
    mailing = (
        invitation_service.send_reminders if reminders else invitation_service.send_invitations
    )
    report = mailing(
        session,
        survey,
        MailSettings.from_config(current_app.config),
        current_app.config["PUBLIC_URL"],
        current_app.config["SECRET_KEY"],
    )
    what = "reminder" if reminders else "invitation"
    if report.refused:
        click.echo(
            f"{len(report.refused)} addresses were refused by the mail server and not sent; "
            "send from the invitations page to see which",
            err=True,
        )
    if report.failure:
        raise ServiceError(f"{slug}: {report.stopped(what)}")
    click.echo(f"{slug}: sent {invitation_service.number_of(report.sent, what)}")


@click.command("import-responses")
@click.argument("slug")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--skip-invalid", is_flag=True, help="Store the valid rows, report the others.")
@click.option(
    "--wave", "wave_number", type=int, default=None, help="Wave number (default: the current)."
)
@with_appcontext
@_fails_cleanly
def import_responses(slug: str, file: Path, skip_invalid: bool, wave_number: int | None) -> None:
    """Import responses from CSV into the current wave, or the wave given (open or closed):
    all or nothing unless --skip-invalid."""
    session = get_session()
    survey = survey_service.require_survey(session, slug)
    report = response_service.import_responses(
        session,
        survey,
        _read_import(file),
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


@click.group("users")
def users_group() -> None:
    """Staff accounts."""


@users_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--scope", "scopes", multiple=True, help="Organisation code a lead may see.")
@click.option(
    "--password-stdin", is_flag=True, required=True, help="Read the password from standard input."
)
@with_appcontext
@_fails_cleanly
def users_create(email: str, role: str, scopes: tuple[str, ...], password_stdin: bool) -> None:
    """Create a user; the password is read from standard input."""
    session = get_session()
    password = sys.stdin.readline().rstrip("\r\n")
    organisations = _scope_organisations(session, scopes)
    user = user_service.create_user(session, email, password, Role(role), organisations)
    click.echo(f"created {user.role.value} {user.email}")


def _scope_organisations(session: Any, codes: tuple[str, ...]) -> list[Any]:
    """The organisations named by --scope codes; refuses (ServiceError) an unknown code."""
    organisations = []
    for code in codes:
        organisation = org_service.organisation_by_code(session, code)
        if organisation is None:
            raise ServiceError(f"--scope: no organisation has code {code!r}")
        organisations.append(organisation)
    return organisations


def _require_user(session: Any, email: str) -> Any:
    user = user_service.user_by_email(session, email)
    if user is None:
        raise ServiceError(f"no user has the email {email!r}")
    return user


@users_group.command("set-access")
@click.argument("email")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--scope", "scopes", multiple=True, help="Organisation code a lead may see.")
@with_appcontext
@_fails_cleanly
def users_set_access(email: str, role: str, scopes: tuple[str, ...]) -> None:
    """Give a user a role and exactly the scopes named (replacing the ones they had)."""
    session = get_session()
    user = _require_user(session, email)
    user_service.change_access(session, user, Role(role), _scope_organisations(session, scopes))
    click.echo(f"{user.email}: {role}" + (f" of {', '.join(scopes)}" if scopes else ""))


@users_group.command("deactivate")
@click.argument("email")
@with_appcontext
@_fails_cleanly
def users_deactivate(email: str) -> None:
    """Stop a user signing in; a session they have open ends at its next request."""
    session = get_session()
    user = user_service.deactivate_user(session, _require_user(session, email))
    click.echo(f"{user.email}: deactivated")


# --- data protection and the audit log --------------------------------------------------------


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
@click.option("--survey", "slug", default=None, help="Only this survey (default: every survey).")
@with_appcontext
@_fails_cleanly
def purge(dry_run: bool, slug: str | None) -> None:
    """Delete the responses older than their survey's retention period, with their answers
    and the invitations used before then; all in one transaction. Then forget the invitees'
    addresses of every wave closed by now."""
    session = get_session()
    now = response_service.utcnow()
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
        retention_service.forget_cached_reports(Path(current_app.config["REPORT_CACHE_DIR"]))
    only = survey_service.require_survey(session, slug) if slug else None
    addresses = survey_service.forget_closed_wave_addresses(session, now, only, dry_run=dry_run)
    click.echo(
        f"{'would forget' if dry_run else 'forgot'} {addresses} invitee addresses of closed waves"
    )


@click.group("responses")
def responses_group() -> None:
    """Stored responses: finding one, and deleting it on request."""


@responses_group.command("list")
@click.argument("slug")
@click.option("--org", "org_code", default=None, help="Only responses about this organisation.")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text")
@with_appcontext
@_fails_cleanly
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
        _echo_json([response.as_dict() for response in found])
        return
    for response in found:
        click.echo(_describe_response(response))


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
@_fails_cleanly
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
    retention_service.forget_cached_reports(Path(current_app.config["REPORT_CACHE_DIR"]))
    click.echo(f"deleted response {response_id} and its {found.answers} answers")


@click.group("audit")
def audit_group() -> None:
    """The audit log of sign-ins, reports read, imports and changes."""


@audit_group.command("list")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--action", default=None, help="Only this action, e.g. sign-in-failed.")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text")
@with_appcontext
@_fails_cleanly
def audit_list(limit: int, action: str | None, fmt: str) -> None:
    """The newest audit events first."""
    events = audit_service.list_events(
        get_session(), audit_service.parse_action(action), limit=limit
    )
    if fmt == "json":
        _echo_json([audit_service.event_as_dict(event) for event in events])
        return
    for event in events:
        click.echo(
            f"{event.occurred_at:%Y-%m-%d %H:%M:%S}Z  {event.action:<22} {event.actor:<30} "
            f"{event.target}  {audit_service.describe_details(event.details)}"
            + (f"  from {event.remote_addr}" if event.remote_addr else "")
        )


# --- demo -------------------------------------------------------------------------------------


@click.command("demo")
@with_appcontext
@_fails_cleanly
def demo() -> None:
    """Fill an empty database with realistic demo data; prints the demo logins."""
    from survey_app.services.demo import build_demo

    upgrade(get_engine())
    summary = build_demo(get_session())
    for line in summary.lines():
        click.echo(line)


@click.command("setup-demo")
@with_appcontext
@_fails_cleanly
def setup_demo() -> None:
    """What `make run` does before serving: schema, and the demo on an empty database."""
    from survey_app.services.demo import DEMO_USERS, build_demo, database_is_empty, login_lines

    upgrade(get_engine())
    session = get_session()
    if database_is_empty(session):
        lines = build_demo(session).lines()
    else:
        lines = [
            "The database already holds data; the demo was not rebuilt.",
            *login_lines(DEMO_USERS),
        ]
    for line in lines:
        click.echo(line)
    click.echo("Placement survey (open link): http://127.0.0.1:5000/s/placement-quality")
    issued = _demo_invitation(session)
    if issued:
        click.echo(f"ICB leader survey, a fresh single-use invitation: {issued}")


def _demo_invitation(session: Any) -> str | None:
    survey = survey_service.survey_by_slug(session, "icb-leaders")
    organisation = org_service.organisation_by_code(session, "QKS")
    if survey is None or organisation is None:
        return None
    issued = invitation_service.create_invitations(
        session, survey, organisation, 1, current_app.config["PUBLIC_URL"]
    )
    return issued[0].url


# --- reports ---------------------------------------------------------------------------------


@click.group("report")
def report_group() -> None:
    """Statistics and PDF reports."""


WAVE_HELP = "Wave number (default: the latest wave that has opened or has responses)."


def _summary(
    slug: str, scope_code: str | None, by: str | None, wave_number: int | None
) -> dict[str, Any]:
    return _report(slug, scope_code, by, wave_number)[2]


def _report(
    slug: str, scope_code: str | None, by: str | None, wave_number: int | None
) -> tuple[Any, Any, dict]:
    """The survey, scope and summary named on the command line, of the wave numbered
    `wave_number` (default: the latest wave that has opened or has responses)."""
    from reports.data import load_summary, report_wave

    session = get_session()
    survey = survey_service.require_survey(session, slug)
    scope = None
    if scope_code:
        scope = org_service.organisation_by_code(session, scope_code)
        if scope is None:
            raise ServiceError(f"--scope: no organisation has code {scope_code!r}")
    wave = report_wave(session, survey, wave_number)
    summary = load_summary(
        session, survey, scope, by, current_app.config["SUPPRESSION_MIN_N"], wave
    )
    return survey, scope, summary


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
@_fails_cleanly
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

    summary = _summary(slug, scope_code, by, wave_number)
    if fmt == "json":
        content: str | bytes = json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False)
    elif fmt == "csv":
        content = summary_to_csv(summary)
    else:
        content = summary_to_xlsx(summary)
    _write_output(content, output)
    _record_export(slug, scope_code, by, fmt, output, summary)


@report_group.command("pdf")
@click.argument("slug")
@click.option("--by", default=None)
@click.option("--scope", "scope_code", default=None)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--wave", "wave_number", type=int, default=None, help=WAVE_HELP)
@with_appcontext
@_fails_cleanly
def report_pdf(
    slug: str, by: str | None, scope_code: str | None, output: Path, wave_number: int | None
) -> None:
    """The PDF report of a survey's wave."""
    from reports.pdf import render_report_pdf
    from reports.pdf_sandbox import ReportRenderingError, prepare_renderer
    from reports.report_inputs import load_report_inputs
    from survey_app import __version__

    # The rendering server imports WeasyPrint (about half a second) while the summary is read.
    prepare_renderer()
    survey, scope, summary = _report(slug, scope_code, by, wave_number)
    inputs = load_report_inputs(get_session(), survey, scope, summary)
    try:
        pdf = render_report_pdf(
            summary, response_service.utcnow(), __version__, **inputs.as_kwargs()
        )
    except ReportRenderingError as exc:
        raise ServiceError(f"the report could not be rendered: {exc}") from None
    _write_output(pdf, output)
    _record_export(slug, scope_code, by, "pdf", output, summary)


def _record_export(
    slug: str,
    scope_code: str | None,
    by: str | None,
    fmt: str,
    output: Path | None,
    summary: dict[str, Any],
) -> None:
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
            "wave": summary["wave"]["number"],
        },
    )
    session.commit()


# --- wiring -----------------------------------------------------------------------------------

COMMANDS = [
    db_group,
    load_reference,
    orgs_group,
    surveys_group,
    waves_group,
    invitations_group,
    import_responses,
    users_group,
    responses_group,
    purge,
    audit_group,
    demo,
    setup_demo,
    report_group,
]


def init_app(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)


def main() -> None:
    """The `survey-app` console script: the same commands as `flask --app wsgi`."""
    from survey_app import create_app

    cli = FlaskGroup(
        create_app=lambda: create_app(command_line=True),
        add_default_commands=False,
        add_version_option=False,
        load_dotenv=False,
        set_debug_flag=False,
        help="Placement-quality and ICB leader surveys: data, surveys and reports.",
    )
    cli.main(prog_name="survey-app")
