"""Each response's Likert vector (`Response.likert_values`), which the summaries read instead of
the answers: written by the web form and the CSV import, filled by migration 0002 for responses
stored before it, and read correctly after a definition is reloaded with questions added,
removed and moved.

Every summary here is compared with one computed from the raw answers alone, by the independent
computations of `tests.test_summary_data`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
import yaml
from flask.testing import FlaskClient
from sqlmodel import Session, SQLModel, select

from survey_app.db import create_db_engine
from survey_app.definitions import shipped_definition_paths
from survey_app.migrations.runner import upgrade
from survey_app.models import Answer, Organisation, Question, QuestionType, Response, Survey
from survey_app.reporting.summary_data import load_summary
from survey_app.services.definitions import load_definition_files
from survey_app.services.responses import import_responses
from survey_app.services.surveys import survey_by_slug
from tests.test_summary_data import (
    MIN_N,
    ORGANISATIONS,
    PLACEMENT,
    KnownAnswers,
    Scope,
    assert_same,
    expected_summary,
    generate_answers,
    read_definition,
    summarise,
)

PLACEMENT_FORM = "/s/placement-quality"
#: Breakdowns compared in each test: England, and groups that mix both ways of storing.
BREAKDOWNS = (None, "practice", "hub", "profession")


def stored_vectors(session: Session) -> dict[int, dict[int, int]]:
    """Each response's Likert answers as its stored vector gives them (question id: value),
    decoded here from the character layout the model documents. Reads only the vector
    columns, so it also works on a database migrated no further than 0002."""
    response_t = Response.__table__  # type: ignore[attr-defined]
    query = sa.select(
        response_t.c.id, response_t.c.likert_first_question_id, response_t.c.likert_values
    )
    vectors = {}
    for response_id, first, values in session.connection().execute(query):
        assert values is not None, f"response {response_id} has no vector"
        vectors[response_id] = {
            first + slot: ord(character) - ord("0")
            for slot, character in enumerate(values)
            if character != "0"
        }
    return vectors


def stored_answers(session: Session) -> dict[int, dict[int, int]]:
    """Each response's Likert answers as its Answer rows give them (question id: value)."""
    likert = set(session.exec(select(Question.id).where(Question.type == QuestionType.LIKERT)))
    answers: dict[int, dict[int, int]] = {
        response_id: {} for response_id in session.exec(select(Response.id))
    }
    for answer in session.exec(select(Answer)).all():
        if answer.question_id in likert:
            answers[answer.response_id][answer.question_id] = answer.value
    return answers


def join(*parts: KnownAnswers) -> KnownAnswers:
    """The responses of `parts` one after another; a rating column missing from a part is
    unanswered there."""
    codes = {code: None for part in parts for code in part.ratings}
    return KnownAnswers(
        places=np.concatenate([part.places for part in parts]),
        choices={
            code: np.concatenate([part.choices[code] for part in parts])
            for code in parts[0].choices
        },
        ratings={
            code: np.concatenate(
                [part.ratings.get(code, np.full(len(part), np.nan)) for part in parts]
            )
            for code in codes
        },
        texts={
            code: np.concatenate([part.texts[code] for part in parts]) for code in parts[0].texts
        },
    )


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of a form page (CSRF token and whatever else the form carries)."""
    fields = {}
    for tag in re.findall(r"<input\b[^>]*>", page):
        if 'type="hidden"' in tag:
            name = re.search(r'name="([^"]*)"', tag)
            value = re.search(r'value="([^"]*)"', tag)
            if name:
                fields[name.group(1)] = html.unescape(value.group(1) if value else "")
    return fields


def submit_through_the_form(client: FlaskClient, answers: KnownAnswers) -> None:
    """Send each of `answers` through the placement survey's web form, as a learner would."""
    for index, place in enumerate(answers.places):
        page = client.get(PLACEMENT_FORM)
        data = hidden_fields(page.text) | {"organisation": place}
        for code, column in answers.choices.items():
            if column[index] is not None:
                data[code] = column[index]
        for code, column in answers.ratings.items():
            if not np.isnan(column[index]):
                data[code] = str(int(column[index]))
        for code, column in answers.texts.items():
            data[code] = column[index]
        sent = client.post(PLACEMENT_FORM, data=data)
        assert sent.status_code == 303, f"response {index} was refused"


