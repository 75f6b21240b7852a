"""each response's submission key

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 14:00:00

Adds `response.submission_key` (see `survey_app.models.responses.Response`): the random key of
the form page a response was sent from, unique, so a form sent twice is stored once. Responses
stored before have none, which a unique index allows any number of.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE INDEX, which SQLite does in place: a batch copy of the
    # response table would, with foreign keys on, cascade the drop of the old one to every
    # answer.
    op.add_column(
        "response",
        sa.Column("submission_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    )
    op.create_index(op.f("ix_response_submission_key"), "response", ["submission_key"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_response_submission_key"), table_name="response")
    op.drop_column("response", "submission_key")
