"""Data protection: retention periods, `survey-app purge`, and deleting one response on request.

Each test checks the rows that remain (responses, their answers, invitations), that no answer
is left without its response, and that the reports count only what remains.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlmodel import Session, col, select, update

from survey_app.definitions import shipped_definition_paths
from survey_app.models import Answer, AuditEvent, Invitation, Response, Survey
from survey_app.reporting.report_store import read_report, store_report
from survey_app.reporting.summary_data import load_summary
from survey_app.services.invitations import create_invitations
from survey_app.services.organisations import organisation_by_code
from survey_app.services.responses import import_responses, utcnow
from survey_app.services.surveys import survey_by_slug

PLACEMENT = "placement-quality"
LEADERS = "icb-leaders"


def run(runner: FlaskCliRunner, *args: str, input: str | None = None) -> Any:
    return runner.invoke(args=list(args), input=input)


def _days_ago(days: int) -> str:
    return (utcnow() - timedelta(days=days)).isoformat()


@pytest.fixture
def stored(db_session: Session, surveys: dict[str, Survey], hubs: Any) -> dict[str, list[int]]:
    """Placement responses from 400 days ago (3) and 10 days ago (2), each with 4 answers;
    ICB leader responses from 400 days ago (2, one on record) and today (1). Returns the
    response ids by "old"/"new" and survey."""
    placement = (
        "org_code,submitted_at,profession,stage,sup_named,overall\n"
        + f"P-EK1,{_days_ago(400)},gp-trainee,postgraduate,4,4\n" * 3
        + f"P-WK1,{_days_ago(10)},pharmacist,experienced,2,3\n" * 2
    )
    import_responses(db_session, surveys[PLACEMENT], placement, "placement.csv", 5000)
    leaders = (
        "org_code,submitted_at,on_record,fund_icb,icb_support\n"
        f"QKS,{_days_ago(400)},true,4,Our training hub is excellent\n"
        f"QNX,{_days_ago(400)},false,2,More funding for ARRS please\n"
        f"QKS,{_days_ago(0)},false,3,Mentoring helps\n"
    )
    import_responses(db_session, surveys[LEADERS], leaders, "leaders.csv", 5000)
    ids: dict[str, list[int]] = {}
    cutoff = utcnow() - timedelta(days=365)
    for slug, survey in surveys.items():
        rows = db_session.exec(
            select(Response.id, Response.submitted_at)
            .where(Response.survey_id == survey.id)
            .order_by(Response.id)
        ).all()
        ids[f"{slug} old"] = [rid for rid, when in rows if when < cutoff]
        ids[f"{slug} new"] = [rid for rid, when in rows if when >= cutoff]
    return ids


def _response_ids(session: Session) -> set[int]:
    session.expire_all()
    return set(session.exec(select(Response.id)).all())


def _answer_response_ids(session: Session) -> list[int]:
    return list(session.exec(select(Answer.response_id)).all())


def _orphan_answers(session: Session) -> int:
    """Answers whose response is gone: none may ever exist."""
    statement = (
        select(sa.func.count())
        .select_from(Answer)
        .outerjoin(Response, col(Response.id) == Answer.response_id)
        .where(col(Response.id).is_(None))
    )
    return session.exec(statement).one()


def _events(session: Session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_retention_is_set_from_the_command_line_and_recorded(
    runner: FlaskCliRunner, db_session: Session, surveys: Any
) -> None:
    result = run(runner, "surveys", "retention", PLACEMENT, "365")
    assert result.exit_code == 0, result.output
    assert "kept 365 days" in result.output
    shown = json.loads(run(runner, "surveys", "show", PLACEMENT, "--format", "json").output)
    assert shown["retention_days"] == 365
    cleared = run(runner, "surveys", "retention", PLACEMENT, "keep")
    assert cleared.exit_code == 0 and "until deleted" in cleared.output
    db_session.expire_all()
    assert survey_by_slug(db_session, PLACEMENT).retention_days is None  # type: ignore[union-attr]
    changes = [event.details for event in _events(db_session, "retention-set")]
    assert {"before_days": None, "after_days": 365} in changes
    assert {"before_days": 365, "after_days": None} in changes


@pytest.mark.parametrize("days", ["0", "2.5", "a year", "36501"])
def test_a_bad_retention_period_is_refused(
    runner: FlaskCliRunner, db_session: Session, surveys: Any, days: str
) -> None:
    result = run(runner, "surveys", "retention", PLACEMENT, days)
    assert result.exit_code != 0
    assert "days" in result.output
    db_session.expire_all()
    assert survey_by_slug(db_session, PLACEMENT).retention_days is None  # type: ignore[union-attr]


def test_retention_is_read_from_the_definition_file(
    runner: FlaskCliRunner, db_session: Session, surveys: Any, tmp_path: Path
) -> None:
    shipped = next(path for path in shipped_definition_paths() if path.stem == PLACEMENT)
    text = shipped.read_text(encoding="utf-8")
    definition = tmp_path / "placement.yaml"
    definition.write_text(text + "\nretention_days: 730\n", encoding="utf-8")
    assert run(runner, "surveys", "load", str(definition)).exit_code == 0
    db_session.expire_all()
    assert survey_by_slug(db_session, PLACEMENT).retention_days == 730  # type: ignore[union-attr]

    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(text + "\nretention_days: 0\n", encoding="utf-8")
    refused = run(runner, "surveys", "load", str(invalid))
    assert refused.exit_code != 0
    assert "invalid.yaml" in refused.output and "retention_days" in refused.output
    db_session.expire_all()
    assert survey_by_slug(db_session, PLACEMENT).retention_days == 730  # type: ignore[union-attr]


def test_purge_deletes_exactly_the_old_responses_and_no_answer_is_left_behind(
    runner: FlaskCliRunner, db_session: Session, stored: dict[str, list[int]]
) -> None:
    before = _answer_response_ids(db_session)
    assert run(runner, "surveys", "retention", PLACEMENT, "365").exit_code == 0

    result = run(runner, "purge")
    assert result.exit_code == 0, result.output
    assert f"{PLACEMENT}: deleted 3 responses submitted before " in result.output
    assert "12 answers" in result.output
    # The ICB leader survey has no retention period: its old responses stay.
    remaining = _response_ids(db_session)
    assert remaining == set(
        stored[f"{PLACEMENT} new"] + stored[f"{LEADERS} old"] + stored[f"{LEADERS} new"]
    )
    after = _answer_response_ids(db_session)
    assert sorted(after) == sorted(rid for rid in before if rid in remaining)
    assert _orphan_answers(db_session) == 0
    # The summaries count only what remains.
    summary = load_summary(db_session, survey_by_slug(db_session, PLACEMENT), None, None, 1)  # type: ignore[arg-type]
    assert summary["responses"] == 2
    [event] = _events(db_session, "responses-purged")
    assert event.target == PLACEMENT and event.actor == "cli"
    assert event.details["responses"] == 3 and event.details["answers"] == 12


def test_purge_deletes_invitations_used_before_the_cutoff_only(
    runner: FlaskCliRunner,
    db_session: Session,
    surveys: dict[str, Survey],
    stored: dict[str, list[int]],
) -> None:
    leaders = surveys[LEADERS]
    icb = organisation_by_code(db_session, "QKS")
    create_invitations(db_session, leaders, icb, 3, "http://test")  # type: ignore[arg-type]
    old_used, new_used, unused = db_session.exec(
        select(Invitation.id).order_by(Invitation.id)
    ).all()
    for invitation_id, days in ((old_used, 400), (new_used, 5)):
        db_session.exec(  # type: ignore[call-overload]
            update(Invitation)
            .where(col(Invitation.id) == invitation_id)
            .values(used_at=utcnow() - timedelta(days=days))
        )
    db_session.commit()
    assert run(runner, "surveys", "retention", LEADERS, "365").exit_code == 0

    result = run(runner, "purge", "--survey", LEADERS)
    assert result.exit_code == 0, result.output
    assert "deleted 2 responses" in result.output and "1 used invitations" in result.output
    db_session.expire_all()
    assert set(db_session.exec(select(Invitation.id)).all()) == {new_used, unused}
    assert _response_ids(db_session) == set(
        stored[f"{PLACEMENT} old"] + stored[f"{PLACEMENT} new"] + stored[f"{LEADERS} new"]
    )
    assert _orphan_answers(db_session) == 0


def test_a_dry_run_says_what_would_go_and_deletes_nothing(
    runner: FlaskCliRunner, db_session: Session, stored: dict[str, list[int]]
) -> None:
    assert run(runner, "surveys", "retention", PLACEMENT, "365").exit_code == 0
    before_responses = _response_ids(db_session)
    before_answers = _answer_response_ids(db_session)
    result = run(runner, "purge", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"{PLACEMENT}: would delete 3 responses" in result.output
    assert "12 answers" in result.output
    assert _response_ids(db_session) == before_responses
    assert _answer_response_ids(db_session) == before_answers
    assert _events(db_session, "responses-purged") == []


def test_purge_without_any_retention_period_deletes_nothing(
    runner: FlaskCliRunner, db_session: Session, stored: dict[str, list[int]]
) -> None:
    before = _response_ids(db_session)
    result = run(runner, "purge")
    assert result.exit_code == 0
    assert "no survey has a retention period" in result.output
    named = run(runner, "purge", "--survey", LEADERS)
    assert named.exit_code == 0 and "no retention period" in named.output
    assert _response_ids(db_session) == before
    unknown = run(runner, "purge", "--survey", "no-such-survey")
    assert unknown.exit_code != 0 and "no-such-survey" in unknown.output


def test_one_on_record_response_is_deleted_on_request(
    app: Flask,
    runner: FlaskCliRunner,
    db_session: Session,
    stored: dict[str, list[int]],
) -> None:
    # Found by its ICB, the way a leader's request is matched to their response.
    listing = run(runner, "responses", "list", LEADERS, "--org", "QKS", "--format", "json")
    assert listing.exit_code == 0, listing.output
    found = json.loads(listing.output)
    on_record = [entry for entry in found if entry["on_record"]]
    assert [entry["organisation"] for entry in found] == ["QKS", "QKS"]
    [request] = on_record
    assert request["answers"] == 2
    kept = b"%PDF-1.7 a report that still shows the response"
    store_report(db_session, "k" * 64, kept, max_bytes=10**6, keep=timedelta(hours=1))
    assert read_report(db_session, "k" * 64) == kept

    declined = run(runner, "responses", "delete", str(request["id"]), input="n\n")
    assert declined.exit_code != 0
    assert request["id"] in _response_ids(db_session)

    result = run(runner, "responses", "delete", str(request["id"]), "--yes")
    assert result.exit_code == 0, result.output
    assert f"deleted response {request['id']} and its 2 answers" in result.output
    remaining = _response_ids(db_session)
    assert request["id"] not in remaining
    assert len(remaining) == sum(len(ids) for ids in stored.values()) - 1
    assert request["id"] not in _answer_response_ids(db_session)
    assert _orphan_answers(db_session) == 0
    db_session.expire_all()
    assert read_report(db_session, "k" * 64) is None
    [event] = _events(db_session, "response-deleted")
    assert event.target == LEADERS
    assert event.details == {"response_id": request["id"], "answers": 2}


def test_deleting_an_anonymous_response_says_it_cannot_be_anyones_request(
    runner: FlaskCliRunner, db_session: Session, stored: dict[str, list[int]]
) -> None:
    response_id = stored[f"{PLACEMENT} new"][0]
    result = run(runner, "responses", "delete", str(response_id), "--yes")
    assert result.exit_code == 0, result.output
    assert "anonymous" in result.output
    assert response_id not in _response_ids(db_session)
    assert _orphan_answers(db_session) == 0
    missing = run(runner, "responses", "delete", str(response_id), "--yes")
    assert missing.exit_code != 0 and f"no response has the id {response_id}" in missing.output
