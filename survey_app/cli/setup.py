"""Commands that set a database up: the schema, reference data, organisations, the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from survey_app.cli.common import fails_cleanly, read_import
from survey_app.db import get_engine, get_session
from survey_app.migrations.runner import upgrade
from survey_app.services import invitations as invitation_service
from survey_app.services import organisations as org_service
from survey_app.services import surveys as survey_service

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
@fails_cleanly
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
@fails_cleanly
def orgs_import(file: Path) -> None:
    """Create or update organisations from a CSV with header code,name,level,parent_code, or
    practices from a practice list of the NHS Organisation Data Service (columns by header)."""
    counts = org_service.import_organisation_file(
        get_session(),
        read_import(file),
        str(file),
        max_rows=current_app.config["MAX_IMPORT_ROWS"],
    )
    skipped = f", {counts.skipped} closed practices left out" if counts.skipped else ""
    click.echo(
        f"{file}: {counts.created} created, {counts.updated} updated, "
        f"{counts.unchanged} unchanged{skipped}"
    )


# --- demo -------------------------------------------------------------------------------------


@click.command("demo")
@with_appcontext
@fails_cleanly
def demo() -> None:
    """Fill an empty database with realistic demo data; prints the demo logins."""
    from survey_app.demo import build_demo

    upgrade(get_engine())
    summary = build_demo(get_session())
    for line in summary.lines():
        click.echo(line)


@click.command("setup-demo")
@with_appcontext
@fails_cleanly
def setup_demo() -> None:
    """What `make run` does before serving: schema, and the demo on an empty database."""
    from survey_app.demo import DEMO_USERS, build_demo, database_is_empty, login_lines

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
