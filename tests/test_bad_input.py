"""The catalogue of bad input: one table, every way in.

Each case sends one kind of bad input through the respondent forms, the response CSV import,
the command line, the summary API's query parameters or a survey definition file, then checks
three things a person would notice: the status (HTTP) or exit code, a message that names what
is wrong (the field, file, row, column or parameter), and that nothing was stored: every table
has as many rows after as before, and no invitation was used.
"""

from __future__ import annotations

import copy
import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import sqlalchemy as sa
import yaml
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlmodel import Session, SQLModel, select
from werkzeug.datastructures import MultiDict

from survey_app.models import Invitation, Organisation, Survey
from survey_app.services.invitations import create_invitations
from tests.conftest import STAFF_PASSWORD, count_responses, csrf_token

PLACEMENT = "/s/placement-quality"
LEAD = "lead@example.nhs.uk"
NUL = "\x00"


class Outcome(NamedTuple):
    """What came back: an HTTP status or exit code, and the text a person reads."""

    status: int
    text: str


@dataclass
class World:
    """The application under test and the ways of reaching it."""

    app: Flask
    client: FlaskClient
    runner: FlaskCliRunner
    session: Session
    surveys: dict[str, Survey]
    folder: Path
    make_user: Callable[..., Any]
    #: Set by `prepare` steps for the run that follows.
    token: str = ""

    def post(self, url: str, data: MultiDict | dict[str, Any]) -> Outcome:
        response = self.client.post(url, data=data)
        return Outcome(response.status_code, html.unescape(response.text))

    def get(self, url: str) -> Outcome:
        response = self.client.get(url)
        return Outcome(response.status_code, html.unescape(response.text))

    def cli(self, *args: str, stdin: str | None = None) -> Outcome:
        result = self.runner.invoke(args=list(args), input=stdin)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # a crash, not a refusal: let the test show its traceback
        return Outcome(result.exit_code, result.output)

    def file(self, name: str, content: str | bytes) -> str:
        path = self.folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return str(path)

    def invite(self, slug: str, org_code: str) -> str:
        org = self.session.exec(select(Organisation).where(Organisation.code == org_code)).one()
        [issued] = create_invitations(self.session, self.surveys[slug], org, 1, "http://x")
        return issued.token


def row_counts(session: Session) -> dict[str, int]:
    """The rows in every table, and how many invitations have been used."""
    session.expire_all()
    connection = session.connection()
    counts = {
        table.name: connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        for table in SQLModel.metadata.sorted_tables
    }
    counts["used invitations"] = len(
        session.exec(select(Invitation.id).where(Invitation.used_at.is_not(None))).all()  # type: ignore[union-attr]
    )
    session.commit()
    return counts


# --- the ways in -------------------------------------------------------------------------------

#: A complete, valid placement submission; cases replace or (with None) remove fields.
PLACEMENT_ANSWERS = {
    "organisation": "P-EK1",
    "profession": "pharmacist",
    "stage": "newly-qualified",
    "length": "1-to-3-months",
    "ind_welcome": "4",
    "sup_named": "5",
    "overall": "4",
    "worked_well": "My supervisor made time for a debrief every day.",
}
LEADER_ANSWERS = {
    "fund_government": "2",
    "hub_effective": "4",
    "icb_support": "Our training hub runs a mentoring scheme for ARRS staff.",
    "on_record": "yes",
}


def _form_data(page: str, answers: dict[str, Any], overrides: dict[str, Any]) -> MultiDict:
    data: dict[str, Any] = {"csrf_token": csrf_token(page), **answers, **overrides}
    form = MultiDict()
    for key, value in data.items():
        for one in value if isinstance(value, list) else [value]:
            if one is not None:
                form.add(key, one)
    return form


def placement(**overrides: Any) -> Callable[[World], Outcome]:
    """Post the open-link placement form with `overrides` (None removes a field, a list
    sends the field once per item)."""

    def run(world: World) -> Outcome:
        page = world.client.get(PLACEMENT).text
        return world.post(PLACEMENT, _form_data(page, PLACEMENT_ANSWERS, overrides))

    return run


