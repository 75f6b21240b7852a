"""The `survey-app` command line: each command a thin call into services or reports, one module
per group of commands.

Errors exit non-zero with a message on stderr naming the file, row, column or field at fault;
a command that fails changes nothing in the database.
"""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup

from survey_app.cli import invitations, reports, responses, setup, surveys, users, worker

COMMANDS = [
    setup.db_group,
    setup.load_reference,
    setup.orgs_group,
    surveys.surveys_group,
    surveys.waves_group,
    invitations.invitations_group,
    responses.import_responses,
    users.users_group,
    responses.responses_group,
    responses.purge,
    users.audit_group,
    setup.demo,
    setup.setup_demo,
    reports.report_group,
    worker.worker,
]


def init_app(app: Flask) -> None:
    """Register every command on `app`."""
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
