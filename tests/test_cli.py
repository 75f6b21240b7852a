"""Every `survey-app` command: what it prints, what it stores, and how it refuses bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskCliRunner
from sqlmodel import Session, select

from survey_app.models import Invitation, Organisation, Response, Survey, User
from tests.conftest import count_responses


def run(runner: FlaskCliRunner, *args: str, input: str | None = None) -> Any:
    return runner.invoke(args=list(args), input=input)


def test_db_init_creates_the_schema_and_can_run_again(runner: FlaskCliRunner) -> None:
    for _ in range(2):
        result = run(runner, "db", "init")
        assert result.exit_code == 0, result.output
        assert "up to date" in result.output


def test_load_reference_loads_7_regions_and_42_icbs_idempotently(
    runner: FlaskCliRunner, db_session: Session
) -> None:
    first = run(runner, "load-reference")
    assert first.exit_code == 0, first.output
    assert "56 created" not in first.output and "49 created" in first.output
    second = run(runner, "load-reference")
    assert "0 created, 0 updated, 49 unchanged" in second.output
    orgs = db_session.exec(select(Organisation)).all()
    assert sum(org.level == "region" for org in orgs) == 7
    assert sum(org.level == "icb" for org in orgs) == 42
    kent = next(org for org in orgs if org.code == "QKS")
    south_east = next(org for org in orgs if org.code == "Y59")
    assert kent.parent_id == south_east.id and kent.region_id == south_east.id


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_orgs_import_upserts_by_code(
    runner: FlaskCliRunner, db_session: Session, tmp_path: Path
) -> None:
    run(runner, "load-reference")
    path = write(
        tmp_path,
        "orgs.csv",
        "code,name,level,parent_code\n"
        "P1,Harbour Surgery,practice,N1\n"  # child before its parent: fine
        "H1,East Kent Training Hub,hub,QKS\n"
        "N1,Canterbury PCN,pcn,H1\n",
    )
    result = run(runner, "orgs", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "3 created" in result.output
    renamed = write(
        tmp_path,
        "renamed.csv",
        "code,name,level,parent_code\nP1,Harbour Medical Practice,practice,N1\n",
    )
    assert "1 updated" in run(runner, "orgs", "import", str(renamed)).output
    practice = db_session.exec(select(Organisation).where(Organisation.code == "P1")).one()
    hub = db_session.exec(select(Organisation).where(Organisation.code == "H1")).one()
    assert practice.name == "Harbour Medical Practice"
    assert practice.hub_id == hub.id and practice.icb_id == hub.parent_id


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("code,name,kind,parent_code\nP1,X,practice,QKS\n", "the header must be"),
        ("code,name,level,parent_code\nP1,X,surgery,QKS\n", "row 2, column level"),
        ("code,name,level,parent_code\nP1,X,practice,NOPE\n", "row 2, column parent_code"),
        ("code,name,level,parent_code\nP1,,practice,QKS\n", "row 2, column name"),
        ("code,name,level,parent_code\nH1,Hub,hub,QKS\nH1,Hub,hub,QKS\n", "row 3, column code"),
        ("code,name,level,parent_code\nX1,Odd,icb,QKS\n", "cannot sit under"),
    ],
    ids=["header", "level", "parent", "empty-name", "duplicate", "parent-level"],
)
def test_orgs_import_refuses_bad_rows_and_changes_nothing(
    runner: FlaskCliRunner, db_session: Session, tmp_path: Path, content: str, expected: str
) -> None:
    run(runner, "load-reference")
    path = write(tmp_path, "bad.csv", content)
    result = run(runner, "orgs", "import", str(path))
    assert result.exit_code != 0
    assert expected in result.output and "bad.csv" in result.output
    assert len(db_session.exec(select(Organisation)).all()) == 49


def test_surveys_load_list_show(runner: FlaskCliRunner) -> None:
    loaded = run(runner, "surveys", "load")
    assert loaded.exit_code == 0, loaded.output
    assert "placement-quality: loaded" in loaded.output
    assert "placement-quality: unchanged" in run(runner, "surveys", "load").output
    listing = json.loads(run(runner, "surveys", "list", "--format", "json").output)
    assert {entry["slug"] for entry in listing} == {"placement-quality", "icb-leaders"}
    assert all(set(entry) == {"slug", "title", "status", "responses"} for entry in listing)
    assert all(entry["status"] == "draft" and entry["responses"] == 0 for entry in listing)

    shown = json.loads(
        run(runner, "surveys", "show", "placement-quality", "--format", "json").output
    )
    assert shown["anonymous"] is True and shown["allow_open_link"] is True
    themes = {theme["code"]: theme for theme in shown["themes"]}
    assert {
        "induction",
        "supervision",
        "learning",
        "facilities",
        "culture",
        "educators",
        "concerns",
    } <= set(themes)
    assert themes["induction"]["domain"] == "Developing and supporting learners"
    questions = {q["code"]: q for q in shown["questions"]}
    assert questions["ind_welcome"]["type"] == "likert"
    assert questions["ind_welcome"]["theme"] == "induction"
    assert [p["value"] for p in questions["ind_welcome"]["scale"]] == [1, 2, 3, 4, 5]
    professions = {o["code"] for o in questions["profession"]["options"]}
    assert {
        "gp-trainee",
        "medical-student",
        "student-nurse",
        "pharmacist",
        "paramedic",
        "physician-associate",
    } <= professions
    leaders = json.loads(run(runner, "surveys", "show", "icb-leaders", "--format", "json").output)
    text = [q for q in leaders["questions"] if q["type"] == "text"]
    assert text and all(
        {"training-hubs", "arrs"} <= {t["code"] for t in q["text_themes"]} for q in text
    )
    assert all(not q["required"] for q in leaders["questions"])


def test_surveys_show_unknown_slug_fails(runner: FlaskCliRunner) -> None:
    result = run(runner, "surveys", "show", "nope", "--format", "json")
    assert result.exit_code != 0 and "no survey has the slug 'nope'" in result.output


def test_surveys_load_refuses_an_invalid_definition_naming_file_and_field(
    runner: FlaskCliRunner, tmp_path: Path, db_session: Session
) -> None:
    path = write(
        tmp_path,
        "broken.yaml",
        """
