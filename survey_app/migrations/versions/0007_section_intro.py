"""Each question keeps its section's introduction, which the respondent's page shows.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "question", sa.Column("section_intro", sa.Text(), nullable=False, server_default="")
    )
    # The database holds no introductions to copy: forgetting each definition's fingerprint
    # makes the next `survey-app surveys load` read the files again and fill them in (loading
    # an unchanged file otherwise does nothing).
    op.execute(sa.text("UPDATE survey SET definition_sha256 = ''"))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35 and later have it): batch mode would copy the question
    # table and drop the old one, which the answers' foreign keys refuse.
    op.drop_column("question", "section_intro")
