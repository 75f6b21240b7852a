"""The database engine and a session per request (or per CLI command)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel


def create_db_engine(url: str) -> Engine:
    """An engine for `url`: SQLite gets foreign keys, WAL and a busy timeout; others a pool
    with pre-ping so a connection lost while idle is replaced rather than failing a request."""
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver this project ships; plain postgresql:// means it.
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        sa.event.listen(engine, "connect", _configure_sqlite)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


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
    if session is not None:
        session.close()


def create_schema(engine: Engine) -> None:
    """Create every table the models define that does not exist yet."""
    import survey_app.models  # noqa: F401  (registers the tables on SQLModel.metadata)

    SQLModel.metadata.create_all(engine)


def init_app(app: Flask) -> None:
    app.extensions["survey_app.engine"] = create_db_engine(app.config["DATABASE_URL"])
    app.teardown_appcontext(close_session)