def assert_summaries_match(session: Session, definition: Any, known: KnownAnswers) -> None:
    for by in BREAKDOWNS:
        summary = summarise(session, None, by)
        assert_same(
            summary,
            expected_summary(definition, known, None, by, summary),
            f"summary by {by}",
        )


# --- written at submission ----------------------------------------------------------------------


def test_web_form_and_csv_import_write_vectors_the_summaries_read_correctly(
    client: FlaskClient,
    db_session: Session,
    surveys: dict[str, Survey],
    make_orgs: Callable[..., dict[str, Organisation]],
) -> None:
    make_orgs(*ORGANISATIONS)
    generated = generate_answers(PLACEMENT, seed=31)
    # Every fourth response through the form, the others imported: each group mixes both.
    by_form = np.arange(len(generated)) % 4 == 0
    submit_through_the_form(client, generated.where(by_form))
    imported = generated.where(~by_form)
    report = import_responses(
        db_session, surveys["placement-quality"], imported.to_csv(), "rest.csv", max_text=5000
    )
    assert report.imported == len(imported)

    assert stored_vectors(db_session) == stored_answers(db_session)
    assert_summaries_match(db_session, PLACEMENT, join(generated.where(by_form), imported))


def test_a_response_stored_without_its_vector_is_refused_not_read_as_unanswered(
    db_session: Session,
    surveys: dict[str, Survey],
    make_orgs: Callable[..., dict[str, Organisation]],
) -> None:
    make_orgs(*ORGANISATIONS)
    known = generate_answers(PLACEMENT, seed=5)
    import_responses(db_session, surveys["placement-quality"], known.to_csv(), "a.csv", 5000)
    first = db_session.exec(select(Response).order_by(Response.id)).first()
    assert first is not None
    first.likert_values = None
    db_session.add(first)
    db_session.commit()
    with pytest.raises(ValueError, match="1 response\\(s\\) to placement-quality were stored"):
        summarise(db_session, None, "practice")


# --- migration 0002 fills the vectors of responses stored before it ------------------------------


def test_migration_0002_fills_the_vectors_submission_would_have_written(
    app: Any,
    db_session: Session,
    surveys: dict[str, Survey],
    make_orgs: Callable[..., dict[str, Organisation]],
) -> None:
    make_orgs(*ORGANISATIONS)
    known = generate_answers(PLACEMENT, seed=77)
    import_responses(db_session, surveys["placement-quality"], known.to_csv(), "k.csv", 5000)
    written = stored_vectors(db_session)
    summaries = {by: summarise(db_session, None, by) for by in BREAKDOWNS}
    db_session.close()

    # The same rows in a database at revision 0001, which has no vector columns.
    engine = create_db_engine(app.config["DATABASE_URL"])
    rows = _rows_by_table(engine)
    _empty_database(engine)
    try:
        upgrade(engine, "0001")
        _insert_rows(engine, rows)
        with engine.connect() as connection:
            columns = {column["name"] for column in sa.inspect(connection).get_columns("response")}
        assert "likert_values" not in columns

        upgrade(engine, "0002")
        with Session(engine) as session:
            assert stored_vectors(session) == written
        upgrade(engine)
        with Session(engine) as session:
            for by in BREAKDOWNS:
                assert_same(summarise(session, None, by), summaries[by], f"summary by {by}")
                assert_same(
                    summaries[by],
                    expected_summary(PLACEMENT, known, None, by, summaries[by]),
                    f"summary by {by}",
                )
    finally:
        # Whatever happened, leave the models' schema for the tests after this one (on
        # PostgreSQL they share the database).
        _empty_database(engine)
        SQLModel.metadata.create_all(engine)
        engine.dispose()


def _rows_by_table(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as the database holds it (reflected: enums as stored)."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {
            table.name: [dict(row._mapping) for row in connection.execute(sa.select(table))]
            for table in metadata.sorted_tables
            if table.name != "alembic_version"
        }


