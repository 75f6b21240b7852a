"""Commands for invitation links and the emails that carry them."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from survey_app.cli.common import fails_cleanly, read_import
from survey_app.db import get_session
from survey_app.services import ServiceError
from survey_app.services import invitations as invitation_service
from survey_app.services import mailing as mailing_service
from survey_app.services import organisations as org_service
from survey_app.services import surveys as survey_service
from survey_app.services.mail import MailSettings

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
@fails_cleanly
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
@fails_cleanly
def invitations_import(slug: str, file: Path) -> None:
    """Invite the learners of a CSV `email,org_code` to the survey's current wave; all or
    nothing. Sends nothing: `invitations send` does."""
    session = get_session()
    survey = survey_service.require_survey(session, slug)
    invited = invitation_service.invite_learners(
        session,
        survey,
        read_import(file),
        str(file),
        max_rows=current_app.config["MAX_IMPORT_ROWS"],
    )
    click.echo(f"{file}: invited {invited} learners to {survey.current_wave.label}")


@invitations_group.command("send")
@click.argument("slug")
@with_appcontext
@fails_cleanly
def invitations_send(slug: str) -> None:
    """Email each learner invited to the survey's current wave and not yet sent their
    invitation, with their own link."""
    _send_mail(slug, reminders=False)


@invitations_group.command("remind")
@click.argument("slug")
@with_appcontext
@fails_cleanly
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
    mailing = mailing_service.send_reminders if reminders else mailing_service.send_invitations
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
    click.echo(f"{slug}: sent {mailing_service.number_of(report.sent, what)}")
