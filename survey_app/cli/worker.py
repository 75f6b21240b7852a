"""`survey-app worker`: renders the PDF reports the web servers put on the Redis queue."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from rq import SimpleWorker

from reports.pdf_sandbox import prepare_renderer
from survey_app.cli.common import fails_cleanly
from survey_app.reporting.report_jobs import redis_connection, report_queue
from survey_app.services import ServiceError


@click.command("worker")
@click.option("--burst", is_flag=True, help="Render what is queued, then stop.")
@with_appcontext
@fails_cleanly
def worker(burst: bool) -> None:
    """Render queued PDF reports, one at a time, until stopped (start one per report that a
    host should render at once). Needs REDIS_URL and the web servers' DATABASE_URL."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["REDIS_URL"] is None:
        raise ServiceError(
            "REDIS_URL is not set: without Redis the web server renders reports itself, and "
            "there is no queue to work on"
        )
    # Jobs run in this process (no fork per job): the rendering server it keeps warm makes
    # each report's child, which carries the memory and time limits.
    prepare_renderer()
    SimpleWorker([report_queue(app)], connection=redis_connection(app)).work(burst=burst)
