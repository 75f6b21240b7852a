"""The audit log: what is recorded, what an admin reads at /admin/audit and from the command
line, and that it never holds a password."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlmodel import Session, select

from survey_app.models import AuditAction, AuditEvent
from survey_app.services.audit import COMMAND_LINE, event_as_dict, record
from tests.conftest import csrf_token

# The staff tests' fixtures: a lead of East Kent, an admin, and 16 placement responses.
from tests.test_staff import ADMIN, LEAD, admin, lead, placement_data  # noqa: F401

WRONG_PASSWORD = "Tr0ub4dor&3-not-the-one"


def run(runner: FlaskCliRunner, *args: str) -> Any:
    return runner.invoke(args=list(args))


def _events(session: Session) -> list[AuditEvent]:
    session.expire_all()
    return list(session.exec(select(AuditEvent).order_by(AuditEvent.id)).all())


def _table_rows(html: str) -> list[list[str]]:
    """The audit table's body rows as the text of their cells."""
    body = html.split('<tbody class="nhsuk-table__body">', 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in rows
    ]


def _sign_out(client: FlaskClient) -> None:
    page = client.get("/reports")
    assert client.post("/logout", data={"csrf_token": csrf_token(page.text)}).status_code == 303


@pytest.mark.usefixtures("lead", "admin", "placement_data")
def test_an_admin_sees_a_leads_pdf_download_in_the_audit_log(
    client: FlaskClient,
    sign_in: Callable[..., Any],
) -> None:
    sign_in(LEAD)
    assert client.get("/reports/placement-quality.pdf").status_code == 200
    _sign_out(client)
    sign_in(ADMIN)

    page = client.get("/admin/audit")
    assert page.status_code == 200
    assert "<caption" in page.text and '<th scope="col"' in page.text
    rows = _table_rows(page.text)
    # Newest first: the admin's own sign-in, then the lead's sign-out, download and sign-in.
    assert [row[1:3] for row in rows[:4]] == [
        [ADMIN, "Sign in"],
        [LEAD, "Sign out"],
        [LEAD, "Report downloaded"],
        [LEAD, "Sign in"],
    ]
    download = rows[2]
    assert download[3] == "placement-quality"
    assert download[4] == "format: pdf; scope: H-EK; by: none; wave: 1"
    assert download[5] == "127.0.0.1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", download[0])


@pytest.mark.usefixtures("admin", "placement_data")
def test_reports_read_in_every_format_are_recorded(
    client: FlaskClient,
    sign_in: Callable[..., Any],
    db_session: Session,
) -> None:
    sign_in(ADMIN)
    for path in (
        "/reports/placement-quality?scope=QKS&by=hub",
        "/reports/placement-quality.csv?scope=QKS",
        "/reports/placement-quality.xlsx",
        "/api/surveys/placement-quality/summary?by=hub",
    ):
        assert client.get(path).status_code == 200, path
    assert client.get("/reports/placement-quality.csv?scope=NOPE").status_code == 404
    reads = [
        (event.action, event.details)
        for event in _events(db_session)
        if event.action.startswith("report-")
    ]
    assert reads == [
        ("report-viewed", {"format": "page", "scope": "QKS", "by": "hub", "wave": 1}),
        ("report-downloaded", {"format": "csv", "scope": "QKS", "by": None, "wave": 1}),
        ("report-downloaded", {"format": "xlsx", "scope": None, "by": None, "wave": 1}),
        ("report-downloaded", {"format": "json", "scope": None, "by": "hub", "wave": 1}),
    ]


@pytest.mark.usefixtures("lead", "admin")
def test_a_failed_sign_in_is_recorded_with_the_email_as_typed_and_never_the_password(
    client: FlaskClient,
    sign_in: Callable[..., Any],
    db_session: Session,
) -> None:
    typed = "  Lead@Example.NHS.uk"
    assert sign_in(typed, WRONG_PASSWORD).status_code == 400
    [failed] = [event for event in _events(db_session) if event.action == "sign-in-failed"]
    assert failed.actor == typed and failed.actor_user_id is None
    assert failed.remote_addr == "127.0.0.1"
    stored = json.dumps([event_as_dict(event) for event in _events(db_session)])
    assert WRONG_PASSWORD not in stored

    sign_in(ADMIN)
    page = client.get("/admin/audit?action=sign-in-failed")
    rows = _table_rows(page.text)
    assert [row[1:3] for row in rows] == [[typed.strip(), "Sign in failed"]]
    assert WRONG_PASSWORD not in page.text


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit?action=sign-in"])
@pytest.mark.usefixtures("lead")
def test_leads_cannot_read_the_audit_log(
    client: FlaskClient,
    sign_in: Callable[..., Any],
    path: str,
) -> None:
    assert client.get(path).status_code == 302  # signed out: to the sign-in page
    sign_in(LEAD)
    assert client.get(path).status_code == 403
    assert "Audit log" not in client.get("/reports").text


