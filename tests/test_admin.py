"""The administrators' pages: who may use them, organisations, users and surveys."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from survey_app.definitions.loader import SHIPPED_FOLDER
from survey_app.models import Organisation, OrgLevel, Survey, SurveyStatus, User, Wave
from survey_app.services import responses as response_service
from survey_app.services.audit import list_events
from tests.conftest import STAFF_PASSWORD, count_responses, csrf_token
from tests.test_respond import PLACEMENT, placement_answers

ADMIN = "admin@example.nhs.uk"
LEAD = "lead@example.nhs.uk"


@pytest.fixture
def admin(make_user: Callable[..., User], hubs: Any) -> User:
    return make_user(ADMIN, "admin", ())


@pytest.fixture
def lead(make_user: Callable[..., User], hubs: Any) -> User:
    return make_user(LEAD, "lead", ("H-EK",))


@pytest.fixture
def as_admin(client: FlaskClient, admin: User, sign_in: Callable[..., Any]) -> FlaskClient:
    assert sign_in(ADMIN).status_code == 303
    return client


def token(client: FlaskClient, path: str = "/admin") -> str:
    return csrf_token(client.get(path).text)


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    """POST with the CSRF token of the signed-in session."""
    return client.post(path, data={"csrf_token": token(client), **(data or {})}, **kw)


def error_summary(html: str) -> list[tuple[str, str]]:
    """(link target, text) of each entry of the page's error summary."""
    summary = re.search(r'class="nhsuk-error-summary".*?</div>\s*</div>', html, re.S)
    assert summary, "the page has no error summary"
    return [
        (href, re.sub(r"\s+", " ", text).strip())
        for href, text in re.findall(r'<a href="([^"]+)"\s*>(.*?)</a>', summary.group(0), re.S)
    ]


def organisation(db_session: Session, code: str) -> Organisation | None:
    db_session.expire_all()
    return db_session.exec(select(Organisation).where(Organisation.code == code)).first()


# --- who may use the pages --------------------------------------------------------------------


def admin_urls(app: Flask, user_id: int) -> list[tuple[str, str]]:
    """(method, path) of every route of the admin blueprint, found from the URL map so that a
    route added later is checked too."""
    values = {"slug": "placement-quality", "user_id": user_id}
    urls = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("admin."):
                continue
            path = url_for(rule.endpoint, **{name: values[name] for name in rule.arguments})
            urls += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return urls


def test_every_admin_page_refuses_leads_and_sends_the_signed_out_to_sign_in(
    app: Flask,
    client: FlaskClient,
    lead: User,
    surveys: Any,
    sign_in: Callable[..., Any],
    db_session: Session,
) -> None:
    urls = admin_urls(app, lead.id)  # type: ignore[arg-type]
    assert len(urls) >= 15 and ("GET", "/admin") in urls and ("POST", "/admin/users/new") in urls
    anonymous_token = csrf_token(client.get("/login").text)
    for method, path in urls:
        response = client.open(path, method=method, data={"csrf_token": anonymous_token})
        assert response.status_code == 302, (method, path)
        assert "/login" in response.headers["Location"]
    sign_in(LEAD)
    lead_token = token(client, "/reports")
    for method, path in urls:
        response = client.open(path, method=method, data={"csrf_token": lead_token})
        assert response.status_code == 403, (method, path)
    # Nothing a lead sent changed anything.
    assert db_session.get(User, lead.id).active  # type: ignore[union-attr]
    assert "/admin" not in client.get("/reports").text


def test_forms_without_a_csrf_token_are_refused(as_admin: FlaskClient, lead: User) -> None:
    response = as_admin.post(f"/admin/users/{lead.id}/deactivate")
    assert response.status_code == 400 and "expired" in response.text


def test_admin_index_links_the_sections_and_the_header_links_admin(
    as_admin: FlaskClient,
) -> None:
    page = as_admin.get("/admin")
    assert page.status_code == 200
    for section in ("/admin/organisations", "/admin/users", "/admin/surveys"):
        assert f'href="{section}"' in page.text
    reports = as_admin.get("/reports").text
    assert re.search(r'class="nhsuk-header__navigation-link" href="/admin"', reports)
    assert "<script>" not in page.text


