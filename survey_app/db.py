"""The database engine and a session per request (or per CLI command)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, render_template
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

#: Seconds a client is asked to wait (Retry-After) when the database could not be reached:
#: about as long as a PostgreSQL restart or a failover takes.
RETRY_AFTER_SECONDS = 5


def create_db_engine(url: str) -> Engine:
    """An engine for `url`: SQLite gets foreign keys, WAL and a busy timeout; others a pool
    with pre-ping so a connection lost while idle is replaced rather than failing a request."""
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver this project ships; plain postgresql:// means it.
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # Errors are logged with their statement but never its values: those are answers.
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
        )
        sa.event.listen(engine, "connect", _configure_sqlite)
        return engine
    # Without gssencmode, the system's libpq opens every connection by trying GSSAPI (Kerberos)
    # encryption: a wasted round trip where there is no Kerberos, and Kerberos libraries have
    # crashed threaded clients as they connect (our workers died of segmentation faults when all
    # reconnected after a PostgreSQL restart, on the system libpq). A URL naming it decides.
    options = {} if "gssencmode" in sa.make_url(url).query else {"gssencmode": "disable"}
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        hide_parameters=True,
        connect_args=options,
    )


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def get_engine() -> Engine:
    """The current application's engine."""
    return current_app.extensions["survey_app.engine"]


def get_session() -> Session:
    """The session of this request or command, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = Session(get_engine(), expire_on_commit=False)
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is None:
        return
    try:
        session.close()
    except sa.exc.DBAPIError as error:
        if not database_unavailable(error):
            raise
        # The connection was lost after the request's work, as the read-only transaction was
        # being rolled back: the server has ended it anyway, and the response stands.
        current_app.logger.warning("connection lost while closing a session: %s", error)
        session.invalidate()


def create_schema(engine: Engine) -> None:
    """Create every table the models define that does not exist yet."""
    import survey_app.models  # noqa: F401  (registers the tables on SQLModel.metadata)

    SQLModel.metadata.create_all(engine)


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database could not do the work just now, so the same request
    may succeed if tried again: a connection lost or refused (a restart, a failover, a network
    fault), SQLite's "database is locked", a deadlock or serialization failure, no connection
    free in the pool. False for a fault in the statement or the data, which trying again would
    only repeat."""
    if isinstance(error, sa.exc.DBAPIError):
        return error.connection_invalidated or isinstance(
            error, sa.exc.OperationalError | sa.exc.InterfaceError
        )
    return isinstance(error, sa.exc.TimeoutError)


def show_again_if_database_fails(template: str, **context: Any) -> None:
    """Name the page to show, with `context`, should the database fail during the rest of this
    request: a form being stored is given back with what the person entered, and a message
    asking them to send it again, rather than lost."""
    g.page_if_database_fails = (template, context)


def _database_failed(
    error: sa.exc.DBAPIError | sa.exc.TimeoutError,
) -> tuple[str, int, dict[str, str]]:
    """503 with Retry-After for a database that could not be reached or was busy; any other
    database error is not ours to soften and stays a 500."""
    if not database_unavailable(error):
        raise error
    current_app.logger.warning("database unavailable, answered 503: %s", error)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    session: Session | None = g.get("db_session")
    pages = [g.pop("page_if_database_fails", None), ("errors/503.html", {})]
    for template, context in filter(None, pages):
        try:
            if session is not None:
                # The failed transaction must end before a page may read again (the form's
                # rows are expired by it); the pool replaces a lost connection.
                session.rollback()
            return render_template(template, **context, database_failed=True), 503, headers
        except sa.exc.SQLAlchemyError as again:
            # Still unreachable: the form reads its questions again, the layout reads a
            # signed-in user; fall back to a page that needs less.
            current_app.logger.warning("database still unavailable: %s", again)
    return DATABASE_UNAVAILABLE_PAGE, 503, headers


#: The 503 page when even templates/errors/503.html cannot be shown (it needs the database for
#: a signed-in user). The same words, NHS.UK's stylesheet, no script.
DATABASE_UNAVAILABLE_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Sorry, there is a problem with the service - Training hub surveys</title>
<link rel="stylesheet" href="/static/nhsuk/nhsuk-frontend.min.css"></head>
<body><div class="nhsuk-width-container"><main class="nhsuk-main-wrapper" id="maincontent">
<h1>Sorry, there is a problem with the service</h1>
<p>Try again in a few moments.</p>
<p>If you were sending answers to a survey, go back and send them again.
They will not be saved twice.</p>
</main></div></body></html>
"""


def init_app(app: Flask) -> None:
    app.extensions["survey_app.engine"] = create_db_engine(app.config["DATABASE_URL"])
    app.teardown_appcontext(close_session)
    app.register_error_handler(sa.exc.DBAPIError, _database_failed)
    app.register_error_handler(sa.exc.TimeoutError, _database_failed)
