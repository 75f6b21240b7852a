"""The open-link form (its first page whole, the questions of the others) is rendered once per
process and reused, and the survey definition behind it is kept per revision: what a respondent
sees and stores must still follow the organisations and the definition as they are now."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, col, select

from survey_app.definitions import shipped_definition_paths
from survey_app.models import Answer, Organisation, Question, Response, Survey, User
from survey_app.models.surveys import new_definition_revision
from survey_app.services.definitions import load_definition_files
from tests.test_lost_connection import hidden_field
from tests.test_respond import PLACEMENT, placement_answers

PLACEMENT_SLUG = "placement-quality"


def test_each_form_page_has_its_own_key_and_token(
    app: Flask, hubs: Any, db_session: Session
) -> None:
    """The first page is kept whole per process with its two per-visitor values put in: two
    visitors get different values, the same page otherwise, and each can send it."""
    one, other = app.test_client(), app.test_client()
    first, second = one.get(PLACEMENT).text, other.get(PLACEMENT).text
    assert hidden_field(first, "submission_key") != hidden_field(second, "submission_key")
    assert hidden_field(first, "csrf_token") != hidden_field(second, "csrf_token")
    assert without_values(first) == without_values(second)
    assert "Cathedral Surgery (P-EK1)" in second
    for client, page in ((other, second), (one, first)):
        sent = client.post(PLACEMENT, data=answers_from(client, page))
        assert sent.status_code == 303, sent.text
    assert len(db_session.exec(select(Response)).all()) == 2


def test_a_signed_in_users_page_is_never_shown_to_another(
    app: Flask,
    hubs: Any,
    make_user: Callable[..., User],
    sign_in: Callable[..., Any],
    client: FlaskClient,
) -> None:
    """A signed-in user's header names them: their page must not be the one kept for others."""
    make_user("lead@example.nhs.uk")
    sign_in("lead@example.nhs.uk")
    assert "lead@example.nhs.uk" in client.get(PLACEMENT).text
    visitor = app.test_client()
    assert "lead@example.nhs.uk" not in visitor.get(PLACEMENT).text
    assert "lead@example.nhs.uk" in client.get(PLACEMENT).text


def without_values(html: str) -> str:
    """`html` without the values of its CSRF token and submission key."""
    for name in ("csrf_token", "submission_key"):
        html = html.replace(hidden_field(html, name), "")
    return html


def answers_from(client: FlaskClient, page: str) -> dict[str, str]:
    """A complete placement answer sent with `page`'s CSRF token and submission key."""
    return placement_answers(
        client,
        csrf_token=hidden_field(page, "csrf_token"),
        submission_key=hidden_field(page, "submission_key"),
    )


def test_a_new_organisation_appears_in_the_form(
    client: FlaskClient, make_orgs: Callable[..., dict[str, Organisation]], hubs: Any
) -> None:
    assert "Orchard Surgery" not in client.get(PLACEMENT).text
    make_orgs(("P-EK3", "Orchard Surgery", "practice", "N-EK1"))
    assert "Orchard Surgery (P-EK3)" in client.get(PLACEMENT).text


def test_a_changed_definition_changes_the_form(
    client: FlaskClient, hubs: Any, db_session: Session, surveys: dict[str, Survey]
) -> None:
    survey = surveys["placement-quality"]
    # The first page's question; later pages are covered by test_paged_form.
    question = next(q for q in survey.questions if q.code == "profession")
    assert question.text in client.get(PLACEMENT).text
    question.text = "I was welcomed warmly on my first day"
    survey.definition_revision = new_definition_revision()  # as loading a changed file does
    db_session.add_all([question, survey])
    db_session.commit()
    assert "I was welcomed warmly on my first day" in client.get(PLACEMENT).text


def test_a_definition_changed_and_changed_back_stores_answers_against_its_new_rows(
    client: FlaskClient,
    hubs: Any,
    db_session: Session,
    surveys: dict[str, Survey],
    tmp_path: Path,
) -> None:
    """Loading a file that drops a question and then the original again gives the original
    fingerprint back, but the question is a new row: the form kept in memory for that
    fingerprint would store its answers against the deleted row."""
    shipped = next(path for path in shipped_definition_paths() if path.stem == PLACEMENT_SLUG)
    text = shipped.read_text(encoding="utf-8")
    dropped = "\n".join(line for line in text.splitlines() if "code: ind_expectations" not in line)
    assert dropped != text
    # Answered without ind_expectations (a question with answers cannot be dropped); the
    # survey's form is now kept in memory.
    assert client.post(PLACEMENT, data=placement_answers(client)).status_code == 303
    before = question_id(db_session, "ind_expectations")

    (tmp_path / "dropped.yaml").write_text(dropped, encoding="utf-8")
    load_definition_files(db_session, [tmp_path / "dropped.yaml"])
    load_definition_files(db_session, [shipped])
    db_session.expire_all()
    after = question_id(db_session, "ind_expectations")
    assert after != before

    sent = client.post(PLACEMENT, data=placement_answers(client, ind_expectations="2"))
    assert sent.status_code == 303
    assert db_session.exec(select(Answer.value).where(Answer.question_id == after)).all() == [2]


def question_id(session: Session, code: str) -> int | None:
    return session.exec(
        select(Question.id)
        .join(Survey, col(Survey.id) == Question.survey_id)
        .where(Survey.slug == PLACEMENT_SLUG, Question.code == code)
    ).one()