# --- organisations ----------------------------------------------------------------------------


def test_organisations_search_by_name_code_and_level_shows_parents(
    as_admin: FlaskClient,
) -> None:
    page = as_admin.get("/admin/organisations?q=surgery&level=practice").text
    assert "6 organisations" in page
    assert re.search(
        r"Cathedral Surgery</th>.*?P-EK1.*?GP practice.*?Canterbury PCN \(N-EK1\)", page, re.S
    )
    assert "Training Hub" not in page.split("<table", 1)[1]
    by_code = as_admin.get("/admin/organisations?q=n-ek").text
    assert re.search(r"\b1 organisation\b", by_code)
    assert "Canterbury PCN" in by_code and "East Kent Training Hub (H-EK)" in by_code
    none = as_admin.get("/admin/organisations?q=no-such-place")
    assert "No organisations match" in none.text
    bad = as_admin.get("/admin/organisations?level=surgery")
    assert bad.status_code == 400 and error_summary(bad.text)[0][0] == "#level"


def test_organisations_are_listed_a_page_at_a_time(as_admin: FlaskClient) -> None:
    # 7 regions, 42 ICBs and the 12 organisations of the hubs fixture.
    first = as_admin.get("/admin/organisations").text
    assert "61 organisations, page 1 of 2" in first
    assert 'href="/admin/organisations?page=2"' in first
    second = as_admin.get("/admin/organisations?page=2").text
    assert "page 2 of 2" in second and second.count('<th scope="row"') == 11
    assert as_admin.get("/admin/organisations?page=99").status_code == 200  # the last page


ODS_PRACTICES = (
    '"ORGANISATION_CODE","Name","Postcode","Status Code","Commissioner","PCN"\n'
    '"G82001","THE GRANGE SURGERY","CT1 2AB","A","91Q","N-EK1"\n'
    '"G82002","HARBOUR VIEW MEDICAL CENTRE","CT9 1AA","A","91Q","N-WK1"\n'
    '"G82099","OLD MILL SURGERY","CT2 8AA","C","91Q","N-EK1"\n'
)


