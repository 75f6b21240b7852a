"""Commands for survey definitions, their status and their waves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from survey_app.cli.common import echo_json, fails_cleanly
from survey_app.db import get_session
from survey_app.definitions import shipped_definition_paths
from survey_app.services import ServiceError
from survey_app.services import definitions as definition_service
from survey_app.services import retention as retention_service
from survey_app.services import surveys as survey_service
from survey_app.services import waves as wave_service

# --- surveys ----------------------------------------------------------------------------------


@click.group("surveys")
def surveys_group() -> None:
    """Survey definitions and their status."""


@surveys_group.command("load")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@with_appcontext
@fails_cleanly
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
    for result in definition_service.load_definition_files(get_session(), paths):
        click.echo(f"{result.slug}: {'loaded' if result.changed else 'unchanged'}")


@surveys_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text")
@with_appcontext
def surveys_list(fmt: str) -> None:
    """Every survey with its status and number of responses."""
    surveys = survey_service.list_surveys(get_session())
    if fmt == "json":
        echo_json(surveys)
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
@fails_cleanly
def surveys_show(slug: str, fmt: str) -> None:
    """The definition as loaded."""
    echo_json(survey_service.survey_as_dict(survey_service.require_survey(get_session(), slug)))


def _change_status(slug: str, change: Callable[..., Any], verb: str) -> None:
    session = get_session()
    survey = change(session, survey_service.require_survey(session, slug))
    wave = survey.current_wave
    click.echo(f"{slug}: {verb} (wave {wave.number}, {wave.name})")


@surveys_group.command("open")
@click.argument("slug")
@with_appcontext
@fails_cleanly
def surveys_open(slug: str) -> None:
    """Open a survey's current wave for responses."""
    _change_status(slug, wave_service.open_survey, "open")


@surveys_group.command("close")
@click.argument("slug")
@with_appcontext
@fails_cleanly
def surveys_close(slug: str) -> None:
    """Close a survey's current wave: it takes no more responses, and its invitations'
    addresses are forgotten."""
    _change_status(slug, wave_service.close_survey, "closed")


@surveys_group.command("retention")
@click.argument("slug")
@click.argument("days")
@with_appcontext
@fails_cleanly
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
@fails_cleanly
def waves_list(slug: str, fmt: str) -> None:
    """Every wave of SLUG with its status, dates and numbers of responses and invitations."""
    session = get_session()
    waves = wave_service.list_waves(session, survey_service.require_survey(session, slug))
    if fmt == "json":
        echo_json(waves)
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
@fails_cleanly
def waves_start(slug: str, name: str | None, opens: str | None, closes: str | None) -> None:
    """Start SLUG's next wave once its current wave is closed; it waits as a draft to be
    opened (`surveys open`) or for its opening time."""
    session = get_session()
    survey = survey_service.require_survey(session, slug)
    wave = wave_service.start_wave(
        session, survey, name, _utc_option("--opens", opens), _utc_option("--closes", closes)
    )
    opening = (
        f"opens by itself at {wave.opens_at:%Y-%m-%d %H:%M} UTC"
        if wave.opens_at
        else f"a draft until `survey-app surveys open {slug}`"
    )
    click.echo(f"{slug}: started wave {wave.number}, {wave.name}; {opening}")
