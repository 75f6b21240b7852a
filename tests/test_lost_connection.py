"""A submission that meets a lost connection, or SQLite's "database is locked", is stored
exactly once or answered 503 with the answers given back; sending the same page again never
stores a second response.

The faults are the database's own: on PostgreSQL the server ends this request's connection
(pg_terminate_backend) or the reply to COMMIT is lost after the server committed; on SQLite
the write meets the lock of another writer.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from survey_app.db import database_unavailable
from survey_app.models import Answer, Organisation, Question, Response, Survey
from survey_app.services.invitations import create_invitations
from tests.conftest import POSTGRES_URL, count_responses, count_submissions, release_held
from tests.test_respond import PLACEMENT, placement_answers

SAVED_NOTHING = "Your answers may not have been saved"
SERVICE_PROBLEM = "Sorry, there is a problem with the service"
#: The questions `placement_answers` answers.
ANSWERED = {"profession", "stage", "length", "ind_welcome", "sup_named", "overall", "worked_well"}


def hidden_field(html: str, name: str) -> str:
    """The value of the hidden field `name` in a page."""
    match = re.search(rf'name="{name}" type="hidden" value="([^"]+)"', html)
    assert match, f"the page has no hidden field {name}"
    return match.group(1)


def page_answers(client: FlaskClient, url: str = PLACEMENT, **overrides: str) -> dict[str, Any]:
    """A complete placement submission as a browser sends it from one form page: its CSRF
    token and its submission key."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    data = placement_answers(client, **overrides)
    data["csrf_token"] = hidden_field(page.text, "csrf_token")
    data["submission_key"] = hidden_field(page.text, "submission_key")
    return data


