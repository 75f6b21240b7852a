"""Invited answers to an anonymous survey are held and released into responses in shuffled
batches of at least ten, by transactions that touch no invitation: what a database
administrator can read (row headers, dead rows, ids, row order) does not pair a response with
the invitation it used. The ICB leader survey, on the record, and open links store at once."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from survey_app import config, create_app
from survey_app.models import (
    Answer,
    HeldSubmission,
    Invitation,
    Organisation,
    Response,
    SavedAnswers,
    Survey,
    Wave,
    stored_id,
)
from survey_app.questions import ParsedAnswer
from survey_app.services import holding
from survey_app.services.invitations import create_invitations
from survey_app.services.response_rows import NewResponse
from survey_app.services.responses import submit_response, utcnow
from survey_app.services.surveys import survey_by_slug
from tests.conftest import POSTGRES_URL, count_responses, csrf_token
from tests.test_paged_form import press
from tests.test_respond import placement_answers

PLACEMENT = "placement-quality"

needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL, reason="row headers, locks and pages of PostgreSQL (TEST_DATABASE_URL)"
)


def _invitations(session: Session, survey: Survey, org_code: str, count: int) -> list[Invitation]:
    organisation = session.exec(select(Organisation).where(Organisation.code == org_code)).one()
    create_invitations(session, survey, organisation, count, "http://testserver")
    return list(
        session.exec(
            select(Invitation)
            .where(Invitation.survey_id == survey.id, Invitation.organisation_id == organisation.id)
            .order_by(Invitation.id)  # type: ignore[arg-type]
        ).all()
    )


def _send(session: Session, survey: Survey, invitation: Invitation, number: int) -> object:
    """Submit through `invitation` an answer that says which it is: the comment "answer NN"
    and an overall rating of NN mod 5 + 1."""
    questions = {question.code: question for question in survey.questions}
    answers = {
        stored_id(questions["overall"]): ParsedAnswer(value=number % 5 + 1),
        stored_id(questions["worked_well"]): ParsedAnswer(text=f"answer {number:02d}"),
    }
    organisation = session.get(Organisation, invitation.organisation_id)
    assert organisation is not None
    return submit_response(
        session, survey, organisation, answers, invitation=invitation, submission_key=f"k{number}"
    )


def _comments_by_id(session: Session) -> dict[int, str]:
    """Each stored response's comment ("answer NN"), by response id."""
    session.expire_all()
    rows = session.exec(
        select(Answer.response_id, Answer.text).where(Answer.text.is_not(None))  # type: ignore[union-attr]
    ).all()
    return {response_id: text for response_id, text in rows if text is not None}


def _held(session: Session) -> int:
    session.expire_all()
    return len(session.exec(select(HeldSubmission.id)).all())


def _send_many(
    session: Session, count: int, org_code: str = "P-EK1", first: int = 0
) -> list[Invitation]:
    """Send `count` answers through new invitations for `org_code`, numbered from `first`."""
    survey = survey_by_slug(session, PLACEMENT)
    assert survey is not None
    invitations = _invitations(session, survey, org_code, count)
    for number, invitation in enumerate(invitations, start=first):
        _send(session, survey, invitation, number)
    return invitations


# --- batches ---------------------------------------------------------------------------------


def test_nine_invited_answers_stay_held_and_the_tenth_releases_all_ten(
    db_session: Session, hubs: Any
) -> None:
    survey = survey_by_slug(db_session, PLACEMENT)
    assert survey is not None
    invitations = _invitations(db_session, survey, "P-EK1", 10)
    for number, invitation in enumerate(invitations[:9]):
        assert isinstance(_send(db_session, survey, invitation, number), HeldSubmission)
    # Nine sent: each link is used, none is a response yet.
    assert count_responses(db_session) == 0 and _held(db_session) == 9
    used = db_session.exec(select(Invitation).where(Invitation.used_at.is_not(None)))  # type: ignore[union-attr]
    assert len(used.all()) == 9
    assert holding.move_held(holding.engine_of(db_session), stored_id(survey.current_wave)) == 0
    assert count_responses(db_session) == 0 and _held(db_session) == 9

    _send(db_session, survey, invitations[9], 9)
    assert _held(db_session) == 0
    comments = _comments_by_id(db_session)
    assert sorted(comments.values()) == [f"answer {number:02d}" for number in range(10)]
    # Each released response is the submission as sent: its rating, its date only.
    responses = db_session.exec(select(Response)).all()
    for response in responses:
        number = int(comments[stored_id(response)].removeprefix("answer "))
        ratings = db_session.exec(
            select(Answer.value).where(
                Answer.response_id == response.id,
                Answer.value.is_not(None),  # type: ignore[union-attr]
            )
        ).all()
        assert ratings == [number % 5 + 1]
        assert response.wave_id == survey.current_wave.id
        assert response.submitted_at.time().isoformat() == "00:00:00"
        assert response.submitted_at.date() == utcnow().date()
        assert response.likert_values is not None and str(number % 5 + 1) in response.likert_values


