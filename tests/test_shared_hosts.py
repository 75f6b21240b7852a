"""Several hosts, one truth: two applications on one database (and one Redis) stand for two
hosts behind a load balancer. What one host does with a sign-in, a sign-out or a rate limit
holds on the other.

The Redis tests use TEST_REDIS_URL (default redis://127.0.0.1:6379/15), whose database they
empty; they are skipped, with the reason, where no Redis answers there (CI has one).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from survey_app import config as settings
from survey_app import create_app
from survey_app.models import User
from survey_app.services.users import deactivate_user, reactivate_user
from tests.conftest import STAFF_PASSWORD, csrf_token
from tests.test_staff import LEAD, lead, placement_data

__all__ = ["lead", "placement_data"]  # fixtures these tests use

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