class DatabaseFault:
    """Makes the next INSERT of a response, or the next COMMIT, fail as the database fails.

    PostgreSQL: the server ends the request's connection (as a restart or a network fault
    does), or, with `after_commit`, commits and then the connection dies before the reply
    arrives. SQLite: another writer holds the lock ("database is locked"); with `after_commit`
    the commit is made and an I/O error follows.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.fired = 0

    def _fail(self, dbapi_connection: Any) -> None:
        self.fired += 1
        if not self.postgres:
            raise sqlite3.OperationalError("database is locked")
        dbapi_connection = _driver_connection(dbapi_connection)
        with psycopg.connect(POSTGRES_URL, autocommit=True) as other:  # type: ignore[arg-type]
            other.execute(
                "SELECT pg_terminate_backend(%s, 5000)", [dbapi_connection.info.backend_pid]
            )

    def at_flush(self, monkeypatch: pytest.MonkeyPatch, text_answer: str) -> None:
        """The INSERT of the answer `text_answer` fails, after the response's own row (and
        perhaps other answers) were inserted: raised where the driver's cursor runs it, so
        SQLAlchemy meets it as it meets a real fault."""
        dialect = self.engine.dialect
        for method in ("do_execute", "do_executemany"):
            run = getattr(dialect, method)

            def failing(
                cursor: Any, statement: str, parameters: Any, *rest: Any, run: Any = run
            ) -> Any:
                inserting = statement.startswith("INSERT INTO answer")
                if inserting and text_answer in str(parameters) and not self.fired:
                    self._fail(cursor.connection)
                return run(cursor, statement, parameters, *rest)

            monkeypatch.setattr(dialect, method, failing)

    def everywhere(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Every statement fails, where the driver's cursor runs it, as when the database is
        down (PostgreSQL: the connection is refused) or locked for good (SQLite)."""

        def unreachable(*_: Any) -> None:
            if self.postgres:
                raise psycopg.OperationalError("connection refused")
            raise sqlite3.OperationalError("database is locked")

        for method in ("do_execute", "do_executemany", "do_execute_no_params"):
            monkeypatch.setattr(self.engine.dialect, method, unreachable)

    def at_commit(self, monkeypatch: pytest.MonkeyPatch, after_commit: bool) -> None:
        """The next COMMIT fails: before the server commits, or after (`after_commit`)."""
        commit = self.engine.dialect.do_commit

        def failing_commit(dbapi_connection: Any) -> None:
            if self.fired:
                commit(dbapi_connection)
                return
            if not after_commit:
                self._fail(dbapi_connection)
            commit(dbapi_connection)
            if after_commit:
                self.fired += 1
                if self.postgres:
                    _driver_connection(dbapi_connection).close()  # the reply never arrives
                    raise psycopg.OperationalError("server closed the connection unexpectedly")
                raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(self.engine.dialect, "do_commit", failing_commit)

    def at_rollback(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The next ROLLBACK fails: the connection is lost once the request has read all it
        needed, as its session is closed."""
        rollback = self.engine.dialect.do_rollback

        def failing_rollback(dbapi_connection: Any) -> None:
            if not self.fired:
                self._fail(dbapi_connection)
            rollback(dbapi_connection)

        monkeypatch.setattr(self.engine.dialect, "do_rollback", failing_rollback)


def _driver_connection(connection: Any) -> Any:
    """psycopg's own connection, under the pool's proxy that the dialect is handed."""
    return getattr(connection, "dbapi_connection", connection)


@pytest.fixture
def fault(app: Flask) -> DatabaseFault:
    """Faults on this test's engine (made for this test, so they end with it)."""
    return DatabaseFault(app.extensions["survey_app.engine"])


def stored_codes(db_session: Session) -> list[set[str]]:
    """For each stored response, the codes of the questions it has answers to."""
    db_session.expire_all()
    rows = db_session.exec(select(Answer.response_id, Question.code).join(Question)).all()
    by_response: dict[int, set[str]] = {}
    for response_id, code in rows:
        by_response.setdefault(response_id, set()).add(code)
    ids = db_session.exec(select(Response.id)).all()
    return [by_response.get(response_id, set()) for response_id in ids]


def send_again(client: FlaskClient, page: str, data: dict[str, Any]) -> Any:
    """Send the page given back (its key and token, the answers the respondent sent)."""
    again = dict(data)
    again["csrf_token"] = hidden_field(page, "csrf_token")
    again["submission_key"] = hidden_field(page, "submission_key")
    return client.post(PLACEMENT, data=again)


def assert_answers_given_back(response: Any, data: dict[str, Any]) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert SAVED_NOTHING in response.text
    assert data["worked_well"] in response.text
    assert hidden_field(response.text, "submission_key") == data["submission_key"]


def test_connection_lost_while_storing_answers_503_and_stores_nothing(
    client: FlaskClient,
    hubs: Any,
    db_session: Session,
    fault: DatabaseFault,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = page_answers(client)
    fault.at_flush(monkeypatch, data["worked_well"])
    failed = client.post(PLACEMENT, data=data)
    assert fault.fired == 1
    assert_answers_given_back(failed, data)
    assert count_responses(db_session) == 0  # the response's row went with its answers
    assert "database unavailable" in caplog.text
    assert data["worked_well"] not in caplog.text  # the log names the statement, not answers

    sent_again = send_again(client, failed.text, data)
    assert sent_again.status_code == 303
    assert stored_codes(db_session) == [ANSWERED]


@pytest.mark.parametrize("after_commit", [False, True], ids=["before-commit", "after-commit"])
def test_connection_lost_at_commit_stores_the_page_exactly_once(
    client: FlaskClient,
    hubs: Any,
    db_session: Session,
    fault: DatabaseFault,
    monkeypatch: pytest.MonkeyPatch,
    after_commit: bool,
) -> None:
    data = page_answers(client)
    fault.at_commit(monkeypatch, after_commit)
    failed = client.post(PLACEMENT, data=data)
    assert fault.fired == 1
    assert_answers_given_back(failed, data)
    # Whole or nothing: the commit either went through with every answer or not at all.
    assert stored_codes(db_session) == ([ANSWERED] if after_commit else [])

    # The respondent cannot know which: they send the page again, and again.
    for _ in range(2):
        sent_again = send_again(client, failed.text, data)
        assert sent_again.status_code == 303
        assert sent_again.headers["Location"].endswith("/s/placement-quality/thanks")
    assert stored_codes(db_session) == [ANSWERED]

    # A new page is a new response.
    assert client.post(PLACEMENT, data=page_answers(client)).status_code == 303
    assert count_responses(db_session) == 2


def test_used_invitation_sent_again_from_the_stored_page_is_thanked(
    client: FlaskClient,
    hubs: Any,
    db_session: Session,
    surveys: dict[str, Survey],
    fault: DatabaseFault,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    survey = surveys["placement-quality"]
    organisation = db_session.exec(select(Organisation).where(Organisation.code == "P-WK1")).one()
    token = create_invitations(db_session, survey, organisation, 1, "http://testserver")[0].token
    url = f"{PLACEMENT}/{token}"
    data = page_answers(client, url, organisation=None)
    fault.at_commit(monkeypatch, after_commit=True)
    failed = client.post(url, data=data)
    assert failed.status_code == 503
    # Stored (held until released with others), and the invitation marked used.
    assert count_submissions(db_session) == 1

    again = dict(data, csrf_token=hidden_field(failed.text, "csrf_token"))
    sent_again = client.post(url, data=again)
    assert sent_again.status_code == 303
    assert count_submissions(db_session) == 1
    # Anyone else using the link, or the same person with a new page, is told it is used.
    assert client.post(url, data=page_answers(client, PLACEMENT)).status_code == 410
    assert client.get(url).status_code == 410
    assert count_submissions(db_session) == 1
    # Released, it is one response.
    assert release_held(db_session) == 1 and count_responses(db_session) == 1


def test_page_sent_twice_at_once_stores_one_response(
    app: Flask, client: FlaskClient, hubs: Any, db_session: Session
) -> None:
    """A double click: the second sending's INSERT meets the first one's key, committed just
    before it, and is answered with the thank-you page."""
    data = page_answers(client)
    engine = app.extensions["survey_app.engine"]
    twins: list[int] = []

    def first_sending_commits(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO response") and not twins:
            twins.append(1)
            twin = app.test_client()
            twin.set_cookie("session", client.get_cookie("session").value)  # type: ignore[union-attr]
            # Another thread, as another worker would be, with its own connection.
            worker = threading.Thread(
                target=lambda: twins.append(twin.post(PLACEMENT, data=data).status_code)
            )
            worker.start()
            worker.join()

    sa.event.listen(engine, "before_cursor_execute", first_sending_commits)
    second = client.post(PLACEMENT, data=data)
    assert twins == [1, 303]
    assert second.status_code == 303
    assert stored_codes(db_session) == [ANSWERED]


def test_connection_lost_after_the_page_was_read_still_shows_it(
    client: FlaskClient, hubs: Any, fault: DatabaseFault, monkeypatch: pytest.MonkeyPatch
) -> None:
    fault.at_rollback(monkeypatch)
    page = client.get(PLACEMENT)
    assert fault.fired == 1
    assert page.status_code == 200
    assert hidden_field(page.text, "submission_key")
    assert client.get(PLACEMENT).status_code == 200  # and the next request has a connection


def test_database_down_while_showing_a_form_answers_503(
    client: FlaskClient, hubs: Any, fault: DatabaseFault, monkeypatch: pytest.MonkeyPatch
) -> None:
    fault.everywhere(monkeypatch)
    page = client.get(PLACEMENT)
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "5"
    assert SERVICE_PROBLEM in page.text
    assert "They will not be saved twice" in page.text


def test_signed_in_page_with_database_down_still_answers_503(
    client: FlaskClient,
    hubs: Any,
    make_user: Callable[..., Any],
    sign_in: Callable[..., Any],
    fault: DatabaseFault,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The layout reads the signed-in user, which needs the database: a plainer page."""
    make_user()
    assert sign_in("lead@example.nhs.uk").status_code == 303
    fault.everywhere(monkeypatch)
    page = client.get("/reports")
    assert page.status_code == 503
    assert SERVICE_PROBLEM in page.text


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (
            sa.exc.OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked")),
            True,
        ),
        (sa.exc.InterfaceError("SELECT 1", {}, Exception("connection already closed")), True),
        (
            sa.exc.DBAPIError(
                "SELECT 1", {}, Exception("SSL SYSCALL error"), connection_invalidated=True
            ),
            True,
        ),
        (sa.exc.TimeoutError("QueuePool limit reached"), True),
        (sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key")), False),
        (sa.exc.ProgrammingError("SELECT", {}, Exception("syntax error")), False),
    ],
    ids=["locked", "interface", "invalidated", "pool-timeout", "integrity", "programming"],
)
def test_only_an_unreachable_database_is_a_503(error: Exception, unavailable: bool) -> None:
    assert database_unavailable(error) is unavailable
