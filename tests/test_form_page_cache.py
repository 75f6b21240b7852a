"""The open-link form's questions are rendered once per process and reused: what a respondent
sees must still follow the organisations and the survey definition as they are now."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlmodel import Session

from survey_app.models import Organisation, Survey
from survey_app.models.surveys import new_definition_revision
from tests.test_lost_connection import hidden_field
from tests.test_respond import PLACEMENT


def test_each_form_page_has_its_own_key_and_token(client: FlaskClient, hubs: Any) -> None:
    first, second = client.get(PLACEMENT).text, client.get(PLACEMENT).text
    assert hidden_field(first, "submission_key") != hidden_field(second, "submission_key")
    assert "Cathedral Surgery (P-EK1)" in second


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
