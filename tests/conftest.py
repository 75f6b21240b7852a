"""Fixtures: an app on a clean database for every test, and factories with defaults.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import settings
from sqlmodel import Session, SQLModel, select

from survey_app import create_app
from survey_app.config import TestConfig
from survey_app.db import create_db_engine, create_schema
from survey_app.definitions import shipped_definition_paths
from survey_app.models import (
    HeldSubmission,
    Organisation,
    OrgLevel,
    Response,
    Role,
    Survey,
    User,
)
from survey_app.services import holding
from survey_app.services.definitions import load_definition_files
from survey_app.services.organisations import (
    OrganisationRow,
    import_organisations,
    load_reference,
)
from survey_app.services.surveys import survey_by_slug
from survey_app.services.users import create_user

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
STAFF_PASSWORD = "correct horse battery staple"


# CI runs the generated tests on a fixed sequence of examples so that a run is repeatable: a
# failure there names the example that found it, and the same commit fails the same way again.
# Locally each run explores new examples (`HYPOTHESIS_PROFILE=ci` repeats CI's).
settings.register_profile("ci", derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_report_header() -> str:
    return (
        f"database: {'PostgreSQL ' + POSTGRES_URL if POSTGRES_URL else 'SQLite (temporary files)'}"
    )


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[sa.Engine | None]:
    if not POSTGRES_URL:
        yield None
        return
    engine = create_db_engine(POSTGRES_URL)
    SQLModel.metadata.drop_all(engine)
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path, postgres_engine: sa.Engine | None) -> str:
    """A clean database for this test: a new SQLite file, or emptied PostgreSQL tables."""
    if postgres_engine is None:
        return f"sqlite:///{tmp_path / 'test.db'}"
    empty_tables(postgres_engine)
    return POSTGRES_URL  # type: ignore[return-value]


def empty_tables(engine: sa.Engine) -> None:
    """Delete every row of every table (PostgreSQL: the schema stays, made once a session)."""
    tables = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = create_app(TestConfig(database_url))
    engine = app.extensions["survey_app.engine"]
    create_schema(engine)
    yield app
    engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def db_session(app: Flask) -> Iterator[Session]:
    with Session(app.extensions["survey_app.engine"], expire_on_commit=False) as session:
        yield session


@pytest.fixture
def surveys(db_session: Session) -> dict[str, Survey]:
    """Reference organisations and both shipped surveys, loaded and open."""
    load_reference(db_session)
    load_definition_files(db_session, shipped_definition_paths())
    loaded = {}
    for slug in ("placement-quality", "icb-leaders"):
        survey = survey_by_slug(db_session, slug)
        assert survey is not None
        survey.open()
        db_session.add(survey)
        loaded[slug] = survey
    db_session.commit()
    return {slug: survey_by_slug(db_session, slug) for slug in loaded}  # type: ignore[misc]


@pytest.fixture
def limited_client(database_url: str, app: Flask) -> Iterator[FlaskClient]:
    """A client of a second app on the same database with rate limits on (the suite's apps
    have them off), counting from zero."""
    from survey_app.security import limiter

    config = TestConfig(database_url)
    config.RATELIMIT_ENABLED = True
    limited = create_app(config)
    limiter.reset()
    yield limited.test_client()
    limiter.reset()
    limited.extensions["survey_app.engine"].dispose()


@pytest.fixture
def make_orgs(
    db_session: Session, surveys: dict[str, Survey]
) -> Callable[..., dict[str, Organisation]]:
    """Adds organisations from (code, name, level, parent_code) tuples; returns them by code."""

    def make(*rows: tuple[str, str, str, str | None]) -> dict[str, Organisation]:
        import_organisations(
            db_session,
            [
                OrganisationRow(code, name, OrgLevel(level), parent, number)
                for number, (code, name, level, parent) in enumerate(rows, start=2)
            ],
            "test",
        )
        codes = [row[0] for row in rows]
        found = db_session.exec(select(Organisation).where(Organisation.code.in_(codes))).all()  # type: ignore[attr-defined]
        return {org.code: org for org in found}

    return make


@pytest.fixture
def hubs(make_orgs: Callable[..., dict[str, Organisation]]) -> dict[str, Organisation]:
    """Two hubs in Kent and Medway and one in Sussex, each with a PCN and two practices."""
    return make_orgs(
        ("H-EK", "East Kent Training Hub", "hub", "QKS"),
        ("H-WK", "West Kent Training Hub", "hub", "QKS"),
        ("H-SX", "West Sussex Training Hub", "hub", "QNX"),
        ("N-EK1", "Canterbury PCN", "pcn", "H-EK"),
        ("N-WK1", "Sevenoaks PCN", "pcn", "H-WK"),
        ("N-SX1", "Worthing PCN", "pcn", "H-SX"),
        ("P-EK1", "Cathedral Surgery", "practice", "N-EK1"),
        ("P-EK2", "Harbour Surgery", "practice", "N-EK1"),
        ("P-WK1", "Vine Surgery", "practice", "N-WK1"),
        ("P-WK2", "Weald Surgery", "practice", "N-WK1"),
        ("P-SX1", "Seafront Surgery", "practice", "N-SX1"),
        ("P-SX2", "Downs Surgery", "practice", "N-SX1"),
    )


@pytest.fixture
def make_user(db_session: Session) -> Callable[..., User]:
    def make(
        email: str = "lead@example.nhs.uk",
        role: str = "lead",
        scopes: tuple[str, ...] = ("H-EK",),
        password: str = STAFF_PASSWORD,
    ) -> User:
        orgs = [
            db_session.exec(select(Organisation).where(Organisation.code == code)).one()
            for code in scopes
        ]
        return create_user(db_session, email, password, Role(role), orgs)

    return make


@pytest.fixture
def sign_in(client: FlaskClient) -> Callable[[str, str], Any]:
    def sign_in(email: str, password: str = STAFF_PASSWORD) -> Any:
        page = client.get("/login")
        response = client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": csrf_token(page.text)},
        )
        return response

    return sign_in


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def count_responses(session: Session) -> int:
    session.expire_all()
    return len(session.exec(select(Response.id)).all())


def release_held(session: Session) -> int:
    """Release every held submission into responses, however few, as closing its wave would;
    returns how many. Invited answers to an anonymous survey are held until at least ten can
    be released together (`survey_app.services.holding`): a test that reads one back as a
    response releases it first."""
    waves = session.exec(select(HeldSubmission.wave_id).distinct()).all()
    engine = holding.engine_of(session)
    moved = sum(holding.move_held(engine, wave_id, min_batch=1) for wave_id in waves)
    session.expire_all()
    return moved


def count_submissions(session: Session) -> int:
    """Submissions stored: responses, and invited answers held until released."""
    session.expire_all()
    held = len(session.exec(select(HeldSubmission.id)).all())
    return held + len(session.exec(select(Response.id)).all())