def upload(as_admin: FlaskClient, path: str, content: str | bytes, name: str) -> Any:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return post(
        as_admin,
        path,
        {"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_ods_practice_list_is_mapped_by_header_and_practices_sit_under_their_pcn(
    as_admin: FlaskClient, db_session: Session
) -> None:
    page = as_admin.get("/admin/organisations/import").text
    assert "Organisation Code" in page and "Pcn Code" in page  # the accepted headers
    response = upload(as_admin, "/admin/organisations/import", ODS_PRACTICES, "epraccur.csv")
    assert response.status_code == 303
    listing = as_admin.get(response.headers["Location"]).text
    assert "epraccur.csv: 2 created, 0 updated, 0 unchanged, 1 closed practices left out" in listing
    grange, pcn = organisation(db_session, "G82001"), organisation(db_session, "N-EK1")
    assert grange is not None and pcn is not None
    assert grange.level == OrgLevel.PRACTICE and grange.name == "THE GRANGE SURGERY"
    assert grange.parent_id == pcn.id and grange.pcn_id == pcn.id and grange.hub_id == pcn.hub_id
    assert organisation(db_session, "G82099") is None  # closed
    found = as_admin.get("/admin/organisations?q=grange").text
    assert "Canterbury PCN (N-EK1)" in found
    again = upload(as_admin, "/admin/organisations/import", ODS_PRACTICES, "epraccur.csv")
    assert "0 created, 0 updated, 2 unchanged" in as_admin.get(again.headers["Location"]).text


def test_the_command_line_imports_the_same_practice_list(
    app: Flask, hubs: Any, db_session: Session, tmp_path: Any
) -> None:
    path = tmp_path / "epraccur.csv"
    path.write_text(ODS_PRACTICES, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["orgs", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 created, 0 updated, 0 unchanged, 1 closed practices left out" in result.output
    practice = organisation(db_session, "G82002")
    assert practice is not None and practice.pcn_id == organisation(db_session, "N-WK1").id  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            ODS_PRACTICES.replace('"N-WK1"', '"U99999"'),
            "epraccur.csv, row 3, column PCN: no organisation has code 'U99999'",
        ),
        (
            ODS_PRACTICES.replace('"G82002"', '""'),
            "epraccur.csv, row 3, column ORGANISATION_CODE: is empty",
        ),
        (
            ODS_PRACTICES.replace('"G82002"', '"G82001"'),
            "epraccur.csv, row 3, column ORGANISATION_CODE: 'G82001' is also on row 2",
        ),
        (
            "code,name,level,parent_code\nP9,Hill Surgery,practice,N-EK1\nP8,Dale,surgery,N-EK1\n",
            "epraccur.csv, row 3, column level: 'surgery' is not one of",
        ),
        ("Practice,Town\nG82001,Canterbury\n", "the header must be code,name,level,parent_code"),
    ],
)
def test_a_bad_organisations_file_names_the_row_and_column_and_stores_nothing(
    as_admin: FlaskClient, db_session: Session, content: str, expected: str
) -> None:
    before = len(db_session.exec(select(Organisation)).all())
    response = upload(as_admin, "/admin/organisations/import", content, "epraccur.csv")
    assert response.status_code == 400
    [(target, message)] = error_summary(response.text)
    assert target == "#file" and expected in message.replace("&#39;", "'")
    assert "Nothing was imported" in response.text
    db_session.expire_all()
    assert len(db_session.exec(select(Organisation)).all()) == before


def test_a_file_that_is_not_utf8_is_refused(as_admin: FlaskClient) -> None:
    content = "Organisation Code,Name,PCN\nG1,CAFÉ SURGERY,N-EK1\n".encode("cp1252")
    response = upload(as_admin, "/admin/organisations/import", content, "practices.csv")
    assert response.status_code == 400 and "is not UTF-8 text" in response.text


# --- users ------------------------------------------------------------------------------------


def new_user(as_admin: FlaskClient, **fields: str) -> Any:
    data = {
        "email": "new.lead@example.nhs.uk",
        "role": "lead",
        "scopes": "h-ek",
        "password": "a long enough password",
    }
    data.update(fields)
    return post(as_admin, "/admin/users/new", data)


def test_admin_creates_a_lead_who_signs_in_and_sees_only_their_scope(
    as_admin: FlaskClient, surveys: Any, sign_in: Callable[..., Any]
) -> None:
    created = new_user(as_admin)
    assert created.status_code == 303
    users = as_admin.get(created.headers["Location"]).text
    assert "new.lead@example.nhs.uk can now sign in as a quality lead" in users
    assert "East Kent Training Hub (H-EK)" in users
    as_admin.post("/logout", data={"csrf_token": token(as_admin)})
    assert sign_in("new.lead@example.nhs.uk", "a long enough password").status_code == 303
    reports = as_admin.get("/reports").text
    assert "You can see responses for" in reports and "East Kent Training Hub" in reports
    own = as_admin.get("/api/surveys/placement-quality/summary?scope=H-EK")
    other = as_admin.get("/api/surveys/placement-quality/summary?scope=H-SX")
    assert own.status_code == 200 and other.status_code == 403
    assert as_admin.get("/admin").status_code == 403