@pytest.mark.usefixtures("admin")
def test_the_audit_page_pages_newest_first_and_filters_by_action(
    client: FlaskClient,
    sign_in: Callable[..., Any],
    db_session: Session,
) -> None:
    for number in range(60):
        record(db_session, AuditAction.SURVEY_LOADED, COMMAND_LINE, target=f"survey-{number}")
    db_session.commit()
    sign_in(ADMIN)

    first = client.get("/admin/audit?action=survey-loaded")
    rows = _table_rows(first.text)
    assert len(rows) == 50
    assert [row[3] for row in rows[:2]] == ["survey-59", "survey-58"]
    # 60 here and the fixtures' loading of the two shipped surveys.
    assert "62 survey loaded events" in first.text and "page 1 of 2" in first.text
    assert "page=2" in first.text and "Older events" in first.text

    second = client.get("/admin/audit?action=survey-loaded&page=2")
    assert [row[3] for row in _table_rows(second.text)] == [
        *[f"survey-{n}" for n in range(9, -1, -1)],
        "placement-quality",
        "icb-leaders",
    ]
    assert "Newer events" in second.text and "Older events" not in second.text

    sign_ins = _table_rows(client.get("/admin/audit?action=sign-in").text)
    assert [row[1:3] for row in sign_ins] == [[ADMIN, "Sign in"]]
    assert client.get("/admin/audit?action=coffee").status_code == 400


def test_command_line_changes_are_recorded_and_listed(
    runner: FlaskCliRunner, surveys: Any, hubs: Any, tmp_path: Path, db_session: Session
) -> None:
    orgs = tmp_path / "more-hubs.csv"
    orgs.write_text("code,name,level,parent_code\nH-NEW,New Hub,hub,QKS\n", encoding="utf-8")
    assert run(runner, "orgs", "import", str(orgs)).exit_code == 0
    responses = tmp_path / "responses.csv"
    responses.write_text(
        "org_code,profession,stage,sup_named,overall\n" + "P-EK1,gp-trainee,postgraduate,4,4\n" * 2,
        encoding="utf-8",
    )
    assert run(runner, "import-responses", "placement-quality", str(responses)).exit_code == 0
    # A refused import records nothing: the event shares the import's transaction.
    bad = tmp_path / "bad.csv"
    bad.write_text("org_code,profession\nNOPE,astronaut\n", encoding="utf-8")
    assert run(runner, "import-responses", "placement-quality", str(bad)).exit_code != 0
    create = "users create new@example.nhs.uk --role lead --scope H-EK --password-stdin"
    created = runner.invoke(args=create.split(), input="a secret long password\n")
    assert created.exit_code == 0, created.output
    output = tmp_path / "summary.csv"
    for command in (
        "users set-access new@example.nhs.uk --role lead --scope H-WK --scope H-SX",
        "users deactivate new@example.nhs.uk",
        "surveys close placement-quality",
        "surveys open placement-quality",
        f"report summary placement-quality --scope QKS --format csv -o {output}",
    ):
        result = run(runner, *command.split())
        assert result.exit_code == 0, (command, result.output)

    listed = run(runner, "audit", "list", "--limit", "9", "--format", "json")
    assert listed.exit_code == 0, listed.output
    events = json.loads(listed.output)
    assert [(e["action"], e["actor"], e["target"]) for e in events] == [
        ("report-exported", "cli", "placement-quality"),
        ("survey-opened", "cli", "placement-quality"),
        ("survey-closed", "cli", "placement-quality"),
        ("user-deactivated", "cli", "new@example.nhs.uk"),
        ("user-access-changed", "cli", "new@example.nhs.uk"),
        ("user-created", "cli", "new@example.nhs.uk"),
        ("responses-imported", "cli", "placement-quality"),
        ("organisations-imported", "cli", str(orgs)),
        # The fixtures' own import of the test hubs.
        ("organisations-imported", "cli", "test"),
    ]
    details = {e["action"]: e["details"] for e in events}
    assert details["responses-imported"] == {
        "file": str(responses),
        "wave": 1,
        "rows": 2,
        "skipped": 0,
    }
    assert details["survey-closed"] == details["survey-opened"] == {"wave": 1}
    assert events[7]["details"] == {"rows": 1, "created": 1, "updated": 0, "unchanged": 0}
    assert details["user-created"] == {"role": "lead", "scopes": ["H-EK"]}
    assert details["user-access-changed"] == {
        "before": {"role": "lead", "scopes": ["H-EK"]},
        "after": {"role": "lead", "scopes": ["H-WK", "H-SX"]},
    }
    assert details["report-exported"] == {
        "format": "csv",
        "scope": "QKS",
        "by": None,
        "output": str(output),
        "wave": 1,
    }
    assert all(event["remote_addr"] is None for event in events)
    assert "a secret long password" not in listed.output

    only = run(runner, "audit", "list", "--action", "user-created", "--format", "text")
    assert only.exit_code == 0
    lines = only.output.splitlines()
    assert len(lines) == 1 and "user-created" in lines[0] and "new@example.nhs.uk" in lines[0]
    unknown = run(runner, "audit", "list", "--action", "coffee")
    assert unknown.exit_code != 0 and "'coffee' is not an audit action" in unknown.output