def _empty_database(engine: sa.Engine) -> None:
    """No tables at all, as before `survey-app db init` (as the migration test in test_cli)."""
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        if connection.dialect.name == "postgresql":
            for enum in ("orglevel", "surveystatus", "questiontype", "role"):
                connection.exec_driver_sql(f"DROP TYPE IF EXISTS {enum}")


def _insert_rows(engine: sa.Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Insert `rows` into the tables the database has, keeping only the columns it has."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            kept = [
                {name: value for name, value in row.items() if name in table.c}
                for row in rows.get(table.name, [])
            ]
            if table.name == "survey" and "status" in table.c:
                # Before 0005 a survey held the status its (one) wave now holds.
                status = {wave["survey_id"]: wave["status"] for wave in rows.get("wave", [])}
                for row in kept:
                    row["status"] = status[row["id"]]
            if table.name == "organisation":
                # Parents first: a region before its ICBs, and so on down.
                depth = {"REGION": 0, "ICB": 1, "HUB": 2, "PCN": 3, "PRACTICE": 4}
                kept.sort(key=lambda row: depth[row["level"]])
            if kept:
                connection.execute(sa.insert(table), kept)


# --- a definition reloaded with questions added, removed and moved --------------------------------


def test_a_reloaded_survey_summarises_responses_stored_before_and_after_correctly(
    db_session: Session,
    surveys: dict[str, Survey],
    make_orgs: Callable[..., dict[str, Organisation]],
    tmp_path: Path,
) -> None:
    make_orgs(*ORGANISATIONS)
    (shipped,) = [path for path in shipped_definition_paths() if path.stem == "placement-quality"]
    document = yaml.safe_load(shipped.read_text(encoding="utf-8"))

    # Before: nobody answers ind_welcome (the survey's first Likert question), so the reload
    # may remove it.
    before = generate_answers(PLACEMENT, seed=11)
    before.ratings["ind_welcome"][:] = np.nan
    import_responses(db_session, surveys["placement-quality"], before.to_csv(), "b.csv", 5000)
    del before.ratings["ind_welcome"]

    # The reload: ind_welcome removed, a new statement first in its section (the newest
    # question id, but the earliest position) and two supervision statements swapped.
    induction = document["sections"][1]["questions"]
    assert induction[0]["code"] == "ind_welcome"
    new_statement = dict(induction[0], code="ind_buddy", text="I was given a buddy", required=False)
    induction[0] = new_statement
    supervision = next(
        section["questions"]
        for section in document["sections"]
        if any(q["code"] == "sup_named" for q in section["questions"])
    )
    supervision[0], supervision[1] = supervision[1], supervision[0]
    reloaded = tmp_path / "placement-quality.yaml"
    reloaded.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    load_definition_files(db_session, [reloaded])
    db_session.expire_all()
    survey = survey_by_slug(db_session, "placement-quality")
    assert survey is not None
    codes = [q.code for q in survey.questions if q.type == QuestionType.LIKERT]
    assert "ind_welcome" not in codes and codes.index("ind_buddy") < codes.index("ind_orientation")

    definition = read_definition("placement-quality", reloaded)
    after = generate_answers(definition, seed=12)
    import_responses(db_session, survey, after.to_csv(), "a.csv", 5000)

    layouts = {
        (response.likert_first_question_id, len(response.likert_values or ""))
        for response in db_session.exec(select(Response)).all()
    }
    assert len(layouts) == 2, "old and new responses should have different layouts"
    assert stored_vectors(db_session) == stored_answers(db_session)
    assert_summaries_match(db_session, definition, join(before, after))
    scope = db_session.exec(select(Organisation).where(Organisation.code == "QKS")).one()
    by_practice = load_summary(db_session, survey, scope, "practice", MIN_N)
    assert_same(
        by_practice,
        expected_summary(
            definition,
            join(before, after),
            Scope("QKS", scope.name, "icb"),
            "practice",
            by_practice,
        ),
    )