def leaders(**overrides: Any) -> Callable[[World], Outcome]:
    """Post the ICB leader invitation form (the invitation made by `invited`)."""

    def run(world: World) -> Outcome:
        url = f"/s/icb-leaders/{world.token}"
        page = world.client.get(url)
        answers_page = page.text if page.status_code == 200 else _any_form_page(world)
        return world.post(url, _form_data(answers_page, LEADER_ANSWERS, overrides))

    return run


def _any_form_page(world: World) -> str:
    # A used or unknown link shows no form; the CSRF token of another page does as well.
    return world.client.get(PLACEMENT).text


def invited(world: World) -> None:
    world.token = world.invite("icb-leaders", "QKS")


def used_invitation(world: World) -> None:
    invited(world)
    outcome = leaders()(world)
    assert outcome.status == 303, "the invitation could not be used"


def answers_sent_after_closing(world: World) -> Outcome:
    """The form fetched while the survey was open, sent after it closed."""
    page = world.client.get(PLACEMENT).text
    world.cli("surveys", "close", "placement-quality")
    return world.post(PLACEMENT, _form_data(page, PLACEMENT_ANSWERS, {}))


def raw_post(url: str, data: dict[str, Any] | None = None) -> Callable[[World], Outcome]:
    def run(world: World) -> Outcome:
        form = {"csrf_token": csrf_token(world.client.get("/login").text), **(data or {})}
        return world.post(url, form)

    return run


def import_csv(content: str | bytes, slug: str = "placement-quality") -> Callable[[World], Outcome]:
    """Run `survey-app import-responses SLUG FILE` on a file holding `content`."""

    def run(world: World) -> Outcome:
        return world.cli("import-responses", slug, world.file("responses.csv", content))

    return run


def orgs_csv(content: str | bytes) -> Callable[[World], Outcome]:
    def run(world: World) -> Outcome:
        return world.cli("orgs", "import", world.file("orgs.csv", content))

    return run


def cli(*args: str, stdin: str | None = None) -> Callable[[World], Outcome]:
    def run(world: World) -> Outcome:
        return world.cli(*args, stdin=stdin)

    return run


def lead_signed_in(world: World) -> None:
    world.make_user(LEAD, "lead", ("H-EK",))
    page = world.client.get("/login")
    signed = world.client.post(
        "/login",
        data={"email": LEAD, "password": STAFF_PASSWORD, "csrf_token": csrf_token(page.text)},
    )
    assert signed.status_code == 303


def api(query: str, slug: str = "placement-quality") -> Callable[[World], Outcome]:
    def run(world: World) -> Outcome:
        return world.get(f"/api/surveys/{slug}/summary?{query}")

    return run


#: A small valid definition; the definition cases each break one thing in a copy of it.
DEFINITION: dict[str, Any] = {
    "slug": "bad-input-check",
    "title": "A survey to check definitions with",
    "anonymous": True,
    "allow_open_link": True,
    "organisation": {"text": "Where was your placement?", "levels": ["practice"]},
    "scales": {
        "agreement": [
            {"value": 1, "label": "Disagree"},
            {"value": 2, "label": "Neither"},
            {"value": 3, "label": "Agree"},
        ]
    },
    "themes": [{"code": "welcome", "title": "Welcome"}],
    "sections": [
        {
            "title": "Your placement",
            "questions": [
                {
                    "code": "welcomed",
                    "type": "likert",
                    "scale": "agreement",
                    "theme": "welcome",
                    "text": "I was welcomed.",
                },
                {
                    "code": "comments",
                    "type": "text",
                    "text": "Anything else?",
                    "text_themes": [{"code": "team", "label": "The team", "patterns": ["team"]}],
                },
            ],
        }
    ],
}


def definition(change: Callable[[dict[str, Any]], None]) -> Callable[[World], Outcome]:
    """Load (`survey-app surveys load FILE`) a copy of DEFINITION changed by `change`."""

    def run(world: World) -> Outcome:
        document = copy.deepcopy(DEFINITION)
        change(document)
        path = world.file("definition.yaml", yaml.safe_dump(document, sort_keys=False))
        return world.cli("surveys", "load", path)

    return run


def definition_text(content: str | bytes) -> Callable[[World], Outcome]:
    def run(world: World) -> Outcome:
        return world.cli("surveys", "load", world.file("definition.yaml", content))

    return run


def first_question(document: dict[str, Any]) -> dict[str, Any]:
    return document["sections"][0]["questions"][0]


