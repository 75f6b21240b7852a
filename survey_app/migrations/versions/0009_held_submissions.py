"""invited answers to anonymous surveys held until released in shuffled batches

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 23:00:00

Adds `heldsubmission` (see `survey_app.models.responses.HeldSubmission`): an invited answer to
an anonymous survey, stored in the transaction that marks its invitation used and moved into
`response` and `answer` later, with at least nine others, by a transaction that touches no
invitation, so the database's row headers cannot pair a response with its invitation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "heldsubmission",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("submission_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["survey_id"], ["survey.id"]),
        sa.ForeignKeyConstraint(["wave_id"], ["wave.id"]),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_heldsubmission_wave_id"), "heldsubmission", ["wave_id"])
    op.create_index(
        op.f("ix_heldsubmission_submission_key"),
        "heldsubmission",
        ["submission_key"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_heldsubmission_submission_key"), table_name="heldsubmission")
    op.drop_index(op.f("ix_heldsubmission_wave_id"), table_name="heldsubmission")
    op.drop_table("heldsubmission")