def test_on_record_and_open_link_answers_are_responses_at_once(
    client: FlaskClient, db_session: Session, surveys: dict[str, Survey], hubs: Any
) -> None:
    leaders = surveys["icb-leaders"]
    invitation = _invitations(db_session, leaders, "QKS", 1)[0]
    questions = {question.code: question for question in leaders.questions}
    kent = db_session.get(Organisation, invitation.organisation_id)
    assert kent is not None
    stored = submit_response(
        db_session,
        leaders,
        kent,
        {stored_id(questions["hub_effective"]): ParsedAnswer(value=4)},
        invitation=invitation,
    )
    assert isinstance(stored, Response) and count_responses(db_session) == 1
    assert client.post("/s/placement-quality", data=placement_answers(client)).status_code == 303
    assert count_responses(db_session) == 2 and _held(db_session) == 0


def test_a_batch_is_numbered_in_the_order_it_was_shuffled_into_not_the_order_sent(
    db_session: Session, hubs: Any
) -> None:
    _send_many(db_session, 9)
    survey = survey_by_slug(db_session, PLACEMENT)
    assert survey is not None
    handed: list[str] = []

    def latest_sent_first(batch: list[NewResponse]) -> None:
        handed.extend(str(new.answers[_worked_well(survey)].text) for new in batch)
        batch.sort(key=lambda new: str(new.answers[_worked_well(survey)].text), reverse=True)

    moved = holding.move_held(
        holding.engine_of(db_session),
        stored_id(survey.current_wave),
        min_batch=9,
        shuffle=latest_sent_first,
    )
    assert moved == 9 and sorted(handed) == [f"answer {n:02d}" for n in range(9)]
    comments = _comments_by_id(db_session)
    in_sending_order = sorted(comments, key=lambda response_id: comments[response_id])
    # The ids run against the order of sending, as the shuffle put them.
    assert in_sending_order == sorted(in_sending_order, reverse=True)


def _worked_well(survey: Survey) -> int:
    return next(stored_id(q) for q in survey.questions if q.code == "worked_well")


def test_the_same_page_sent_again_while_held_is_stored_once(
    client: FlaskClient, db_session: Session, surveys: dict[str, Survey], hubs: Any
) -> None:
    invitation_url = (
        "/s/placement-quality/"
        + create_invitations(
            db_session,
            surveys[PLACEMENT],
            db_session.exec(select(Organisation).where(Organisation.code == "P-WK1")).one(),
            1,
            "http://testserver",
        )[0].token
    )
    data = placement_answers(client, organisation=None)
    page = client.get(invitation_url).text
    data["csrf_token"] = csrf_token(page)
    key = page.split('name="submission_key" type="hidden" value="')[1].split('"')[0]
    data["submission_key"] = key
    assert client.post(invitation_url, data=data).status_code == 303
    # The reply was lost; the same page is sent again: thanked, not refused, not stored twice.
    again = client.post(invitation_url, data=data)
    assert again.status_code == 303 and again.location.endswith("/thanks")
    assert _held(db_session) == 1 and count_responses(db_session) == 0
    assert db_session.exec(select(HeldSubmission)).one().submission_key == key


# --- nothing lost, nothing twice -------------------------------------------------------------