def text_question(document: dict[str, Any]) -> dict[str, Any]:
    return document["sections"][0]["questions"][1]


# --- the catalogue -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One kind of bad input: how to send it, the status or exit code expected, and the
    words the message must hold to name what is wrong."""

    id: str
    run: Callable[[World], Outcome]
    status: int
    names: tuple[str, ...]
    prepare: Callable[[World], None] | None = None
    #: Audit events the attempt records (a refused attempt records none).
    audit_events: int = 0


HEADER = "org_code,profession,stage,ind_welcome,overall"
GOOD_ROW = "P-EK1,pharmacist,experienced,4,5"
LONG_TEXT = "x" * 5001

FORM_CASES = [
    Case(
        "form-missing-required-choice",
        placement(profession=None),
        400,
        ('href="#profession"', "Select an answer to this question"),
    ),
    Case(
        "form-missing-required-likert",
        placement(overall=None),
        400,
        ('href="#overall"', "Select an answer to this question"),
    ),
    Case(
        "form-likert-above-scale",
        placement(ind_welcome="9"),
        400,
        ('href="#ind_welcome"', "Choose one of the answers from 1 to 5", "'9'"),
    ),
    Case(
        "form-likert-zero",
        placement(ind_welcome="0"),
        400,
        ('href="#ind_welcome"', "Choose one of the answers from 1 to 5"),
    ),
    Case(
        "form-likert-not-integer",
        placement(sup_named="4.5"),
        400,
        ('href="#sup_named"', "Choose one of the answers from 1 to 5", "'4.5'"),
    ),
    Case(
        "form-likert-word",
        placement(sup_named="four"),
        400,
        ('href="#sup_named"', "Choose one of the answers from 1 to 5"),
    ),
    Case(
        "form-likert-full-width-digit",
        placement(sup_named="\uff14"),
        400,
        ('href="#sup_named"', "Choose one of the answers from 1 to 5"),
    ),
    Case(
        "form-likert-arabic-indic-digit",
        placement(sup_named="\u0664"),
        400,
        ('href="#sup_named"', "Choose one of the answers from 1 to 5"),
    ),
    Case(
        "form-likert-signed",
        placement(sup_named="+4"),
        400,
        ('href="#sup_named"', "Choose one of the answers from 1 to 5", "'+4'"),
    ),
    Case(
        "form-unknown-option",
        placement(profession="astronaut"),
        400,
        ('href="#profession"', "Choose one of the options listed", "'astronaut'"),
    ),
    Case(
        "form-option-label-instead-of-code",
        placement(stage="Postgraduate trainee"),
        400,
        ('href="#stage"', "Choose one of the options listed"),
    ),
    Case(
        "form-duplicate-likert-field",
        placement(ind_welcome=["4", "5"]),
        400,
        ('href="#ind_welcome"', "one answer"),
    ),
    Case(
        "form-duplicate-text-field",
        placement(worked_well=["The team", "The room"]),
        400,
        ('href="#worked_well"', "one answer"),
    ),
    Case(
        "form-text-too-long",
        placement(worked_well=LONG_TEXT),
        400,
        ('href="#worked_well"', "5,000 characters or fewer", "5,001"),
    ),
    Case(
        "form-text-with-nul",
        placement(worked_well=f"The team{NUL}was kind"),
        400,
        ("form field worked_well", "NUL"),
    ),
    Case(
        "form-address-with-nul",
        raw_post("/s/placement%00quality", PLACEMENT_ANSWERS),
        400,
        ("address", "NUL"),
    ),
    Case(
        "form-sign-in-without-password",
        raw_post("/login", {"email": LEAD, "password": ""}),
        400,
        ('href="#password"', "Enter your password"),
    ),
    Case(
        "form-sign-in-email-with-nul",
        raw_post("/login", {"email": f"lead{NUL}@example.nhs.uk", "password": STAFF_PASSWORD}),
        400,
        ("form field email", "NUL"),
    ),
    Case(
        "form-unknown-organisation",
        placement(organisation="NOPE"),
        400,
        ('href="#organisation"', "Select an organisation from the list"),
    ),
    Case(
        "form-organisation-at-wrong-level",
        placement(organisation="QKS"),
        400,
        ('href="#organisation"', "Select an organisation from the list"),
    ),
    Case(
        "form-missing-organisation",
        placement(organisation=None),
        400,
        ('href="#organisation"', "Select the organisation from the list"),
    ),
    Case(
        "form-missing-csrf-token",
        placement(csrf_token=None),
        400,
        ("CSRF token", "missing"),
    ),
    Case(
        "form-wrong-csrf-token",
        placement(csrf_token="not-the-token"),
        400,
        ("CSRF token", "invalid"),
    ),
    Case(
        "form-survey-closed-while-answering",
        answers_sent_after_closing,
        404,
        ("This survey is not open",),
        audit_events=1,  # the closing
    ),
    Case(
        "form-open-link-not-allowed",
        raw_post("/s/icb-leaders", LEADER_ANSWERS),
        404,
        ("This survey is answered by invitation only",),
    ),
    Case(
        "form-unknown-survey",
        raw_post("/s/no-such-survey", PLACEMENT_ANSWERS),
        404,
        ("This survey is not open, or the address is wrong",),
    ),
    Case(
        "form-invitation-used",
        leaders(),
        410,
        ("This link is not valid. It may have been used already",),
        prepare=used_invitation,
    ),
    Case(
        "form-invitation-unknown-token",
        raw_post("/s/icb-leaders/" + "A" * 43, LEADER_ANSWERS),
        404,
        ("This link is not valid",),
    ),
    Case(
        "form-invitation-malformed-token",
        raw_post("/s/icb-leaders/%3Cscript%3E..%5C" + "%25" * 2000, LEADER_ANSWERS),
        404,
        ("This link is not valid",),
    ),
    Case(
        "form-invitation-token-of-another-survey",
        lambda world: raw_post(
            f"/s/placement-quality/{world.token}", {**PLACEMENT_ANSWERS, "organisation": None}
        )(world),
        404,
        ("This link is not valid",),
        prepare=invited,
    ),
    Case(
        "form-on-record-neither-yes-nor-no",
        leaders(on_record="maybe"),
        400,
        ('href="#on_record"', "Select yes or no"),
        prepare=invited,
    ),
]

IMPORT_CASES = [
    Case(
        "import-unknown-column",
        import_csv(f"{HEADER},shoe_size\n{GOOD_ROW},42\n"),
        1,
        ("responses.csv", "unknown column(s) shoe_size"),
    ),
    Case(
        "import-missing-org-code-column",
        import_csv("profession,stage,overall\npharmacist,experienced,5\n"),
        1,
        ("responses.csv", "the org_code column is required"),
    ),
    Case(
        "import-empty-org-code",
        import_csv(f"{HEADER}\n,pharmacist,experienced,4,5\n"),
        1,
        ("responses.csv, row 2, column org_code", "is empty"),
    ),
    Case(
        "import-unknown-organisation",
        import_csv(f"{HEADER}\nNOPE,pharmacist,experienced,4,5\n"),
        1,
        ("row 2, column org_code", "'NOPE'"),
    ),
    Case(
        "import-organisation-at-wrong-level",
        import_csv(f"{HEADER}\nQKS,pharmacist,experienced,4,5\n"),
        1,
        ("row 2, column org_code", "'QKS'"),
    ),
    Case(
        "import-bad-submitted-at",
        import_csv(f"submitted_at,{HEADER}\nyesterday,{GOOD_ROW}\n"),
        1,
        ("row 2, column submitted_at", "'yesterday' is not an ISO 8601 date"),
    ),
    Case(
        "import-submitted-at-in-the-future",
        import_csv(f"submitted_at,{HEADER}\n2999-01-01,{GOOD_ROW}\n"),
        1,
        ("row 2, column submitted_at", "in the future"),
    ),
    Case(
        "import-bad-on-record",
        import_csv(
            "org_code,fund_government,on_record\nQKS,3,maybe\n",
            "icb-leaders",
        ),
        1,
        ("row 2, column on_record", "must be true or false", "'maybe'"),
    ),
    Case(
        "import-on-record-on-anonymous-survey",
        import_csv(f"on_record,{HEADER}\ntrue,{GOOD_ROW}\n"),
        1,
        ("row 2, column on_record", "does not ask respondents to go on record"),
    ),
    Case(
        "import-likert-outside-scale",
        import_csv(f"{HEADER}\nP-EK1,pharmacist,experienced,6,5\n"),
        1,
        ("row 2, column ind_welcome", "Choose one of the answers from 1 to 5"),
    ),
    Case(
        "import-likert-underscored-digits",
        import_csv(f"{HEADER}\nP-EK1,pharmacist,experienced,0_4,5\n"),
        1,
        ("row 2, column ind_welcome", "Choose one of the answers from 1 to 5"),
    ),
    Case(
        "import-missing-required",
        import_csv(f"{HEADER}\nP-EK1,,experienced,4,5\n"),
        1,
        ("row 2, column profession", "Select an answer to this question"),
    ),
    Case(
        "import-unknown-option",
        import_csv(f"{HEADER}\nP-EK1,astronaut,experienced,4,5\n"),
        1,
        ("row 2, column profession", "'astronaut'"),
    ),
    Case(
        "import-text-too-long",
        import_csv(
            f"org_code,profession,stage,overall,worked_well\nP-EK1,pharmacist,experienced,4,{LONG_TEXT}\n"
        ),
        1,
        ("row 2, column worked_well", "5,000 characters or fewer"),
    ),
    Case(
        "import-text-with-nul",
        import_csv(
            f"org_code,profession,stage,overall,worked_well\n"
            f"P-EK1,pharmacist,experienced,4,The team{NUL}was kind\n"
        ),
        1,
        ("row 2, column worked_well", "NUL"),
    ),
    Case(
        "import-one-bad-row-refuses-all",
        import_csv(f"{HEADER}\n{GOOD_ROW}\n{GOOD_ROW}\nP-EK1,pharmacist,experienced,4,0\n"),
        1,
        ("nothing imported", "row 4, column overall"),
    ),
    Case(
        "import-bom-and-unknown-column",
        import_csv(f"\ufeff{HEADER},Shoe size\n{GOOD_ROW},42\n".encode()),
        1,
        ("responses.csv", "unknown column(s) Shoe size"),
    ),
    Case(
        "import-utf16-file",
        import_csv(f"{HEADER}\n{GOOD_ROW}\n".encode("utf-16")),
        1,
        ("responses.csv", "is not UTF-8 text"),
    ),
    Case(
        "import-latin1-file",
        import_csv(
            "org_code,profession,stage,overall,worked_well\n"
            "P-EK1,pharmacist,experienced,4,Caf\xe9 in the practice\n".encode("latin-1")
        ),
        1,
        ("responses.csv", "is not UTF-8 text"),
    ),
    Case(
        "import-binary-file",
        import_csv(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\xff\xfe"),
        1,
        ("responses.csv", "is not UTF-8 text"),
    ),
    Case(
        "import-spreadsheet-instead-of-csv",
        import_csv(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb2\x8f\xd3\xa7"),
        1,
        ("responses.csv", "is not UTF-8 text"),
    ),
    Case(
        "import-empty-file",
        import_csv(""),
        1,
        ("responses.csv", "the file is empty"),
    ),
    Case(
        # A header alone is a valid, empty import: nothing to store, and it says so.
        "import-header-only",
        import_csv(f"{HEADER}\n"),
        0,
        ("imported 0 responses",),
        audit_events=1,
    ),
    Case(
        "import-duplicate-columns",
        import_csv(f"{HEADER},overall\n{GOOD_ROW},4\n"),
        1,
        ("responses.csv", "column(s) overall appear more than once"),
    ),
    Case(
        "import-ragged-row",
        import_csv(f"{HEADER}\n{GOOD_ROW}\nP-EK1,pharmacist\n"),
        1,
        ("row 3", "expected 5 cells, found 2"),
    ),
    Case(
        "import-missing-file",
        cli("import-responses", "placement-quality", "/nonexistent/responses.csv"),
        1,
        ("/nonexistent/responses.csv", "cannot be read"),
    ),
    Case(
        "import-unknown-survey",
        import_csv(f"{HEADER}\n{GOOD_ROW}\n", "no-such-survey"),
        1,
        ("no survey has the slug 'no-such-survey'",),
    ),
]

CLI_CASES = [
    Case(
        "cli-report-unknown-survey",
        cli("report", "summary", "no-such-survey", "--format", "json"),
        1,
        ("no survey has the slug 'no-such-survey'",),
    ),
    Case(
        "cli-report-bad-by",
        cli("report", "summary", "placement-quality", "--by", "shoe"),
        1,
        ("by", "'shoe' is neither a level"),
    ),
    Case(
        "cli-report-by-text-question",
        cli("report", "summary", "placement-quality", "--by", "worked_well"),
        1,
        ("by", "'worked_well' is neither a level"),
    ),
    Case(
        "cli-report-unknown-scope",
        cli("report", "summary", "placement-quality", "--scope", "NOPE"),
        1,
        ("--scope", "'NOPE'"),
    ),
    Case(
        "cli-report-bad-format",
        cli("report", "summary", "placement-quality", "--format", "docx"),
        2,
        ("'--format'", "'docx'"),
    ),
    Case(
        "cli-pdf-unknown-scope",
        cli("report", "pdf", "placement-quality", "--scope", "NOPE", "-o", "/tmp/never.pdf"),
        1,
        ("--scope", "'NOPE'"),
    ),
    Case(
        "cli-surveys-load-missing-file",
        cli("surveys", "load", "/nonexistent/survey.yaml"),
        1,
        ("/nonexistent/survey.yaml", "no such file"),
    ),
    Case(
        "cli-surveys-open-unknown",
        cli("surveys", "open", "no-such-survey"),
        1,
        ("no survey has the slug 'no-such-survey'",),
    ),
    Case(
        "cli-orgs-missing-file",
        cli("orgs", "import", "/nonexistent/orgs.csv"),
        1,
        ("/nonexistent/orgs.csv", "cannot be read"),
    ),
    Case(
        "cli-orgs-bad-header",
        orgs_csv("code,name,type,parent\nH1,A hub,hub,QKS\n"),
        1,
        ("orgs.csv", "code,name,level,parent_code"),
    ),
    Case(
        "cli-orgs-bad-level",
        orgs_csv("code,name,level,parent_code\nH1,A hub,hub,QKS\nX1,A ward,ward,H1\n"),
        1,
        ("orgs.csv, row 3, column level", "'ward'"),
    ),
    Case(
        "cli-orgs-unknown-parent",
        orgs_csv("code,name,level,parent_code\nH1,A hub,hub,NOPE\n"),
        1,
        ("orgs.csv, row 2, column parent_code", "'NOPE'"),
    ),
    Case(
        "cli-orgs-own-parent",
        orgs_csv("code,name,level,parent_code\nH1,A hub,hub,H1\n"),
        1,
        ("orgs.csv, row 2, column parent_code", "a hub cannot sit under a hub"),
    ),
    Case(
        "cli-orgs-cycle-through-the-file",
        orgs_csv("code,name,level,parent_code\nN1,A PCN,pcn,N2\nN2,Another PCN,pcn,N1\n"),
        1,
        ("orgs.csv, row 2, column parent_code", "a PCN cannot sit under a PCN"),
    ),
    Case(
        "cli-orgs-cycle-with-stored-organisations",
        orgs_csv("code,name,level,parent_code\nQKS,Kent and Medway,icb,H-EK\n"),
        1,
        ("orgs.csv, row 2, column parent_code", "an ICB cannot sit under a hub"),
    ),
    Case(
        "cli-orgs-duplicate-code",
        orgs_csv("code,name,level,parent_code\nH1,A hub,hub,QKS\nH1,Same code,hub,QKS\n"),
        1,
        ("orgs.csv, row 3, column code", "'H1' is also on row 2"),
    ),
    Case(
        "cli-orgs-empty-name",
        orgs_csv("code,name,level,parent_code\nH1,,hub,QKS\n"),
        1,
        ("orgs.csv, row 2, column name", "is empty"),
    ),
    Case(
        "cli-orgs-name-with-nul",
        orgs_csv(f"code,name,level,parent_code\nH1,A hub{NUL}with a NUL,hub,QKS\n"),
        1,
        ("orgs.csv, row 2", "NUL"),
    ),
    Case(
        "cli-invitations-unknown-org",
        cli("invitations", "create", "icb-leaders", "--org", "NOPE", "--count", "1"),
        1,
        ("--org", "'NOPE'"),
    ),
    Case(
        "cli-invitations-zero-count",
        cli("invitations", "create", "icb-leaders", "--org", "QKS", "--count", "0"),
        1,
        ("--count", "not 0"),
    ),
    Case(
        "cli-invitations-count-not-a-number",
        cli("invitations", "create", "icb-leaders", "--org", "QKS", "--count", "ten"),
        2,
        ("'--count'", "'ten'"),
    ),
    Case(
        "cli-users-short-password",
        cli(
            "users",
            "create",
            "x@example.nhs.uk",
            "--role",
            "admin",
            "--password-stdin",
            stdin="short\n",
        ),
        1,
        ("password", "12"),
    ),
    Case(
        "cli-users-unknown-scope",
        cli(
            "users",
            "create",
            "x@example.nhs.uk",
            "--role",
            "lead",
            "--scope",
            "NOPE",
            "--password-stdin",
            stdin=STAFF_PASSWORD + "\n",
        ),
        1,
        ("--scope", "'NOPE'"),
    ),
    Case(
        "cli-users-bad-role",
        cli(
            "users",
            "create",
            "x@example.nhs.uk",
            "--role",
            "superuser",
            "--password-stdin",
            stdin=STAFF_PASSWORD + "\n",
        ),
        2,
        ("'--role'", "'superuser'"),
    ),
]

API_CASES = [
    Case(
        "api-unknown-scope",
        api("scope=NOPE"),
        404,
        ("scope", "NOPE"),
        prepare=lead_signed_in,
    ),
    Case(
        "api-scope-outside-the-leads",
        api("scope=H-WK"),
        403,
        ("scope", "H-WK"),
        prepare=lead_signed_in,
    ),
    Case(
        "api-by-nonsense",
        api("by=nonsense"),
        400,
        ("by", "'nonsense' is neither a level"),
        prepare=lead_signed_in,
    ),
    Case(
        "api-by-text-question",
        api("by=worked_well"),
        400,
        ("by", "'worked_well' is neither a level"),
        prepare=lead_signed_in,
    ),
    Case(
        "api-repeated-scope",
        api("scope=H-EK&scope=H-WK"),
        400,
        ("scope", "more than once"),
        prepare=lead_signed_in,
    ),
    Case(
        "api-repeated-by",
        api("by=hub&by=pcn"),
        400,
        ("by", "more than once"),
        prepare=lead_signed_in,
    ),
    Case(
        "api-scope-with-nul",
        api("scope=H-EK%00"),
        400,
        ("query parameter scope", "NUL"),
        prepare=lead_signed_in,
    ),
    Case(
        "api-unknown-survey",
        api("", slug="no-such-survey"),
        404,
        ("no-such-survey",),
        prepare=lead_signed_in,
    ),
]

DEFINITION_CASES = [
    Case(
        "definition-bad-yaml",
        definition_text("slug: broken\ntitle: [unclosed\n"),
        1,
        ("definition.yaml", "is not valid YAML"),
    ),
    Case(
        "definition-empty-file",
        definition_text(""),
        1,
        ("definition.yaml", "must hold a mapping"),
    ),
    Case(
        "definition-a-list-not-a-mapping",
        definition_text("- slug: a\n- slug: b\n"),
        1,
        ("definition.yaml", "must hold a mapping"),
    ),
    Case(
        "definition-binary-file",
        definition_text(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00"),
        1,
        ("definition.yaml",),
    ),
    Case(
        "definition-missing-slug",
        definition(lambda document: document.pop("slug")),
        1,
        ("definition.yaml", "slug: Field required"),
    ),
    Case(
        "definition-bad-slug",
        definition(lambda document: document.update(slug="Has Spaces")),
        1,
        ("definition.yaml", "slug:"),
    ),
    Case(
        "definition-misspelt-key",
        definition(lambda document: document.update(anonymus=True)),
        1,
        ("definition.yaml", "anonymus: Extra inputs are not permitted"),
    ),
    Case(
        "definition-duplicate-question-codes",
        definition(lambda document: text_question(document).update(code="welcomed")),
        1,
        ("definition.yaml", "question codes: 'welcomed' appears twice"),
    ),
    Case(
        "definition-likert-without-scale",
        definition(lambda document: first_question(document).pop("scale")),
        1,
        ("definition.yaml", "sections[0].questions[0]", "a likert question needs a scale"),
    ),
    Case(
        "definition-unknown-scale",
        definition(lambda document: first_question(document).update(scale="nope")),
        1,
        ("definition.yaml", "sections[0].questions[0].scale: unknown scale 'nope'"),
    ),
    Case(
        "definition-unknown-theme",
        definition(lambda document: first_question(document).update(theme="nope")),
        1,
        ("definition.yaml", "sections[0].questions[0].theme: unknown theme 'nope'"),
    ),
    Case(
        "definition-scale-not-1-to-k",
        definition(lambda document: document["scales"]["agreement"][2].update(value=5)),
        1,
        ("definition.yaml", "scales.agreement", "values must run 1, 2, 3"),
    ),
    Case(
        "definition-bad-regex-in-codebook",
        definition(
            lambda document: text_question(document)["text_themes"][0].update(patterns=["(team"])
        ),
        1,
        ("definition.yaml", "sections[0].questions[1].text_themes[0]", "patterns[0]"),
    ),
    Case(
        "definition-codebook-phrase-not-words",
        definition(
            lambda document: document.update(
                codebook=[{"code": "team", "label": "The team", "phrases": ["team", "te(am"]}]
            )
        ),
        1,
        ("definition.yaml", "codebook[0]", "phrases[1]: 'te(am'", "is not a word"),
    ),
    Case(
        "definition-text-theme-not-in-codebook",
        definition(lambda document: text_question(document).update(text_themes=["team"])),
        1,
        (
            "definition.yaml",
            "sections[0].questions[1].text_themes[0]: 'team' is not a theme of the codebook",
        ),
    ),
    Case(
        "definition-reserved-question-code",
        definition(lambda document: text_question(document).update(code="org_code")),
        1,
        ("definition.yaml", "org_code", "reserved"),
    ),
    Case(
        "definition-unknown-level",
        definition(lambda document: document["organisation"].update(levels=["ward"])),
        1,
        ("definition.yaml", "organisation.levels[0]"),
    ),
    Case(
        "definition-text-with-nul-escape",
        definition_text(
            yaml.safe_dump(DEFINITION, sort_keys=False).replace(
                "I was welcomed.", '"I was\\0 welcomed."'
            )
        ),
        1,
        ("definition.yaml", "sections[0].questions[0].text", "NUL"),
    ),
    Case(
        "definition-yaml-boolean-title",
        definition_text(
            yaml.safe_dump({**DEFINITION, "title": "TITLE"}, sort_keys=False).replace("TITLE", "No")
        ),
        1,
        ("definition.yaml", "title:", "put the text in quotes"),
    ),
]

CASES = FORM_CASES + IMPORT_CASES + CLI_CASES + API_CASES + DEFINITION_CASES


@pytest.fixture
def world(
    app: Flask,
    client: FlaskClient,
    runner: FlaskCliRunner,
    db_session: Session,
    surveys: dict[str, Survey],
    hubs: Any,
    make_user: Callable[..., Any],
    tmp_path: Path,
) -> World:
    return World(app, client, runner, db_session, surveys, tmp_path, make_user)


def test_the_catalogue_is_large_and_its_names_unique() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_naming_what_is_wrong(world: World, case: Case) -> None:
    if case.prepare is not None:
        case.prepare(world)
    before = row_counts(world.session)
    outcome = case.run(world)
    assert outcome.status == case.status, outcome.text[-3000:]
    missing = [name for name in case.names if name not in outcome.text]
    assert not missing, f"the message does not name {missing}:\n{outcome.text[-3000:]}"
    after = row_counts(world.session)
    assert after.pop("auditevent") == before.pop("auditevent") + case.audit_events
    assert after == before, "something was stored"


def test_the_same_ways_in_store_good_input(world: World) -> None:
    """The cases' good halves are accepted, so each case is refused for its one fault and
    the row counts would have seen anything stored."""
    before = count_responses(world.session)
    assert placement()(world).status == 303
    invited(world)
    assert leaders()(world).status == 303
    assert import_csv(f"{HEADER}\n{GOOD_ROW}\n")(world).status == 0
    assert count_responses(world.session) == before + 3
    assert definition(lambda document: None)(world).status == 0
    assert orgs_csv("code,name,level,parent_code\nH1,A hub,hub,QKS\n")(world).status == 0
    lead_signed_in(world)
    assert api("scope=H-EK&by=practice")(world).status == 200