@pytest.mark.parametrize(
    ("fields", "target", "message"),
    [
        ({"password": "too short"}, "#password", "at least 12 characters"),
        ({"scopes": "H-EK NOPE"}, "#scopes", "no organisation has the code NOPE"),
        ({"scopes": ""}, "#scopes", "Enter at least one organisation code"),
        ({"email": "not an address"}, "#email", "Enter an email address"),
        ({"role": "owner"}, "#role", "Not a valid choice"),
        ({"email": LEAD}, "#email", f"a user with email {LEAD} already exists"),
    ],
)
def test_creating_a_user_refuses_bad_input_naming_the_field(
    as_admin: FlaskClient,
    lead: User,
    db_session: Session,
    fields: dict[str, str],
    target: str,
    message: str,
) -> None:
    response = new_user(as_admin, **fields)
    assert response.status_code == 400
    problems = error_summary(response.text)
    assert (target, message) in [(href, text[: len(message)]) for href, text in problems] or any(
        href == target and message in text for href, text in problems
    ), problems
    db_session.expire_all()
    assert len(db_session.exec(select(User)).all()) == 2


def test_an_admin_needs_no_scope(as_admin: FlaskClient, db_session: Session) -> None:
    assert new_user(as_admin, role="admin", scopes="").status_code == 303
    user = db_session.exec(select(User).where(User.email == "new.lead@example.nhs.uk")).one()
    assert user.is_admin and user.scopes == []


def test_admin_changes_a_leads_role_and_scopes(
    as_admin: FlaskClient, lead: User, db_session: Session
) -> None:
    page = as_admin.get(f"/admin/users/{lead.id}").text
    assert 'value="H-EK"' in page and "East Kent Training Hub" in page
    changed = post(as_admin, f"/admin/users/{lead.id}", {"role": "lead", "scopes": "H-WK, H-SX"})
    assert changed.status_code == 303
    page = as_admin.get(changed.headers["Location"]).text
    assert "access is saved" in page and "West Kent Training Hub" in page
    assert "West Sussex Training Hub" in page and "East Kent Training Hub" not in page
    refused = post(as_admin, f"/admin/users/{lead.id}", {"role": "lead", "scopes": ""})
    assert refused.status_code == 400 and error_summary(refused.text)[0][0] == "#scopes"
    promoted = post(as_admin, f"/admin/users/{lead.id}", {"role": "admin", "scopes": ""})
    assert promoted.status_code == 303
    db_session.expire_all()
    assert db_session.get(User, lead.id).is_admin  # type: ignore[union-attr]


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in_until_reactivated(
    app: Flask, as_admin: FlaskClient, lead: User, sign_in: Callable[..., Any]
) -> None:
    lead_client = app.test_client()
    login_page = lead_client.get("/login")
    lead_client.post(
        "/login",
        data={"email": LEAD, "password": STAFF_PASSWORD, "csrf_token": csrf_token(login_page.text)},
    )
    assert lead_client.get("/reports").status_code == 200

    response = post(as_admin, f"/admin/users/{lead.id}/deactivate")
    assert response.status_code == 303
    assert "can no longer sign in" in as_admin.get(response.headers["Location"]).text
    assert "Deactivated" in as_admin.get("/admin/users").text

    assert lead_client.get("/reports").status_code == 302  # the session has ended
    login_page = lead_client.get("/login")
    again = lead_client.post(
        "/login",
        data={"email": LEAD, "password": STAFF_PASSWORD, "csrf_token": csrf_token(login_page.text)},
    )
    assert again.status_code == 400 and "The email address or password is not right" in again.text

    assert post(as_admin, f"/admin/users/{lead.id}/reactivate").status_code == 303
    with Session(app.extensions["survey_app.engine"]) as session:
        events = [
            (e.action, e.actor, e.target)
            for e in list_events(session)
            if e.action in ("user-deactivated", "user-reactivated")
        ]
    assert events == [("user-reactivated", ADMIN, LEAD), ("user-deactivated", ADMIN, LEAD)]
    login_page = lead_client.get("/login")
    back = lead_client.post(
        "/login",
        data={"email": LEAD, "password": STAFF_PASSWORD, "csrf_token": csrf_token(login_page.text)},
    )
    assert back.status_code == 303


