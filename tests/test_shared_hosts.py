"""Several hosts, one truth: two applications on one database (and one Redis) stand for two
hosts behind a load balancer. What one host does with a sign-in, a sign-out or a rate limit
holds on the other.

The Redis tests use TEST_REDIS_URL (default redis://127.0.0.1:6379/15), whose database they
empty; they are skipped, with the reason, where no Redis answers there (CI has one).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from survey_app import config as settings
from survey_app import create_app
from survey_app.models import User
from survey_app.services.users import deactivate_user, reactivate_user
from tests.conftest import STAFF_PASSWORD, csrf_token
from tests.test_staff import ADMIN, LEAD, admin, lead, placement_data

__all__ = ["admin", "lead", "placement_data"]  # fixtures these tests use

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SUMMARY = "/api/surveys/placement-quality/summary"


def redis_or_skip() -> Any:
    """A client of the test Redis, emptied; skips the test (saying why) when none answers."""
    import redis

    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"no Redis at {REDIS_URL} (set TEST_REDIS_URL): {exc}")
    connection.flushdb()
    return connection


@pytest.fixture
def redis_db() -> Iterator[Any]:
    connection = redis_or_skip()
    yield connection
    connection.flushdb()
    connection.close()


def make_host(database_url: str, redis_url: str | None = None, limits: bool = False) -> Flask:
    """Another application on `database_url`: another host."""
    config = settings.TestConfig(database_url)
    config.REDIS_URL = redis_url
    config.RATELIMIT_STORAGE_URI = redis_url or "memory://"
    config.RATELIMIT_ENABLED = limits
    return create_app(config)


@pytest.fixture
def second_host(database_url: str, app: Flask) -> Iterator[Flask]:
    other = make_host(database_url)
    yield other
    other.extensions["survey_app.engine"].dispose()


def signed_in(client: FlaskClient, email: str = LEAD) -> FlaskClient:
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={"email": email, "password": STAFF_PASSWORD, "csrf_token": csrf_token(page.text)},
    )
    assert answer.status_code == 303, answer.text
    return client


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    return cookie.value


def with_cookie(host: Flask, value: str) -> FlaskClient:
    """A client of `host` holding the session cookie `value`, as a copy of it would."""
    client = host.test_client()
    client.set_cookie("session", value)
    return client


def sign_out(client: FlaskClient) -> None:
    page = client.get("/reports")
    answer = client.post("/logout", data={"csrf_token": csrf_token(page.text)})
    assert answer.status_code == 303


# --- sessions: the database decides, whichever host is asked ------------------------------------


def test_a_cookie_saved_before_sign_out_reads_nothing_on_either_host(
    app: Flask, second_host: Flask, lead: Any, placement_data: None
) -> None:
    browser = signed_in(app.test_client())
    saved = session_cookie(browser)
    # Before sign-out the cookie works on both hosts: nothing is kept on the one that made it.
    assert with_cookie(second_host, saved).get(SUMMARY).status_code == 200
    assert with_cookie(app, saved).get(SUMMARY).status_code == 200
    sign_out(browser)
    for host in (app, second_host):
        answer = with_cookie(host, saved).get(SUMMARY)
        assert answer.status_code == 401
        assert "responses" not in answer.get_json()


def test_signing_out_on_one_host_ends_the_session_of_another_browser_on_the_other(
    app: Flask, second_host: Flask, lead: Any, placement_data: None
) -> None:
    laptop = signed_in(app.test_client())
    phone = signed_in(second_host.test_client())
    assert phone.get(SUMMARY).status_code == 200
    sign_out(laptop)
    assert phone.get(SUMMARY).status_code == 401
    assert phone.get("/reports").status_code == 302  # to the sign-in page
    # Signing in again starts a session that works on both hosts.
    again = session_cookie(signed_in(phone))
    assert with_cookie(app, again).get(SUMMARY).status_code == 200


def test_deactivation_ends_every_session_and_reactivation_revives_none(
    app: Flask, second_host: Flask, db_session: Session, lead: Any, placement_data: None
) -> None:
    saved = session_cookie(signed_in(app.test_client()))
    user = db_session.get(User, lead.id)
    assert user is not None
    deactivate_user(db_session, user)
    reactivate_user(db_session, user)
    # Active again, but the sessions from before the deactivation stay ended.
    for host in (app, second_host):
        assert with_cookie(host, saved).get(SUMMARY).status_code == 401
    fresh = session_cookie(signed_in(second_host.test_client()))
    assert with_cookie(app, fresh).get(SUMMARY).status_code == 200


# --- rate limits: counted in Redis, together ----------------------------------------------------


def _wrong_password(client: FlaskClient, attempt: int) -> int:
    token = csrf_token(client.get("/login").text)
    data = {"email": LEAD, "password": f"wrong guess {attempt}", "csrf_token": token}
    return client.post("/login", data=data).status_code


def test_failed_sign_ins_are_counted_together_across_hosts(
    database_url: str, app: Flask, lead: Any, redis_db: Any
) -> None:
    first = make_host(database_url, REDIS_URL, limits=True)
    first_statuses = [_wrong_password(first.test_client(), i) for i in range(6)]
    # The second host starts after the first's attempts with its own connection to the
    # store: it knows of them only through Redis (an in-memory count would start at zero).
    second = make_host(database_url, REDIS_URL, limits=True)
    second_statuses = [_wrong_password(second.test_client(), i) for i in range(6, 11)]
    assert first_statuses == [400] * 6
    assert second_statuses == [400] * 4 + [429]  # the 11th attempt of the 10 allowed
    assert any(b"account:" + LEAD.encode() in key for key in redis_db.keys("*"))
    right = first.test_client()
    token = csrf_token(right.get("/login").text)
    refused = right.post(
        "/login", data={"email": LEAD, "password": STAFF_PASSWORD, "csrf_token": token}
    )
    assert refused.status_code == 429 and "Too many attempts" in refused.text
    for host in (first, second):
        host.extensions["survey_app.engine"].dispose()


def test_without_redis_each_process_counts_in_memory(
    database_url: str, app: Flask, lead: Any
) -> None:
    """The default (no REDIS_URL): `make run`'s one process keeps its own counts."""
    host = make_host(database_url, None, limits=True)
    assert host.config["RATELIMIT_STORAGE_URI"] == "memory://"
    statuses = [_wrong_password(host.test_client(), i) for i in range(11)]
    assert statuses == [400] * 10 + [429]
    host.extensions["survey_app.engine"].dispose()


