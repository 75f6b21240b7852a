"""answers saved part-way through an invitation

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 12:00:00

Adds `savedanswers` (see `survey_app.models.responses.SavedAnswers`): the answers an invitee has
given so far, one row per invitation, so the same link resumes the survey in another browser.
Rows go when the response is stored and when the wave closes; the foreign key cascades, so
deleting an invitation (a purge) takes its row with it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "savedanswers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("saved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["invitation_id"], ["invitation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_savedanswers_invitation_id"), "savedanswers", ["invitation_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_savedanswers_invitation_id"), table_name="savedanswers")
    op.drop_table("savedanswers")