def test_an_admin_cannot_deactivate_themselves_or_change_their_own_role(
    as_admin: FlaskClient, admin: User, db_session: Session
) -> None:
    page = as_admin.get(f"/admin/users/{admin.id}").text
    assert "You cannot deactivate your own account" in page
    assert f"/admin/users/{admin.id}/deactivate" not in page
    refused = post(as_admin, f"/admin/users/{admin.id}/deactivate")
    assert refused.status_code == 400
    assert error_summary(refused.text) == [
        ("#account-status", "you cannot deactivate your own account; another administrator can")
    ]
    demoted = post(as_admin, f"/admin/users/{admin.id}", {"role": "lead", "scopes": "QKS"})
    assert demoted.status_code == 400 and "cannot change your own role" in demoted.text
    db_session.expire_all()
    me = db_session.get(User, admin.id)
    assert me is not None and me.active and me.is_admin
    assert as_admin.get("/admin").status_code == 200


# --- surveys ----------------------------------------------------------------------------------


def test_surveys_list_shows_status_and_responses(
    as_admin: FlaskClient, surveys: dict[str, Survey]
) -> None:
    as_admin.post(PLACEMENT, data=placement_answers(as_admin))
    page = as_admin.get("/admin/surveys").text
    row = re.search(r"\(placement-quality\).*?</tr>", page, re.S)
    assert row and ">Open<" in row.group(0) and ">1<" in row.group(0)


def test_load_the_shipped_surveys_from_the_page(
    client: FlaskClient, make_user: Callable[..., User], sign_in: Callable[..., Any]
) -> None:
    make_user(ADMIN, "admin", ())
    sign_in(ADMIN)
    assert "No survey is loaded yet" in client.get("/admin/surveys").text
    response = post(client, "/admin/surveys/load-shipped")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).text
    assert "placement-quality: loaded" in page and "icb-leaders: loaded" in page
    assert re.search(r"\(placement-quality\).*?>Draft<", page, re.S)


GOOD_DEFINITION = """\
slug: pharmacy-placements
title: Pharmacy placements
anonymous: true
allow_open_link: true
organisation:
  text: Where was your placement?
  levels: [practice]
scales:
  agree:
    - {value: 1, label: Disagree}
    - {value: 2, label: Neutral}
    - {value: 3, label: Agree}
themes:
  - {code: support, title: Support}
sections:
  - title: Your placement
    theme: support
    questions:
      - {code: welcomed, type: likert, scale: agree, text: I was welcomed}
      - {code: anything_else, type: text, text: "Anything else?"}
"""


def test_an_uploaded_definition_is_loaded_and_can_be_previewed(
    as_admin: FlaskClient, db_session: Session
) -> None:
    response = upload(as_admin, "/admin/surveys/upload", GOOD_DEFINITION, "pharmacy.yaml")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/surveys/pharmacy-placements")
    page = as_admin.get(response.headers["Location"]).text
    assert "pharmacy.yaml: pharmacy-placements loaded" in page and ">Draft<" in page

    preview = as_admin.get("/admin/surveys/pharmacy-placements/preview")
    assert preview.status_code == 200
    assert "Preview" in preview.text and "I was welcomed" in preview.text
    assert '<fieldset class="app-preview" disabled>' in preview.text
    assert "Cathedral Surgery (P-EK1)" in preview.text  # the open link's organisation question
    # The preview takes no answers, and the survey is not open to respondents.
    assert as_admin.post("/admin/surveys/pharmacy-placements/preview").status_code == 405
    assert as_admin.get("/s/pharmacy-placements").status_code == 404
    assert count_responses(db_session) == 0