slug: broken
title: Broken
anonymous: true
allow_open_link: true
organisation: {text: "Where?", levels: [practice]}
scales:
  agree: [{value: 1, label: "No"}, {value: 2, label: Maybe}, {value: 3, label: "Yes"}]
sections:
  - title: One
    questions:
      - {code: q1, type: likert, scale: agreement, text: A statement}
""",
    )
    result = run(runner, "surveys", "load", str(path))
    assert result.exit_code != 0
    assert "broken.yaml" in result.output
    assert "sections[0].questions[0].scale" in result.output
    assert db_session.exec(select(Survey)).all() == []


def test_surveys_load_explains_yaml_booleans(runner: FlaskCliRunner, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "yes-no.yaml",
        """
slug: yes-no
title: Yes or no
anonymous: true
allow_open_link: true
organisation: {text: "Where?", levels: [practice]}
scales:
  agree: [{value: 1, label: No}, {value: 2, label: Maybe}, {value: 3, label: "Yes"}]
sections:
  - title: One
    questions:
      - {code: q1, type: likert, scale: agree, text: A statement}
""",
    )
    result = run(runner, "surveys", "load", str(path))
    assert result.exit_code != 0
    assert "scales.agree[0].label" in result.output and "put the text in quotes" in result.output


def test_surveys_open_and_close(runner: FlaskCliRunner) -> None:
    run(runner, "surveys", "load")
    assert run(runner, "surveys", "open", "icb-leaders").exit_code == 0
    listing = json.loads(run(runner, "surveys", "list", "--format", "json").output)
    assert {e["slug"]: e["status"] for e in listing}["icb-leaders"] == "open"
    assert run(runner, "surveys", "close", "icb-leaders").exit_code == 0
    again = run(runner, "surveys", "close", "icb-leaders")
    assert again.exit_code != 0
    assert "wave 1 of icb-leaders is closed, only an open wave can be closed" in again.output


def test_invitations_create_prints_csv_of_unguessable_tokens(
    runner: FlaskCliRunner, db_session: Session, surveys: Any
) -> None:
    result = run(
        runner,
        "invitations",
        "create",
        "icb-leaders",
        "--org",
        "QKS",
        "--count",
        "3",
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 3
    assert len({row["token"] for row in rows}) == 3
    for row in rows:
        assert len(row["token"]) >= 22  # base64url: at least 128 bits
        assert row["url"].endswith(f"/s/icb-leaders/{row['token']}")
    assert len(db_session.exec(select(Invitation)).all()) == 3


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--org", "NOPE", "--count", "1"], "no organisation has code 'NOPE'"),
        (["--org", "Y59", "--count", "1"], "Y59 is a region"),
        (["--org", "QKS", "--count", "0"], "--count must be from 1"),
    ],
    ids=["unknown-org", "wrong-level", "zero"],
)
def test_invitations_create_refuses(
    runner: FlaskCliRunner, db_session: Session, surveys: Any, args: list[str], expected: str
) -> None:
    result = run(runner, "invitations", "create", "icb-leaders", *args)
    assert result.exit_code != 0 and expected in result.output
    assert db_session.exec(select(Invitation)).all() == []


def responses_csv(
    *rows: str,
    header: str = "org_code,submitted_at,profession,stage,ind_welcome,overall,worked_well",
) -> str:
    return "\n".join([header, *rows]) + "\n"


def test_import_responses_stores_every_row(
    runner: FlaskCliRunner, db_session: Session, hubs: Any, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "responses.csv",
        responses_csv(
            "P-EK1,2026-05-01T10:00:00Z,gp-trainee,postgraduate,5,4,Great team",
            "P-EK2,,pharmacist,experienced,,3,",
            'N-WK1,2026-05-02,paramedic,newly-qualified,2,2,"Line one\nline two, with comma"',
        ),
    )
    result = run(runner, "import-responses", "placement-quality", str(path))
    assert result.exit_code == 0, result.output
    assert "imported 3 responses" in result.output
    assert count_responses(db_session) == 3


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("P-EK1,,gp-trainee,postgraduate,6,4,", "ind_welcome"),
        ("P-EK1,,astronaut,postgraduate,5,4,", "profession"),
        ("P-EK1,,gp-trainee,postgraduate,5,,", "overall"),
        ("NOPE,,gp-trainee,postgraduate,5,4,", "org_code"),
        ("QKS,,gp-trainee,postgraduate,5,4,", "org_code"),
        ("P-EK1,yesterday,gp-trainee,postgraduate,5,4,", "submitted_at"),
    ],
    ids=[
        "out-of-scale",
        "unknown-option",
        "required-empty",
        "unknown-org",
        "icb-not-placement",
        "bad-time",
    ],
)
def test_import_responses_is_all_or_nothing(
    runner: FlaskCliRunner, db_session: Session, hubs: Any, tmp_path: Path, row: str, column: str
) -> None:
    path = write(
        tmp_path, "responses.csv", responses_csv("P-EK1,,gp-trainee,postgraduate,5,4,fine", row)
    )
    result = run(runner, "import-responses", "placement-quality", str(path))
    assert result.exit_code != 0
    assert f"responses.csv, row 3, column {column}" in result.output
    assert count_responses(db_session) == 0

    skipped = run(runner, "import-responses", "placement-quality", str(path), "--skip-invalid")
    assert skipped.exit_code == 0, skipped.output
    assert "imported 1 responses, skipped 1 invalid rows" in skipped.output
    assert count_responses(db_session) == 1


def test_import_responses_refuses_unknown_columns(
    runner: FlaskCliRunner, db_session: Session, hubs: Any, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "r.csv",
        responses_csv(
            "P-EK1,,gp-trainee,postgraduate,5,4,,x",
            header="org_code,submitted_at,profession,stage,ind_welcome,overall,"
            "worked_well,shoe_size",
        ),
    )
    result = run(runner, "import-responses", "placement-quality", str(path))
    assert result.exit_code != 0 and "unknown column(s) shoe_size" in result.output
    assert count_responses(db_session) == 0


def test_import_on_record_for_icb_leaders(
    runner: FlaskCliRunner, db_session: Session, surveys: Any, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "leaders.csv",
        "org_code,on_record,fund_government,icb_support\n"
        "QKS,true,2,Our training hub is great\nQNX,false,,ARRS roles help\n",
    )
    result = run(runner, "import-responses", "icb-leaders", str(path))
    assert result.exit_code == 0, result.output
    on_record = sorted(r.on_record for r in db_session.exec(select(Response)).all())
    assert on_record == [False, True]


def test_users_create_reads_the_password_from_stdin(
    runner: FlaskCliRunner, db_session: Session, hubs: Any
) -> None:
    result = run(
        runner,
        "users",
        "create",
        "Lead@Example.NHS.uk",
        "--role",
        "lead",
        "--scope",
        "H-EK",
        "--password-stdin",
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = db_session.exec(select(User)).one()
    assert user.email == "lead@example.nhs.uk"
    assert "a long enough password" not in user.password_hash
    assert user.password_hash.startswith("$argon2id$")
    assert [s.organisation_id for s in user.scopes] == [
        db_session.exec(select(Organisation.id).where(Organisation.code == "H-EK")).one()
    ]


@pytest.mark.parametrize(
    ("args", "password", "expected"),
    [
        (["lead@x.nhs.uk", "--role", "lead"], "long enough password", "needs at least one --scope"),
        (
            ["lead@x.nhs.uk", "--role", "lead", "--scope", "NOPE"],
            "long enough password",
            "no organisation has code 'NOPE'",
        ),
        (["not-an-email", "--role", "admin"], "long enough password", "not a valid email"),
        (["a@x.nhs.uk", "--role", "admin"], "short", "at least 12 characters"),
    ],
    ids=["lead-without-scope", "unknown-scope", "bad-email", "short-password"],
)
def test_users_create_refuses(
    runner: FlaskCliRunner,
    db_session: Session,
    hubs: Any,
    args: list[str],
    password: str,
    expected: str,
) -> None:
    result = run(runner, "users", "create", *args, "--password-stdin", input=password + "\n")
    assert result.exit_code != 0 and expected in result.output
    assert db_session.exec(select(User)).all() == []


def test_report_summary_and_pdf(runner: FlaskCliRunner, hubs: Any, tmp_path: Path) -> None:
    rows = [f"P-EK{1 + i % 2},,gp-trainee,postgraduate,{1 + i % 5},4," for i in range(12)]
    run(
        runner,
        "import-responses",
        "placement-quality",
        str(write(tmp_path, "r.csv", responses_csv(*rows))),
    )
    result = run(runner, "report", "summary", "placement-quality", "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["responses"] == 12
    welcome = next(item for item in summary["items"] if item["code"] == "ind_welcome")
    values = [1 + i % 5 for i in range(12)]
    assert welcome["n"] == 12 and welcome["mean"] == pytest.approx(sum(values) / 12)
    scoped = json.loads(
        run(
            runner, "report", "summary", "placement-quality", "--scope", "H-WK", "--format", "json"
        ).output
    )
    assert scoped["responses"] == 0 and scoped["scope"]["code"] == "H-WK"
    pdf = tmp_path / "report.pdf"
    made = run(runner, "report", "pdf", "placement-quality", "-o", str(pdf))
    assert made.exit_code == 0, made.output
    assert pdf.read_bytes().startswith(b"%PDF")
    bad = run(runner, "report", "summary", "placement-quality", "--by", "shoe", "--format", "json")
    assert bad.exit_code != 0 and "'shoe' is neither a level" in bad.output


def test_demo_builds_once_and_prints_the_logins(runner: FlaskCliRunner) -> None:
    result = run(runner, "demo")
    assert result.exit_code == 0, result.output
    assert "admin@demo.example" in result.output and "lead@demo.example" in result.output
    listing = json.loads(run(runner, "surveys", "list", "--format", "json").output)
    assert {e["slug"]: e["status"] for e in listing} == {
        "placement-quality": "open",
        "icb-leaders": "open",
    }
    again = run(runner, "demo")
    assert again.exit_code != 0 and "empty database" in again.output


def test_setup_demo_builds_then_keeps_the_data(runner: FlaskCliRunner) -> None:
    first = run(runner, "setup-demo")
    assert first.exit_code == 0, first.output
    assert "Demo data built" in first.output and "/s/icb-leaders/" in first.output
    second = run(runner, "setup-demo")
    assert second.exit_code == 0 and "not rebuilt" in second.output
    assert second.output.count("lead@demo.example") == 1


def test_db_init_migrations_give_exactly_the_models_schema(app: Any) -> None:
    """Migrating an empty database gives the schema the models describe, nothing more or less."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from survey_app.db import create_db_engine
    from survey_app.migrations.runner import upgrade

    engine = create_db_engine(app.config["DATABASE_URL"])
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        if connection.dialect.name == "postgresql":
            for enum in ("orglevel", "surveystatus", "questiontype", "role"):
                connection.exec_driver_sql(f"DROP TYPE IF EXISTS {enum}")
    upgrade(engine)
    upgrade(engine)  # idempotent
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert differences == []
