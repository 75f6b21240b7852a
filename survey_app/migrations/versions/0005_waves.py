"""survey waves

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 09:00:00

A survey is run again for each new period in waves (`survey_app.models.surveys.Wave`), each with
its own status, dates, invitations and responses. Every existing survey becomes wave 1, carrying
the survey's status and opening and closing dates (and, for a closed survey, when the audit log
says it was closed); its responses and invitations are put on that wave; then the survey's own
status and dates go. Invitations also gain the invitee's address and when they were sent and
reminded. Downgrading gives each survey its latest wave's status and dates back.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op
from alembic.operations import BatchOperations
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("DRAFT", "OPEN", "CLOSED")
#: The status type made by 0001 for survey.status, now wave.status's: on PostgreSQL the named
#: type exists already and moves with the column, never created or dropped here.
status_type = sa.Enum(*STATUSES, name="surveystatus").with_variant(
    postgresql.ENUM(*STATUSES, name="surveystatus", create_type=False), "postgresql"
)

survey_t = sa.table(
    "survey",
    sa.column("id", sa.Integer),
    sa.column("slug", sa.String),
    sa.column("status", status_type),
    sa.column("opens_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    sa.column("closes_at", sqlmodel.sql.sqltypes.UTCDateTime()),
)
wave_t = sa.table(
    "wave",
    sa.column("id", sa.Integer),
    sa.column("survey_id", sa.Integer),
    sa.column("number", sa.Integer),
    sa.column("name", sa.String),
    sa.column("status", status_type),
    sa.column("opens_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    sa.column("closes_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    sa.column("created_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    sa.column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime()),
)
audit_t = sa.table(
    "auditevent",
    sa.column("occurred_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    sa.column("action", sa.String),
    sa.column("target", sa.String),
)


def upgrade() -> None:
    op.create_table(
        "wave",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("status", status_type, nullable=False),
        sa.Column("opens_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("closes_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["survey_id"], ["survey.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("survey_id", "number"),
    )
    op.create_index(op.f("ix_wave_survey_id"), "wave", ["survey_id"], unique=False)

    connection = op.get_bind()
    now = datetime.now(UTC)
    surveys = connection.execute(
        sa.select(
            survey_t.c.id,
            survey_t.c.slug,
            survey_t.c.status,
            survey_t.c.opens_at,
            survey_t.c.closes_at,
        )
    ).all()
    for survey_id, slug, status, opens_at, closes_at in surveys:
        connection.execute(
            wave_t.insert().values(
                survey_id=survey_id,
                number=1,
                name="Wave 1",
                status=status,
                opens_at=opens_at,
                closes_at=closes_at,
                created_at=now,
                closed_at=_last_closed(connection, slug) if status == "CLOSED" else None,
            )
        )

    # Each response and invitation on its survey's wave 1, then the column made required.
    for table_name in ("response", "invitation"):
        op.add_column(table_name, sa.Column("wave_id", sa.Integer(), nullable=True))
        rows = sa.table(table_name, sa.column("survey_id", sa.Integer), sa.column("wave_id"))
        first_wave = (
            sa.select(wave_t.c.id)
            .where(wave_t.c.survey_id == rows.c.survey_id, wave_t.c.number == 1)
            .scalar_subquery()
        )
        op.execute(rows.update().values(wave_id=first_wave))

    def response_wave(batch_op: BatchOperations) -> None:
        batch_op.alter_column("wave_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key("fk_response_wave_id_wave", "wave", ["wave_id"], ["id"])
        batch_op.create_index("ix_response_wave_org", ["wave_id", "organisation_id"], unique=False)

    _alter_response_keeping_answers(response_wave)

    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.alter_column("wave_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key("fk_invitation_wave_id_wave", "wave", ["wave_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_invitation_wave_id"), ["wave_id"], unique=False)
        batch_op.add_column(
            sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True)
        )
        batch_op.add_column(
            sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reminded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )

    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch copy of the survey table:
    # with foreign keys on, SQLite cannot drop the old table while themes, questions and
    # responses refer to it.
    op.drop_column("survey", "closes_at")
    op.drop_column("survey", "opens_at")
    op.drop_column("survey", "status")


def _last_closed(connection: sa.Connection, slug: str) -> datetime | None:
    """When the audit log last saw the survey with `slug` closed by hand, if it did."""
    return connection.execute(
        sa.select(sa.func.max(audit_t.c.occurred_at)).where(
            audit_t.c.action == "survey-closed", audit_t.c.target == slug
        )
    ).scalar()


def _alter_response_keeping_answers(alter: Callable[[BatchOperations], None]) -> None:
    """Apply `alter` to the response table in a batch, keeping every answer.

    SQLite cannot change a column's nullability or its foreign keys in place: the batch copies
    the table and drops the old one, and with foreign keys on that drop deletes every answer
    (answer.response_id cascades). The answers are set aside first and put back after, with
    the same ids; PostgreSQL alters the table in place and needs none of it.
    """
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TEMPORARY TABLE answer_kept_0005 AS SELECT * FROM answer")
        op.execute("DELETE FROM answer")
    with op.batch_alter_table("response", schema=None) as batch_op:
        alter(batch_op)
    if sqlite:
        op.execute("INSERT INTO answer SELECT * FROM temp.answer_kept_0005")
        op.execute("DROP TABLE temp.answer_kept_0005")


def downgrade() -> None:
    # NOT NULL with a default, which SQLite adds in place (a batch copy of the survey table is
    # refused while other tables refer to it); every row is then set from its latest wave.
    op.add_column(
        "survey", sa.Column("status", status_type, nullable=False, server_default="DRAFT")
    )
    op.add_column("survey", sa.Column("opens_at", sqlmodel.sql.sqltypes.UTCDateTime()))
    op.add_column("survey", sa.Column("closes_at", sqlmodel.sql.sqltypes.UTCDateTime()))
    connection = op.get_bind()
    waves = connection.execute(
        sa.select(
            wave_t.c.survey_id, wave_t.c.status, wave_t.c.opens_at, wave_t.c.closes_at
        ).order_by(wave_t.c.survey_id, wave_t.c.number)
    ).all()
    # Ordered by number, so each survey's latest wave is the one left in the dict.
    latest = {wave.survey_id: wave for wave in waves}
    for survey_id, wave in latest.items():
        connection.execute(
            survey_t.update()
            .where(survey_t.c.id == survey_id)
            .values(status=wave.status, opens_at=wave.opens_at, closes_at=wave.closes_at)
        )
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("survey", "status", server_default=None, existing_type=status_type)

    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitation_wave_id"))
        batch_op.drop_constraint("fk_invitation_wave_id_wave", type_="foreignkey")
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("sent_at")
        batch_op.drop_column("email")
        batch_op.drop_column("wave_id")

    def response_without_wave(batch_op: BatchOperations) -> None:
        batch_op.drop_index("ix_response_wave_org")
        batch_op.drop_constraint("fk_response_wave_id_wave", type_="foreignkey")
        batch_op.drop_column("wave_id")

    _alter_response_keeping_answers(response_without_wave)

    op.drop_index(op.f("ix_wave_survey_id"), table_name="wave")
    op.drop_table("wave")
