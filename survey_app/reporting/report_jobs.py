"""Rendering PDF reports away from the web request: on the Redis queue when `REDIS_URL` is set
(a `survey-app worker` on any host takes the job), else on one background thread per process,
as `make run` does.

A job carries what the report is of (survey, scope, grouping, wave, suppression threshold),
never the data: the worker reads the summary itself, renders it and stores the PDF in the
database (`report_store`) under the name of the data it read, so any host serves it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app
from redis import Redis
from rq import Queue
from sqlalchemy import Engine, delete
from sqlmodel import Session, col

from reports.pdf import data_fingerprint
from survey_app.config import VERSION
from survey_app.db import get_engine
from survey_app.models import StoredReport
from survey_app.reporting.report import (
    WaveSummary,
    build_summary,
    render_report,
    report_from_summary,
)
from survey_app.reporting.report_store import mark_failed, report_key, store_report
from survey_app.reporting.scope import figures_as_of, report_wave
from survey_app.services.organisations import organisation_by_code
from survey_app.services.surveys import survey_by_slug

#: The Redis queue reports wait in for a worker.
QUEUE_NAME = "reports"
#: Without Redis: one render at a time per process (CPU-bound, in a child process), so more
#: at once would only slow each down.
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report")
_log = logging.getLogger(__name__)
#: What the person waiting is told when rendering failed (the log has the details).
RENDER_FAILED = "Something went wrong while building it."


@dataclass(frozen=True, slots=True)
class ReportOrder:
    """What a report is of, as the web request resolved and checked it: the worker renders
    exactly this, for the user who asked."""

    key: str
    slug: str
    scope_code: str | None
    by: str | None
    wave_number: int
    min_n: int
    user_id: int | None


def key_of(asked: WaveSummary) -> str:
    """The stored name of the PDF of `asked`."""
    wave = {"number": asked.wave.number, "name": asked.wave.name}
    return report_key(
        data_fingerprint(asked.summary),
        asked.survey.slug,
        asked.scope_code,
        asked.by,
        VERSION,
        wave,
        figures_as_of(asked.wave),
    )


def order_for(asked: WaveSummary, min_n: int, user_id: int | None) -> ReportOrder:
    """The order to render `asked`'s PDF."""
    return ReportOrder(
        key_of(asked),
        asked.survey.slug,
        asked.scope_code,
        asked.by,
        asked.wave.number,
        min_n,
        user_id,
    )


def redis_connection(app: Flask) -> Redis:
    """`app`'s connection to the Redis of `REDIS_URL` (made once per application)."""
    connection = app.extensions.get("survey_app.redis")
    if connection is None:
        connection = Redis.from_url(app.config["REDIS_URL"])
        app.extensions["survey_app.redis"] = connection
    return connection


def report_queue(app: Flask) -> Queue:
    """The queue report orders wait in."""
    return Queue(QUEUE_NAME, connection=redis_connection(app))


def keep_for(app: Flask) -> timedelta:
    return timedelta(hours=app.config["REPORT_KEEP_HOURS"])


def enqueue(app: Flask, order: ReportOrder) -> None:
    """Put `order` on the queue for a worker. Raises redis's ConnectionError when Redis is
    unreachable."""
    report_queue(app).enqueue(
        run_report_job,
        asdict(order),
        job_timeout=app.config["REPORT_JOB_TIMEOUT"],
        result_ttl=0,
        failure_ttl=24 * 3600,
        description=f"PDF report {order.slug} scope={order.scope_code} by={order.by}",
    )


def render_in_process(app: Flask, key: str, render: Callable[[], bytes]) -> None:
    """Without Redis: render with `render` on this process's background thread and store it."""
    engine = get_engine()
    limits = (app.config["REPORT_MAX_BYTES"], keep_for(app))
    _executor.submit(_render_and_store, engine, key, render, limits, app.logger)


def _render_and_store(
    engine: Engine,
    key: str,
    render: Callable[[], bytes],
    limits: tuple[int, timedelta],
    logger: logging.Logger,
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        try:
            pdf = render()
        except Exception:  # logged; whoever waits for it is told it failed
            logger.exception("report %s could not be rendered", key)
            mark_failed(session, key, RENDER_FAILED)
            return
        store_report(session, key, pdf, max_bytes=limits[0], keep=limits[1])


def run_report_job(order: dict[str, Any]) -> str:
    """The queue's job, run by `survey-app worker` (inside its application context): render
    and store the report `order` (a `ReportOrder` as a dict) describes. Returns the key it
    was stored under: the order's, or a new one if responses arrived since it was placed (the
    newer report is the one the pages now ask for)."""
    asked = ReportOrder(**order)
    app = current_app
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            summary = _summary(session, asked)
            report = report_from_summary(session, summary)
            pdf = render_report(report, datetime.now(UTC), VERSION, fmt="pdf")
        except Exception:
            _log.exception("report %s could not be rendered", asked.key)
            mark_failed(session, asked.key, RENDER_FAILED)
            raise
        key = key_of(summary)
        store_report(
            session, key, pdf, max_bytes=app.config["REPORT_MAX_BYTES"], keep=keep_for(app)
        )
        if key != asked.key:
            session.execute(delete(StoredReport).where(col(StoredReport.key) == asked.key))
            session.commit()
        return key


def _summary(session: Session, order: ReportOrder) -> WaveSummary:
    survey = survey_by_slug(session, order.slug)
    if survey is None:
        raise LookupError(f"no survey has the slug {order.slug!r} any more")
    scope = None
    if order.scope_code is not None:
        scope = organisation_by_code(session, order.scope_code)
        if scope is None:
            raise LookupError(f"no organisation has the code {order.scope_code!r} any more")
    wave = report_wave(session, survey, order.wave_number)
    return build_summary(session, survey, scope, by=order.by, wave=wave, min_n=order.min_n)