def test_a_bad_definition_names_each_field_and_stores_nothing(
    as_admin: FlaskClient, db_session: Session
) -> None:
    bad = GOOD_DEFINITION.replace("code: welcomed", "code: Welcomed Here").replace(
        "title: Pharmacy placements\n", ""
    )
    response = upload(as_admin, "/admin/surveys/upload", bad, "pharmacy.yaml")
    assert response.status_code == 400
    problems = error_summary(response.text)
    assert [target for target, _ in problems] == ["#file", "#file"]
    texts = [text.replace("&#39;", "'") for _, text in problems]
    assert texts[0] == "pharmacy.yaml: title: Field required"
    assert texts[1].startswith(
        "pharmacy.yaml: sections[0].questions[0].code: String should match pattern"
    )
    not_yaml = upload(as_admin, "/admin/surveys/upload", "slug: [unclosed", "broken.yaml")
    assert not_yaml.status_code == 400 and "is not valid YAML" in not_yaml.text
    unknown_scale = upload(
        as_admin,
        "/admin/surveys/upload",
        GOOD_DEFINITION.replace("scale: agree", "scale: frequency"),
        "pharmacy.yaml",
    )
    assert (
        "sections[0].questions[0].scale: unknown scale 'frequency'"
        in unknown_scale.text.replace("&#39;", "'")
    )
    assert db_session.exec(select(Survey).where(Survey.slug == "pharmacy-placements")).all() == []


def test_an_upload_that_would_orphan_answers_changes_nothing(
    as_admin: FlaskClient, surveys: dict[str, Survey], db_session: Session
) -> None:
    as_admin.post(PLACEMENT, data=placement_answers(as_admin))
    shipped = (SHIPPED_FOLDER / "placement-quality.yaml").read_text(encoding="utf-8")
    changed = re.sub(r"^ *- \{code: overall,.*\n", "", shipped, flags=re.M).replace(
        "title: Primary care placement quality survey", "title: Renamed survey"
    )
    assert changed.count("Renamed") == 1 and "code: overall" not in changed
    response = upload(as_admin, "/admin/surveys/upload", changed, "placement-quality.yaml")
    assert response.status_code == 400
    [(_, message)] = error_summary(response.text)
    assert message.replace("&#39;", "'") == (
        "placement-quality.yaml: question 'overall' has stored answers and cannot be removed"
    )
    db_session.expire_all()
    survey = db_session.exec(select(Survey).where(Survey.slug == "placement-quality")).one()
    assert survey.title == "Primary care placement quality survey"
    assert "overall" in {question.code for question in survey.questions}


def test_open_and_close_change_what_respondents_get(
    as_admin: FlaskClient, surveys: dict[str, Survey], db_session: Session
) -> None:
    assert as_admin.get(PLACEMENT).status_code == 200
    closed = post(as_admin, "/admin/surveys/placement-quality/close")
    assert closed.status_code == 303
    assert "is closed" in as_admin.get(closed.headers["Location"]).text
    assert as_admin.get(PLACEMENT).status_code == 404
    again = post(as_admin, "/admin/surveys/placement-quality/close")
    assert again.status_code == 400
    assert error_summary(again.text)[0][1].replace("&#39;", "'") == (
        "wave 1 of placement-quality is closed, only an open wave can be closed"
    )
    opened = post(as_admin, "/admin/surveys/placement-quality/open")
    assert opened.status_code == 303
    response = as_admin.post(PLACEMENT, data=placement_answers(as_admin))
    assert response.status_code == 303 and count_responses(db_session) == 1
    twice = post(as_admin, "/admin/surveys/placement-quality/open")
    assert twice.status_code == 400 and "is already open" in twice.text