# --- PDF reports: rendered once, by a worker, stored where every host reads them -----------------

PDF = "/reports/placement-quality.pdf"


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the PDFs rendered in this process (web requests and the test's worker alike)."""
    import survey_app.reporting.report as report_module

    calls: list[int] = []
    real = report_module.render_report_pdf

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(report_module, "render_report_pdf", counting)
    return calls


def queued_jobs(connection: Any) -> int:
    from rq import Queue

    from survey_app.reporting.report_jobs import QUEUE_NAME

    return len(Queue(QUEUE_NAME, connection=connection).jobs)


def run_worker(host: Flask) -> None:
    """What `survey-app worker --burst` does on a host: render every queued report, then stop."""
    from rq import SimpleWorker

    from survey_app.reporting.report_jobs import redis_connection, report_queue

    with host.app_context():
        SimpleWorker([report_queue(host)], connection=redis_connection(host)).work(burst=True)


@pytest.fixture
def queued_hosts(database_url: str, app: Flask, redis_db: Any) -> Iterator[tuple[Flask, Flask]]:
    hosts = (make_host(database_url, REDIS_URL), make_host(database_url, REDIS_URL))
    yield hosts
    for host in hosts:
        host.extensions["survey_app.engine"].dispose()


def test_a_report_asked_for_on_one_host_is_rendered_by_a_worker_and_served_by_the_other(
    queued_hosts: tuple[Flask, Flask],
    redis_db: Any,
    lead: Any,
    placement_data: None,
    renders: list[int],
) -> None:
    first, second = queued_hosts
    browser = signed_in(first.test_client())
    asked = browser.get(PDF)
    assert asked.status_code == 303
    progress = asked.headers["Location"]
    assert "/reports/placement-quality/progress" in progress
    waiting = browser.get(progress)
    assert waiting.status_code == 200 and "Preparing your report" in waiting.text
    assert 'href="/reports/placement-quality/progress' in waiting.text  # "check now", no script
    # The web request rendered nothing: it queued one job.
    assert renders == [] and queued_jobs(redis_db) == 1
    # Asked again on the other host before the worker ran: the same render, not a second.
    elsewhere = with_cookie(second, session_cookie(browser))
    assert elsewhere.get(PDF).status_code == 303
    assert queued_jobs(redis_db) == 1

    run_worker(first)

    assert renders == [1] and queued_jobs(redis_db) == 0
    ready = elsewhere.get(progress)
    assert "Your report is ready" in ready.text
    pdf = elsewhere.get(PDF)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"] == 'attachment; filename="placement-quality-H-EK.pdf"'
    assert browser.get(PDF).data == pdf.data
    assert renders == [1]  # served from the database on both hosts


def test_each_person_may_have_two_reports_being_prepared_at_once(
    queued_hosts: tuple[Flask, Flask],
    redis_db: Any,
    lead: Any,
    admin: Any,
    placement_data: None,
    renders: list[int],
) -> None:
    first, second = queued_hosts
    browser = signed_in(first.test_client())
    assert browser.get(PDF).status_code == 303
    assert with_cookie(second, session_cookie(browser)).get(f"{PDF}?by=pcn").status_code == 303
    refused = browser.get(f"{PDF}?by=practice")
    assert refused.status_code == 429
    assert "You already have 2 reports being prepared" in refused.text
    assert re.search(r'href="/reports/placement-quality.pdf\?[^"]*by=practice', refused.text)
    assert queued_jobs(redis_db) == 2
    # Someone else is not held up by it.
    other = signed_in(second.test_client(), ADMIN)
    assert other.get(f"{PDF}?by=icb").status_code == 303
    assert queued_jobs(redis_db) == 3
    run_worker(second)
    assert len(renders) == 3
    # Once the worker has made them, the lead may ask for another.
    assert browser.get(f"{PDF}?by=practice").status_code == 303


def test_without_redis_a_report_rendered_by_one_host_is_served_by_another(
    app: Flask,
    second_host: Flask,
    db_session: Session,
    lead: Any,
    placement_data: None,
    renders: list[int],
) -> None:
    """`make run`'s way, with no queue: a small report is rendered in the request, and kept in
    the database, where another process or host finds it."""
    from survey_app.models import StoredReport

    first = signed_in(app.test_client())
    pdf = first.get(PDF)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and renders == [1]
    [stored] = db_session.exec(select(StoredReport)).all()
    assert (stored.status, stored.size) == ("ready", len(pdf.data))
    again = with_cookie(second_host, session_cookie(first)).get(PDF)
    assert again.data == pdf.data and renders == [1]


def test_a_report_over_the_size_limit_is_not_kept_and_the_page_says_why(
    queued_hosts: tuple[Flask, Flask], redis_db: Any, lead: Any, placement_data: None
) -> None:
    first, _second = queued_hosts
    first.config["REPORT_MAX_BYTES"] = 10_000  # smaller than any report
    browser = signed_in(first.test_client())
    progress = browser.get(PDF).headers["Location"]
    run_worker(first)
    page = browser.get(progress)
    assert "The report could not be made" in page.text
    assert "over the 0.0 MB a stored report may be (REPORT_MAX_BYTES)" in page.text
    # "Try again" queues it afresh.
    assert browser.get(PDF).status_code == 303 and queued_jobs(redis_db) == 1


def test_stored_reports_are_deleted_once_they_are_older_than_kept(db_session: Session) -> None:
    from survey_app.reporting.report_store import read_report, store_report, utcnow

    keep = timedelta(hours=24)
    then = utcnow() - timedelta(hours=25)
    store_report(db_session, "a" * 64, b"%PDF old", max_bytes=10**6, keep=keep, now=then)
    store_report(db_session, "b" * 64, b"%PDF new", max_bytes=10**6, keep=keep)
    assert read_report(db_session, "a" * 64) is None
    assert read_report(db_session, "b" * 64) == b"%PDF new"


# --- the REDIS_URL setting ---------------------------------------------------------------------


def test_redis_url_carries_the_rate_limits_unless_their_store_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    alone = settings.Config()
    assert (alone.REDIS_URL, alone.RATELIMIT_STORAGE_URI) == (None, "memory://")
    monkeypatch.setenv("REDIS_URL", "redis://redis.internal:6379/2")
    shared = settings.Config()
    assert shared.REDIS_URL == "redis://redis.internal:6379/2"
    assert shared.RATELIMIT_STORAGE_URI == "redis://redis.internal:6379/2"
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://limits.internal:6379/0")
    assert settings.Config().RATELIMIT_STORAGE_URI == "redis://limits.internal:6379/0"


def test_a_redis_url_that_is_not_one_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis.internal:6379")
    with pytest.raises(settings.ConfigError, match=r"REDIS_URL must start with redis://"):
        settings.Config()


def test_the_worker_command_needs_redis_and_says_so(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output
