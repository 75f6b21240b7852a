"""each response's Likert answers as one vector

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 10:00:00

Adds `response.likert_first_question_id` and `response.likert_values` (see
`survey_app.models.responses.likert_vector_columns`) and fills them from the stored answers, a
batch of responses at a time, with the same function that writes them at submission.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from survey_app.models.responses import likert_vector_columns

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Responses filled per round trip: a few MB of answers at a time.
BATCH = 10_000

question_t = sa.table(
    "question", sa.column("id", sa.Integer), sa.column("survey_id"), sa.column("type")
)
response_t = sa.table(
    "response",
    sa.column("id", sa.Integer),
    sa.column("survey_id", sa.Integer),
    sa.column("likert_first_question_id", sa.Integer),
    sa.column("likert_values", sa.Text),
)
answer_t = sa.table(
    "answer",
    sa.column("response_id", sa.Integer),
    sa.column("question_id", sa.Integer),
    sa.column("value", sa.Integer),
)


def upgrade() -> None:
    # Plain ADD COLUMN, which SQLite does in place: a batch copy of the response table would,
    # with foreign keys on, cascade the drop of the old one to every answer. Nullable: SQLite
    # adds a NOT NULL column only with a default, and a default would let a response stored
    # without its vector pass for one without answers (the summaries refuse a NULL instead).
    op.add_column("response", sa.Column("likert_first_question_id", sa.Integer(), nullable=True))
    op.add_column("response", sa.Column("likert_values", sa.Text(), nullable=True))
    connection = op.get_bind()
    survey_ids = connection.execute(sa.select(response_t.c.survey_id).distinct()).scalars()
    for survey_id in list(survey_ids):
        _fill_survey(connection, survey_id)


def _fill_survey(connection: sa.Connection, survey_id: int) -> None:
    """Write the vectors of one survey's responses, BATCH responses at a time."""
    likert = set(
        connection.execute(
            sa.select(question_t.c.id).where(
                question_t.c.survey_id == survey_id,
                # The enum's stored name, compared as text: PostgreSQL has no operator
                # between its enum type and a string parameter.
                sa.cast(question_t.c.type, sa.String) == "LIKERT",
            )
        ).scalars()
    )
    after = 0
    while True:
        response_ids = (
            connection.execute(
                sa.select(response_t.c.id)
                .where(response_t.c.survey_id == survey_id, response_t.c.id > after)
                .order_by(response_t.c.id)
                .limit(BATCH)
            )
            .scalars()
            .all()
        )
        if not response_ids:
            return
        values: dict[int, dict[int, int]] = {response_id: {} for response_id in response_ids}
        if likert:
            answers = connection.execute(
                sa.select(answer_t.c.response_id, answer_t.c.question_id, answer_t.c.value).where(
                    answer_t.c.response_id.between(response_ids[0], response_ids[-1]),
                    answer_t.c.question_id.in_(sorted(likert)),
                    answer_t.c.value.is_not(None),
                )
            )
            for response_id, question_id, value in answers:
                if response_id in values:
                    values[response_id][question_id] = value
        rows = []
        for response_id, given in values.items():
            columns = likert_vector_columns(likert, given)
            rows.append(
                {
                    "response_id": response_id,
                    "first": columns["likert_first_question_id"],
                    "vector": columns["likert_values"],
                }
            )
        connection.execute(
            response_t.update()
            .where(response_t.c.id == sa.bindparam("response_id"))
            .values(
                likert_first_question_id=sa.bindparam("first"),
                likert_values=sa.bindparam("vector"),
            ),
            rows,
        )
        after = response_ids[-1]


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch copy of the table: with
    # foreign keys on, dropping the old response table would cascade to every answer.
    op.drop_column("response", "likert_values")
    op.drop_column("response", "likert_first_question_id")