def test_answers_held_when_the_app_stops_are_released_by_a_new_one_at_close(
    app: Flask, client: FlaskClient, db_session: Session, surveys: dict[str, Survey], hubs: Any
) -> None:
    tokens = create_invitations(
        db_session,
        surveys[PLACEMENT],
        db_session.exec(select(Organisation).where(Organisation.code == "P-WK1")).one(),
        3,
        "http://testserver",
    )
    for number, issued in enumerate(tokens):
        url = f"/s/placement-quality/{issued.token}"
        data = placement_answers(client, organisation=None, worked_well=f"answer {number:02d}")
        data["csrf_token"] = csrf_token(client.get(url).text)
        assert client.post(url, data=data).status_code == 303
    assert _held(db_session) == 3
    # The application stops with three answers held (its connections closed); another starts
    # on the same database.
    db_session.close()
    app.extensions["survey_app.engine"].dispose()
    restarted = create_app(config.TestConfig(str(app.config["DATABASE_URL"])))
    runner = restarted.test_cli_runner()
    try:
        waiting = runner.invoke(args=["responses", "release-held"])
        assert waiting.exit_code == 0, waiting.output
        assert "released 0 held submissions into responses, 3 still held" in waiting.output
        assert count_responses(db_session) == 0
        closed = runner.invoke(args=["surveys", "close", PLACEMENT])
        assert closed.exit_code == 0, closed.output
    finally:
        restarted.extensions["survey_app.engine"].dispose()
    assert _held(db_session) == 0
    assert sorted(_comments_by_id(db_session).values()) == ["answer 00", "answer 01", "answer 02"]


def test_purge_releases_what_a_wave_closed_by_its_date_still_held(
    runner: Any, db_session: Session, hubs: Any
) -> None:
    _send_many(db_session, 4)
    wave = db_session.exec(select(Wave)).all()
    placement = next(w for w in wave if w.survey_id == survey_by_slug(db_session, PLACEMENT).id)  # type: ignore[union-attr]
    placement.closes_at = utcnow() - timedelta(minutes=1)
    db_session.add(placement)
    db_session.commit()
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "placement-quality wave 1: released 4 held submissions into responses" in result.output
    assert _held(db_session) == 0 and count_responses(db_session) == 4


def test_two_releases_at_once_move_each_held_answer_once(
    app: Flask, db_session: Session, hubs: Any
) -> None:
    _send_many(db_session, 9)
    survey = survey_by_slug(db_session, PLACEMENT)
    assert survey is not None
    engine = app.extensions["survey_app.engine"]
    wave_id = stored_id(survey.current_wave)
    barrier = threading.Barrier(2)
    moved: list[int] = []
    failures: list[BaseException] = []

    def release() -> None:
        try:
            barrier.wait()
            moved.append(holding.move_held(engine, wave_id, min_batch=1))
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=release) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    # Whichever got there first moved them; whatever was left (rows the other had locked)
    # the next release moves: never one twice, never one lost.
    moved.append(holding.move_held(engine, wave_id, min_batch=1))
    assert sum(moved) == 9
    assert sorted(_comments_by_id(db_session).values()) == [f"answer {n:02d}" for n in range(9)]
    assert _held(db_session) == 0 and count_responses(db_session) == 9


@pytest.mark.postgres_only
@needs_postgres
def test_a_release_skips_held_rows_another_has_locked_and_moves_none_below_a_batch(
    app: Flask, db_session: Session, hubs: Any
) -> None:
    _send_many(db_session, 9)
    survey = survey_by_slug(db_session, PLACEMENT)
    assert survey is not None
    engine = app.extensions["survey_app.engine"]
    wave_id = stored_id(survey.current_wave)
    with engine.connect() as other:
        # Another release has taken three of them and not yet committed.
        other.execute(sa.text("SELECT id FROM heldsubmission ORDER BY id LIMIT 3 FOR UPDATE")).all()
        # This one neither waits for them nor moves them: six left, fewer than it needs ...
        assert holding.move_held(engine, wave_id, min_batch=7) == 0
        # ... or moves the six it could take.
        assert holding.move_held(engine, wave_id, min_batch=6) == 6
        other.rollback()
    assert _held(db_session) == 3 and count_responses(db_session) == 6


