"""Size limits: a request, an answer, and a CSV import's bytes and rows. Each is refused with a
message saying what the limit is, and nothing is stored; just inside the limit is accepted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlmodel import Session, select

from survey_app.models import AuditEvent, Organisation
from tests.conftest import count_responses, csrf_token
from tests.test_respond import PLACEMENT, placement_answers


def run(runner: FlaskCliRunner, *args: str) -> Any:
    return runner.invoke(args=list(args))


def _organisation_codes(session: Session) -> set[str]:
    session.expire_all()
    return set(session.exec(select(Organisation.code)).all())


def _audit_actions(session: Session) -> list[str]:
    session.expire_all()
    return list(session.exec(select(AuditEvent.action)).all())


def test_an_oversized_form_gets_a_page_saying_so_and_nothing_is_stored(
    app: Flask, client: FlaskClient, hubs: Any, db_session: Session
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 4096
    # Within the answer-length limit (5,000 characters), over the request limit.
    data = placement_answers(client, worked_well="x" * 5000)
    response = client.post(PLACEMENT, data=data)
    assert response.status_code == 413
    assert "What you sent is too large" in response.text
    assert "up to 4 KB" in response.text and "Nothing was saved" in response.text
    assert count_responses(db_session) == 0

    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    accepted = client.post(PLACEMENT, data=placement_answers(client, worked_well="x" * 5000))
    assert accepted.status_code in (200, 302, 303)
    assert count_responses(db_session) == 1


def test_an_oversized_sign_in_gets_the_same_page(
    app: Flask, client: FlaskClient, surveys: Any
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 2048
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": "a@example.nhs.uk",
            "password": "p" * 3000,
            "csrf_token": csrf_token(page.text),
        },
    )
    assert response.status_code == 413
    assert "What you sent is too large" in response.text and "up to 2 KB" in response.text


def test_an_answer_over_max_text_answer_is_refused_on_its_field(
    app: Flask, client: FlaskClient, hubs: Any, db_session: Session
) -> None:
    app.config["MAX_TEXT_ANSWER"] = 100
    refused = client.post(PLACEMENT, data=placement_answers(client, worked_well="é" * 101))
    assert refused.status_code == 400
    assert 'href="#worked_well"' in refused.text
    assert "Your answer must be 100 characters or fewer; it has 101" in refused.text
    assert count_responses(db_session) == 0

    accepted = client.post(PLACEMENT, data=placement_answers(client, worked_well="é" * 100))
    assert accepted.status_code in (200, 302, 303)
    assert count_responses(db_session) == 1


def _hubs_csv(path: Path, count: int) -> Path:
    rows = "".join(f"H-T{number},Test Hub {number},hub,QKS\n" for number in range(count))
    path.write_text("code,name,level,parent_code\n" + rows, encoding="utf-8")
    return path


def test_an_organisations_file_over_max_import_rows_is_refused(
    app: Flask, runner: FlaskCliRunner, db_session: Session, surveys: Any, tmp_path: Path
) -> None:
    app.config["MAX_IMPORT_ROWS"] = 3
    before = _organisation_codes(db_session)
    events_before = _audit_actions(db_session)
    too_many = _hubs_csv(tmp_path / "four-hubs.csv", 4)
    result = run(runner, "orgs", "import", str(too_many))
    assert result.exit_code != 0
    assert f"{too_many}: more than 3 rows" in result.output
    assert "MAX_IMPORT_ROWS" in result.output
    assert _organisation_codes(db_session) == before
    assert _audit_actions(db_session) == events_before

    just_enough = _hubs_csv(tmp_path / "three-hubs.csv", 3)
    assert run(runner, "orgs", "import", str(just_enough)).exit_code == 0
    assert _organisation_codes(db_session) == before | {"H-T0", "H-T1", "H-T2"}


def _placement_csv(path: Path, count: int) -> Path:
    rows = "P-EK1,gp-trainee,postgraduate,4,4\n" * count
    path.write_text("org_code,profession,stage,sup_named,overall\n" + rows, encoding="utf-8")
    return path


def test_a_responses_file_over_max_import_rows_is_refused(
    app: Flask, runner: FlaskCliRunner, db_session: Session, hubs: Any, tmp_path: Path
) -> None:
    app.config["MAX_IMPORT_ROWS"] = 3
    too_many = _placement_csv(tmp_path / "four.csv", 4)
    result = run(runner, "import-responses", "placement-quality", str(too_many))
    assert result.exit_code != 0
    assert f"{too_many}: more than 3 rows" in result.output
    assert "MAX_IMPORT_ROWS" in result.output
    assert count_responses(db_session) == 0

    just_enough = _placement_csv(tmp_path / "three.csv", 3)
    accepted = run(runner, "import-responses", "placement-quality", str(just_enough))
    assert accepted.exit_code == 0, accepted.output
    assert count_responses(db_session) == 3


@pytest.mark.parametrize("command", ["orgs", "responses"])
def test_a_file_over_max_import_bytes_is_refused_before_it_is_read(
    app: Flask,
    runner: FlaskCliRunner,
    db_session: Session,
    hubs: Any,
    tmp_path: Path,
    command: str,
) -> None:
    if command == "orgs":
        file = _hubs_csv(tmp_path / "hubs.csv", 60)
        args = ["orgs", "import", str(file)]
    else:
        file = _placement_csv(tmp_path / "responses.csv", 60)
        args = ["import-responses", "placement-quality", str(file)]
    size = file.stat().st_size
    assert size > 1024
    before = _organisation_codes(db_session)
    app.config["MAX_IMPORT_BYTES"] = size - 1
    result = run(runner, *args)
    assert result.exit_code != 0
    assert f"{file}: the file is {size:,} bytes" in result.output
    assert f"over the import limit of {size - 1:,} bytes (MAX_IMPORT_BYTES)" in result.output
    assert _organisation_codes(db_session) == before
    assert count_responses(db_session) == 0

    app.config["MAX_IMPORT_BYTES"] = size
    accepted = run(runner, *args)
    assert accepted.exit_code == 0, accepted.output
