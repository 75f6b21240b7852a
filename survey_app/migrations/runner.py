"""Running the migrations from code: `survey-app db init` and the tests call `upgrade`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

FOLDER = Path(__file__).resolve().parent


def alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(FOLDER))
    config.attributes["engine"] = engine
    return config


#: The revision whose schema `SQLModel.metadata.create_all` made before migrations existed.
FIRST_REVISION = "0001"


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (the newest by default): on an empty database this
    creates the schema; on an existing one it applies the migrations it has not had."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        tables = set(inspect(connection).get_table_names())
        if "survey" in tables and "alembic_version" not in tables:
            # A database made by create_all rather than by migrations: either with today's
            # models (it is at the newest revision) or before migrations existed (the first).
            current = "head" if _matches_models(connection) else FIRST_REVISION
            command.stamp(config, current)
        command.upgrade(config, revision)


def _matches_models(connection: Connection) -> bool:
    """True when the schema behind `connection` is exactly the one the models describe."""
    import survey_app.models  # noqa: F401  (registers every table on the metadata)

    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return not compare_metadata(context, SQLModel.metadata)


def autogenerate(engine: Engine, message: str) -> None:
    """Write a new migration from the difference between the models and `engine`'s schema
    (a developer's tool: review the file it writes)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