# --- what a database administrator can read (PostgreSQL) --------------------------------------


@pytest.mark.postgres_only
@needs_postgres
def test_no_response_or_answer_shares_a_transaction_with_an_invitation(
    db_session: Session, hubs: Any
) -> None:
    _send_many(db_session, 7, "P-EK1")
    _send_many(db_session, 5, "P-WK1", first=7)
    # Twelve sent: ten released together, two still held.
    assert count_responses(db_session) == 10 and _held(db_session) == 2
    db_session.commit()
    with db_session.connection() as connection:
        linked = connection.execute(
            sa.text("SELECT count(*) FROM invitation i JOIN response r ON r.xmin = i.xmin")
        ).scalar_one()
        linked_answers = connection.execute(
            sa.text("SELECT count(*) FROM invitation i JOIN answer a ON a.xmin = i.xmin")
        ).scalar_one()
        invitation_xids = set(
            connection.execute(sa.text("SELECT xmin::text FROM invitation")).scalars()
        )
        response_xids = set(
            connection.execute(sa.text("SELECT xmin::text FROM response")).scalars()
        )
    assert linked == 0 and linked_answers == 0
    assert not invitation_xids & response_xids
    # The ten were written by one transaction: one batch, not ten claims.
    assert len(response_xids) == 1


def _pageinspect(connection: sa.Connection) -> None:
    try:
        with connection.begin_nested():
            connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
    except sa.exc.DBAPIError as error:
        pytest.skip(f"pageinspect is not available on this server: {error.orig}")


@pytest.mark.postgres_only
@needs_postgres
def test_no_dead_held_row_or_saved_answers_outlive_a_release(
    app: Flask, client: FlaskClient, db_session: Session, hubs: Any
) -> None:
    survey = survey_by_slug(db_session, PLACEMENT)
    assert survey is not None
    # One invitee saves part-way first, so a saved-answers row is deleted by the claim too.
    issued = create_invitations(
        db_session,
        survey,
        db_session.exec(select(Organisation).where(Organisation.code == "P-WK1")).one(),
        1,
        "http://testserver",
    )[0]
    url = f"/s/placement-quality/{issued.token}"
    saving = press(client, url, client.get(url), "save", profession="pharmacist")
    assert saving.status_code == 200, saving.text
    assert db_session.exec(select(SavedAnswers)).first() is not None
    db_session.commit()
    data = placement_answers(client, organisation=None, worked_well="saved then sent")
    data["csrf_token"] = csrf_token(client.get(url).text)
    assert client.post(url, data=data).status_code == 303
    _send_many(db_session, 11)
    db_session.commit()
    assert count_responses(db_session) == 10 and _held(db_session) == 2
    engine = app.extensions["survey_app.engine"]
    with engine.connect() as connection:
        _pageinspect(connection)
        held_texts = [
            row for (row,) in connection.execute(sa.text("SELECT payload FROM heldsubmission"))
        ]
        pages = {}
        for table in ("heldsubmission", "savedanswers"):
            blocks = connection.execute(
                sa.text(f"SELECT pg_relation_size('{table}') / current_setting('block_size')::int")
            ).scalar_one()
            pages[table] = [
                connection.execute(
                    sa.text("SELECT get_raw_page(:table, :block)"),
                    {"table": table, "block": block},
                ).scalar_one()
                for block in range(blocks)
            ]
            items = connection.execute(
                sa.text(
                    "SELECT count(*) FROM generate_series(0, :blocks - 1) AS block, "
                    "heap_page_items(get_raw_page(:table, block::int)) "
                    "WHERE t_data IS NOT NULL AND t_xmax <> 0"
                ),
                {"table": table, "blocks": blocks},
            ).scalar_one()
            # No deleted row version is left holding its data ...
            assert items == 0, f"{table} keeps {items} deleted row(s)"
    # ... nor its bytes in the pages' free space: only the two still held are there.
    released = {f"answer {n:02d}" for n in range(11)} | {"saved then sent"}
    live = {text for text in released if any(text in payload for payload in held_texts)}
    assert len(live) == 2
    for table, raw_pages in pages.items():
        for text in released - live:
            assert not any(text.encode() in page for page in raw_pages), (table, text)