# --- dates the application honours by itself -------------------------------------------------


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[datetime], None]]:
    """Sets the application's clock (every `utcnow` the services read) to a given moment."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(response_service, "utcnow", lambda: moment)

    yield set_to


def listed_status(runner: Any, slug: str) -> str:
    listing = json.loads(runner.invoke(args=["surveys", "list", "--format", "json"]).output)
    return {entry["slug"]: entry["status"] for entry in listing}[slug]


def test_dates_open_and_close_the_survey_at_their_moment(
    app: Flask,
    as_admin: FlaskClient,
    surveys: dict[str, Survey],
    db_session: Session,
    clock: Callable[[datetime], None],
) -> None:
    runner = app.test_cli_runner()
    clock(datetime(2030, 6, 1, tzinfo=UTC))
    saved = post(
        as_admin,
        "/admin/surveys/placement-quality/dates",
        # UK summer time: 09:00 and 17:00 are 08:00 and 16:00 UTC.
        {"opens_at": "2030-07-01T09:00", "closes_at": "2030-07-31T17:00"},
    )
    assert saved.status_code == 303
    page = as_admin.get(saved.headers["Location"]).text
    assert "opens by itself on 1 July 2030, 09:00" in page
    wave = db_session.get(Wave, surveys["placement-quality"].current_wave.id)
    db_session.refresh(wave)
    assert wave is not None and wave.opens_at == datetime(2030, 7, 1, 8, tzinfo=UTC)

    opening, closing = datetime(2030, 7, 1, 8, tzinfo=UTC), datetime(2030, 7, 31, 16, tzinfo=UTC)
    just = timedelta(microseconds=1)
    expected = [
        (opening - just, 404, "draft"),
        (opening, 200, "open"),
        (closing - just, 200, "open"),
        (closing, 404, "closed"),
    ]
    for moment, respondent_status, status in expected:
        clock(moment)
        assert as_admin.get(PLACEMENT).status_code == respondent_status, moment
        assert listed_status(runner, "placement-quality") == status, moment
        reports = as_admin.get("/reports").text
        assert re.search(
            rf"placement quality survey</h2>\s*<p>Status: <strong[^>]*>{status}<", reports
        )
        on_landing = "placement quality survey" in as_admin.get("/").text
        assert on_landing == (status == "open"), moment

    # Answers sent at the closing moment are not stored.
    clock(closing - just)
    answers = placement_answers(as_admin)
    clock(closing)
    assert as_admin.post(PLACEMENT, data=answers).status_code == 404
    assert count_responses(db_session) == 0


def test_opening_by_hand_after_the_closing_date_is_refused(
    as_admin: FlaskClient, surveys: dict[str, Survey], clock: Callable[[datetime], None]
) -> None:
    clock(datetime(2030, 3, 1, 12, tzinfo=UTC))
    post(as_admin, "/admin/surveys/placement-quality/dates", {"closes_at": "2030-02-01T12:00"})
    assert as_admin.get(PLACEMENT).status_code == 404
    refused = post(as_admin, "/admin/surveys/placement-quality/open")
    assert refused.status_code == 400
    assert "set a later closing date" in refused.text
    cleared = post(as_admin, "/admin/surveys/placement-quality/dates", {"closes_at": ""})
    assert cleared.status_code == 303
    assert as_admin.get(PLACEMENT).status_code == 200  # open by hand, and no date closes it


def test_a_closing_time_before_the_opening_time_is_refused(
    as_admin: FlaskClient, surveys: dict[str, Survey]
) -> None:
    response = post(
        as_admin,
        "/admin/surveys/placement-quality/dates",
        {"opens_at": "2030-07-01T09:00", "closes_at": "2030-07-01T09:00"},
    )
    assert response.status_code == 400
    assert error_summary(response.text) == [
        ("#closes_at", "The closing time must be after the opening time")
    ]


@pytest.mark.parametrize(
    ("stored", "opens", "closes", "now", "expected"),
    [
        ("draft", None, None, 0, "draft"),
        ("open", None, None, 0, "open"),
        ("draft", 10, None, 9, "draft"),
        ("draft", 10, None, 10, "open"),
        ("open", 10, None, 9, "draft"),
        ("open", None, 20, 19, "open"),
        ("open", None, 20, 20, "closed"),
        ("draft", None, 20, 25, "draft"),
        ("draft", 10, 20, 20, "closed"),
        ("closed", 10, 20, 15, "closed"),
    ],
)
def test_status_at_reads_the_dates(
    stored: str, opens: int | None, closes: int | None, now: int, expected: str
) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)

    def at(hour: int | None) -> datetime | None:
        return None if hour is None else start + timedelta(hours=hour)

    wave = Wave(
        survey_id=1,
        number=1,
        status=SurveyStatus(stored),
        opens_at=at(opens),
        closes_at=at(closes),
        created_at=start,
    )
    assert wave.status_at(at(now)).value == expected  # type: ignore[arg-type]
