"""A respondent's pages: the open link, invitations, and every kind of bad input."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlmodel import Session, select

from survey_app.models import Answer, Invitation, Organisation, Response, Survey
from survey_app.services.invitations import create_invitations
from tests.conftest import POSTGRES_URL, count_responses, csrf_token, release_held

PLACEMENT = "/s/placement-quality"


def placement_answers(client: FlaskClient, **overrides: str) -> dict[str, Any]:
    """A complete, valid placement submission with a fresh CSRF token; overrides replace or,
    set to None, remove fields."""
    page = client.get(PLACEMENT)
    data: dict[str, Any] = {
        "csrf_token": csrf_token(page.text),
        "organisation": "P-EK1",
        "profession": "pharmacist",
        "stage": "newly-qualified",
        "length": "1-to-3-months",
        "ind_welcome": "4",
        "sup_named": "5",
        "overall": "4",
        "worked_well": "My supervisor made time for a debrief every day.",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_open_link_form_is_accessible_markup(client: FlaskClient, hubs: Any) -> None:
    from tests.test_paged_form import press

    page = client.get(PLACEMENT)
    assert page.status_code == 200
    html = page.text
    assert '<html lang="en">' in html
    # The first page: where the placement was, and each choice a fieldset with labelled radios.
    assert 'id="organisation"' in html and "Cathedral Surgery (P-EK1)" in html
    assert "<legend" in html and 'for="profession"' in html and 'id="profession"' in html
    assert "<script>" not in html  # no inline script, so the CSP can forbid it
    # The next page: each statement is a fieldset with a legend and labelled radios.
    first = {"profession": "student-nurse", "stage": "pre-registration", "length": "2-to-4-weeks"}
    html = press(client, PLACEMENT, page, "continue", organisation="P-EK1", **first).text
    assert "<legend" in html and "I was welcomed and introduced to the team" in html
    assert 'for="ind_welcome"' in html and 'id="ind_welcome"' in html
    assert "Strongly disagree" in html and "Strongly agree" in html
    assert "(optional)" in html
    assert "<script>" not in html


def test_valid_submission_is_stored_and_thanked(
    client: FlaskClient, hubs: Any, db_session: Session, surveys: dict[str, Survey]
) -> None:
    response = client.post(PLACEMENT, data=placement_answers(client, ind_welcome="2"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/s/placement-quality/thanks")
    assert "your answers have been saved" in client.get(response.headers["Location"]).text
    stored = db_session.exec(select(Response)).one()
    assert db_session.get(Organisation, stored.organisation_id).code == "P-EK1"
    # Anonymous survey: only the date of submission is kept.
    assert (stored.submitted_at.hour, stored.submitted_at.minute, stored.submitted_at.second) == (
        0,
        0,
        0,
    )
    answers = {a.question_id: a for a in db_session.exec(select(Answer)).all()}
    by_code = {q.code: q.id for q in surveys["placement-quality"].questions}
    assert answers[by_code["ind_welcome"]].value == 2
    assert answers[by_code["worked_well"]].text.startswith("My supervisor")
    assert by_code["cul_valued"] not in answers  # left empty: no row


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"ind_welcome": "9"}, "ind_welcome", "Choose one of the answers from 1 to 5"),
        ({"ind_welcome": "four"}, "ind_welcome", "Choose one of the answers from 1 to 5"),
        ({"profession": "astronaut"}, "profession", "Choose one of the options listed"),
        ({"profession": None}, "profession", "Select an answer to this question"),
        ({"overall": None}, "overall", "Select an answer to this question"),
        ({"worked_well": "x" * 5001}, "worked_well", "5,000 characters or fewer"),
        ({"organisation": "NOPE"}, "organisation", "Select an organisation from the list"),
        ({"organisation": "QKS"}, "organisation", "Select an organisation from the list"),
        ({"organisation": None}, "organisation", "Select the organisation from the list"),
    ],
    ids=[
        "likert-out-of-scale",
        "likert-not-a-number",
        "unknown-option",
        "missing-required",
        "missing-overall",
        "text-too-long",
        "unknown-org",
        "org-wrong-level",
        "missing-org",
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_stored(
    client: FlaskClient,
    hubs: Any,
    db_session: Session,
    overrides: dict[str, str | None],
    field: str,
    message: str,
) -> None:
    response = client.post(PLACEMENT, data=placement_answers(client, **overrides))
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert f'href="#{field}"' in response.text  # the error summary links to the field
    assert message in response.text
    assert count_responses(db_session) == 0


def test_answers_are_kept_on_the_page_after_an_error(client: FlaskClient, hubs: Any) -> None:
    data = placement_answers(client, profession=None, worked_well="Lovely team")
    page = client.post(PLACEMENT, data=data)
    assert page.status_code == 400
    assert "Lovely team" in page.text
    assert (
        'value="4" checked' in page.text.replace("\n", "").replace("  ", "")
        or "checked" in page.text
    )


@pytest.mark.parametrize("token", [None, "not-the-token"], ids=["missing", "wrong"])
def test_csrf_failure_is_refused_and_nothing_stored(
    client: FlaskClient, hubs: Any, db_session: Session, token: str | None
) -> None:
    data = placement_answers(client, csrf_token=token)
    response = client.post(PLACEMENT, data=data)
    assert response.status_code == 400
    assert "expired" in response.text or "CSRF" in response.text
    assert count_responses(db_session) == 0


def test_closed_survey_answers_404_and_stores_nothing(
    client: FlaskClient, hubs: Any, db_session: Session, surveys: dict[str, Survey]
) -> None:
    data = placement_answers(client)
    survey = surveys["placement-quality"]
    survey.close()
    db_session.add(survey)
    db_session.commit()
    assert client.get(PLACEMENT).status_code == 404
    response = client.post(PLACEMENT, data=data)
    assert response.status_code == 404
    assert "not open" in response.text
    assert count_responses(db_session) == 0


def test_survey_without_open_link_answers_404(client: FlaskClient, surveys: Any) -> None:
    assert client.get("/s/icb-leaders").status_code == 404
    assert client.get("/s/no-such-survey").status_code == 404


def _invite(db_session: Session, survey: Survey, org_code: str) -> str:
    org = db_session.exec(select(Organisation).where(Organisation.code == org_code)).one()
    return create_invitations(db_session, survey, org, 1, "http://testserver")[0].token


def leader_answers(client: FlaskClient, url: str, **overrides: str) -> dict[str, Any]:
    page = client.get(url)
    assert page.status_code == 200, page.text
    data = {
        "csrf_token": csrf_token(page.text),
        "fund_government": "2",
        "hub_effective": "4",
        "icb_support": "Our training hub runs a mentoring scheme for ARRS staff.",
        "on_record": "yes",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_invitation_is_single_use(
    client: FlaskClient, db_session: Session, surveys: dict[str, Survey]
) -> None:
    token = _invite(db_session, surveys["icb-leaders"], "QKS")
    url = f"/s/icb-leaders/{token}"
    assert "NHS Kent and Medway Integrated Care Board" in client.get(url).text
    data = leader_answers(client, url)
    assert client.post(url, data=data).status_code == 303
    stored = db_session.exec(select(Response)).one()
    assert stored.on_record is True
    assert db_session.get(Organisation, stored.organisation_id).code == "QKS"
    # The same link again: 410 Gone, with the same message as an unknown link.
    used = client.get(url)
    assert used.status_code == 410
    again = client.post(url, data=data)
    assert again.status_code == 410
    unknown = client.get("/s/icb-leaders/" + "A" * 43)
    assert unknown.status_code == 404
    assert "It may have been used already, or mistyped" in used.text
    assert "It may have been used already, or mistyped" in unknown.text
    assert count_responses(db_session) == 1


def test_on_record_question_is_required(
    client: FlaskClient, db_session: Session, surveys: dict[str, Survey]
) -> None:
    token = _invite(db_session, surveys["icb-leaders"], "QNX")
    url = f"/s/icb-leaders/{token}"
    response = client.post(url, data=leader_answers(client, url, on_record=None))
    assert response.status_code == 400
    assert "Select yes or no" in response.text
    assert count_responses(db_session) == 0
    assert db_session.exec(select(Invitation)).one().used_at is None


def test_anonymous_response_carries_no_link_to_its_invitation(
    client: FlaskClient, hubs: Any, db_session: Session, surveys: dict[str, Survey]
) -> None:
    token = _invite(db_session, surveys["placement-quality"], "P-WK1")
    url = f"/s/placement-quality/{token}"
    data = placement_answers(client, organisation=None)
    data["csrf_token"] = csrf_token(client.get(url).text)
    assert client.post(url, data=data).status_code == 303
    response_columns = {column.name for column in Response.__table__.columns}
    assert not any(
        "invit" in name or "token" in name or "user" in name for name in response_columns
    )
    invitation = db_session.exec(select(Invitation)).one()
    # Held until it can be released with others (here: alone, as at the wave's close).
    assert count_responses(db_session) == 0
    assert release_held(db_session) == 1
    stored = db_session.exec(select(Response)).one()
    # Both times are dates only, so the moment of use cannot tie the two together.
    assert invitation.used_at == stored.submitted_at
    assert invitation.used_at.time().isoformat() == "00:00:00"
    # The token itself is not stored anywhere, only its digest.
    with db_session.connection() as connection:
        dump = str(connection.execute(sa.select(Invitation.__table__)).all())
    assert token not in dump


@pytest.mark.skipif(
    not POSTGRES_URL, reason="concurrent writers need PostgreSQL (TEST_DATABASE_URL)"
)
def test_two_simultaneous_submissions_of_one_token_store_one(
    app: Any, db_session: Session, surveys: dict[str, Survey]
) -> None:
    token = _invite(db_session, surveys["icb-leaders"], "QXU")
    url = f"/s/icb-leaders/{token}"
    clients = [app.test_client(), app.test_client()]
    payloads = [leader_answers(c, url) for c in clients]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def submit(index: int) -> None:
        barrier.wait()
        statuses.append(clients[index].post(url, data=payloads[index]).status_code)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [303, 410]
    assert count_responses(db_session) == 1


def test_landing_page_lists_open_surveys(client: FlaskClient, surveys: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Primary care placement quality survey" in page.text
    assert "ICB primary care leaders survey" not in page.text  # invitation only


def test_pages_carry_security_headers(client: FlaskClient, surveys: Any) -> None:
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


def _unused(_: Callable[..., Any]) -> None:  # pragma: no cover
    pass


def test_guessing_invitation_links_is_rate_limited(
    surveys: Any, limited_client: FlaskClient
) -> None:
    statuses = [
        limited_client.get(f"/s/icb-leaders/{'guess' * 5}{i:04d}").status_code for i in range(32)
    ]
    assert statuses[:30] == [404] * 30
    assert statuses[30:] == [429, 429]
