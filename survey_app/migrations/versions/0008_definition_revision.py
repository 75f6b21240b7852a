"""Each survey names the revision of its definition, so respondents' pages can keep it in memory.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "survey",
        sa.Column("definition_revision", sa.String(32), nullable=False, server_default=""),
    )
    connection = op.get_bind()
    for (survey_id,) in connection.execute(sa.text("SELECT id FROM survey")).all():
        connection.execute(
            sa.text("UPDATE survey SET definition_revision = :revision WHERE id = :id"),
            {"revision": uuid.uuid4().hex, "id": survey_id},
        )


def downgrade() -> None:
    op.drop_column("survey", "definition_revision")
