"""The demo put together: an empty database filled in one transaction, and what was stored."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, col, select

from survey_app.definitions import shipped_definition_paths
from survey_app.demo.icb_leaders import add_icb_leader_responses
from survey_app.demo.organisations import organisation_rows
from survey_app.demo.placement import add_placement_responses, placement_waves
from survey_app.demo.users import DEMO_USERS, DemoLogin, add_users, login_lines
from survey_app.models import (
    Organisation,
    OrgLevel,
    Response,
    Survey,
    SurveyStatus,
    User,
    stored_id,
)
from survey_app.services import ServiceError
from survey_app.services.definitions import load_definition_files
from survey_app.services.organisations import import_organisations, load_reference
from survey_app.services.responses import utcnow
from survey_app.services.surveys import require_survey

PLACEMENT_SURVEY = "placement-quality"
ICB_LEADERS_SURVEY = "icb-leaders"


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What `build_demo` stored."""

    #: Organisations in the database by level value, widest level first.
    organisations: dict[str, int]
    #: Responses by survey slug.
    responses: dict[str, int]
    users: list[DemoLogin] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The summary as lines of text for the command line, ending with the demo sign-ins."""
        plural = {
            "region": "regions",
            "icb": "ICBs",
            "hub": "training hubs",
            "pcn": "PCNs",
            "practice": "practices",
        }
        organisations = ", ".join(
            f"{count:,} {plural.get(level, level)}" for level, count in self.organisations.items()
        )
        lines = ["Demo data built.", f"  Organisations: {organisations}"]
        lines += [f"  {slug}: {count:,} responses" for slug, count in self.responses.items()]
        return lines + login_lines(self.users)


def database_is_empty(session: Session) -> bool:
    """True when no response and no user is stored, so the demo may be built."""
    responses = session.exec(select(func.count()).select_from(Response)).one()
    users = session.exec(select(func.count()).select_from(User)).one()
    return responses == 0 and users == 0


def build_demo(session: Session, seed: int = 2026) -> DemoSummary:
    """Fill an empty database with demo data, in one transaction, and say what was stored.

    The same seed gives the same organisations and answers (submission dates count back from
    today). Refuses (ServiceError) a database that already holds a response or a user; on any
    failure nothing is stored.
    """
    with _one_transaction(session) as demo:
        if not database_is_empty(demo):
            raise ServiceError(
                "the demo goes only into an empty database; this one already holds responses "
                "or users"
            )
        rng = np.random.default_rng(seed)
        load_reference(demo)
        load_definition_files(demo, shipped_definition_paths())
        surveys = {
            slug: require_survey(demo, slug) for slug in (PLACEMENT_SURVEY, ICB_LEADERS_SURVEY)
        }
        now = utcnow()
        leaders = surveys[ICB_LEADERS_SURVEY]
        if leaders.status_at(now) != SurveyStatus.OPEN:
            leaders.open(now)
        demo.add(leaders.current_wave)
        waves = placement_waves(demo, surveys[PLACEMENT_SURVEY], now)
        import_organisations(demo, organisation_rows(rng), "demo organisations")
        add_placement_responses(demo, surveys[PLACEMENT_SURVEY], rng, now, waves)
        add_icb_leader_responses(demo, surveys[ICB_LEADERS_SURVEY], rng, now)
        add_users(demo)
        return _summary(demo, surveys.values())


@contextmanager
def _one_transaction(session: Session) -> Iterator[Session]:
    """A session inside `session`'s transaction whose commits only release savepoints.

    The services the demo reuses (reference data, definitions, organisations, users) each commit;
    run through this session their commits are provisional, and `session` commits the whole demo
    at the end or rolls all of it back.
    """
    connection = session.connection()
    dbapi_connection: Any = connection.connection.dbapi_connection
    if connection.dialect.name == "sqlite" and not dbapi_connection.in_transaction:
        # pysqlite opens a transaction only before a write, so the first SAVEPOINT would open
        # one of its own and its RELEASE would commit it.
        connection.exec_driver_sql("BEGIN")
    inner = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield inner
        inner.commit()
    except BaseException:
        inner.close()
        session.rollback()
        raise
    inner.close()
    session.commit()


def _summary(session: Session, surveys: Iterable[Survey]) -> DemoSummary:
    """What the database holds now: organisations by level, responses to `surveys`."""
    by_level = dict(
        session.exec(select(Organisation.level, func.count()).group_by(Organisation.level)).all()
    )
    by_survey = dict(
        session.exec(
            select(Response.survey_id, func.count()).group_by(col(Response.survey_id))
        ).all()
    )
    return DemoSummary(
        organisations={level.value: by_level.get(level, 0) for level in OrgLevel},
        responses={survey.slug: by_survey.get(stored_id(survey), 0) for survey in surveys},
        users=list(DEMO_USERS),
    )
