"""Waves: a survey run again for each new period, each wave keeping its own responses and
invitations; the lifecycle, the command line, the admin pages, report selection and migration
0005, which turns every existing survey into its wave 1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlmodel import Session, SQLModel, select

from survey_app.db import create_db_engine
from survey_app.migrations.runner import upgrade
from survey_app.models import AuditEvent, Invitation, Organisation, Response, Survey, User, Wave
from survey_app.reporting.report_store import report_key
from survey_app.reporting.scope import report_wave
from survey_app.reporting.summary_data import load_summary
from survey_app.services import ServiceError
from survey_app.services import responses as response_service
from survey_app.services.invitations import create_invitations, find_invitation
from survey_app.services.organisations import organisation_by_code
from survey_app.services.responses import SurveyNotAccepting, import_responses, submit_response
from survey_app.services.surveys import survey_by_slug
from survey_app.services.waves import (
    close_survey,
    forget_closed_wave_addresses,
    open_survey,
    set_survey_dates,
    start_wave,
)
from tests.conftest import csrf_token
from tests.test_summary_data import (
    MIN_N,
    ORGANISATIONS,
    assert_same,
    expected_summary,
    generate_answers,
)
from tests.test_summary_data import (
    PLACEMENT as PLACEMENT_DEFINITION,
)

PLACEMENT = "placement-quality"
LEADERS = "icb-leaders"
ADMIN = "admin@example.nhs.uk"
SURVEY_PAGE = f"/admin/surveys/{PLACEMENT}"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[datetime], None]]:
    """Sets the application's clock (every `utcnow` the services read) to a given moment."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(response_service, "utcnow", lambda: moment)

    yield set_to


def reloaded(session: Session, slug: str) -> Survey:
    """The survey as stored now, with its waves."""
    session.expire_all()
    survey = survey_by_slug(session, slug)
    assert survey is not None
    return survey


def next_wave(session: Session, slug: str, name: str | None = None) -> Wave:
    """Close the current wave of `slug`, start the next and open it; returns it."""
    close_survey(session, reloaded(session, slug))
    wave = start_wave(session, reloaded(session, slug), name)
    open_survey(session, reloaded(session, slug))
    return wave


def count_rows(session: Session, table: type, *where: Any) -> int:
    """Rows of `table` matching `where`, counted by the database."""
    session.expire_all()
    return session.exec(select(sa.func.count()).select_from(table).where(*where)).one()


# --- a new wave keeps its own responses ----------------------------------------------------------


def test_each_waves_summary_holds_its_own_responses_only(
    db_session: Session,
    surveys: dict[str, Survey],
    make_orgs: Callable[..., dict[str, Organisation]],
    client: FlaskClient,
    make_user: Callable[..., User],
    sign_in: Callable[..., Any],
) -> None:
    make_orgs(*ORGANISATIONS)
    first_answers = generate_answers(PLACEMENT_DEFINITION, seed=11)
    # Fewer in wave 2 (every third left out), so the counts of the waves differ too.
    generated = generate_answers(PLACEMENT_DEFINITION, seed=12)
    second_answers = generated.where(np.arange(len(generated)) % 3 != 0)
    import_responses(db_session, surveys[PLACEMENT], first_answers.to_csv(), "one.csv", 5000)
    second = next_wave(db_session, PLACEMENT, "2026/27 rotation 1")
    survey = reloaded(db_session, PLACEMENT)
    import_responses(db_session, survey, second_answers.to_csv(), "two.csv", 5000)

    survey = reloaded(db_session, PLACEMENT)
    first_wave, second_wave = survey.waves
    assert (second_wave.number, second_wave.name) == (2, "2026/27 rotation 1")
    assert count_rows(db_session, Response, Response.wave_id == first_wave.id) == len(first_answers)
    assert count_rows(db_session, Response, Response.wave_id == second.id) == len(second_answers)
    for by in (None, "hub", "profession"):
        # Each wave's summary against one computed from that wave's raw answers alone.
        later = load_summary(db_session, survey, None, by, MIN_N, second_wave)
        assert_same(
            later,
            expected_summary(
                PLACEMENT_DEFINITION,
                second_answers,
                None,
                by,
                later,
                (2, second.name),
                previous=(first_answers, (1, first_wave.name)),
            ),
            f"wave 2 by {by}",
        )
        earlier = load_summary(db_session, survey, None, by, MIN_N, first_wave)
        assert_same(
            earlier,
            expected_summary(PLACEMENT_DEFINITION, first_answers, None, by, earlier),
            f"wave 1 by {by}",
        )
    # The default is the open wave 2; the API gives either wave.
    default = load_summary(db_session, survey, None, None, MIN_N)
    assert default["wave"] == {"number": 2, "name": "2026/27 rotation 1"}
    assert default["responses"] == len(second_answers) != len(first_answers)
    make_user(ADMIN, "admin", ())
    assert sign_in(ADMIN).status_code == 303
    api = f"/api/surveys/{PLACEMENT}/summary"
    assert client.get(f"{api}?wave=1").get_json()["responses"] == len(first_answers)
    assert client.get(f"{api}?wave=2").get_json()["responses"] == len(second_answers)
    assert client.get(api).get_json()["wave"]["number"] == 2


def test_a_new_wave_waiting_to_open_leaves_the_reports_on_the_wave_before(
    db_session: Session, surveys: dict[str, Survey], hubs: Any, clock: Callable[[datetime], None]
) -> None:
    now = datetime(2030, 3, 1, 12, tzinfo=UTC)
    clock(now)
    csv = "org_code,profession,stage,overall\n" + "P-EK1,pharmacist,experienced,4\n" * 6
    import_responses(db_session, surveys[PLACEMENT], csv, "one.csv", 5000)
    close_survey(db_session, reloaded(db_session, PLACEMENT))
    start_wave(db_session, reloaded(db_session, PLACEMENT), opens_at=now + timedelta(days=7))
    survey = reloaded(db_session, PLACEMENT)
    assert report_wave(db_session, survey).number == 1
    assert load_summary(db_session, survey, None, None, MIN_N)["responses"] == 6
    clock(now + timedelta(days=7))  # the opening date: wave 2 is open, with no responses yet
    assert report_wave(db_session, survey).number == 2
    assert load_summary(db_session, survey, None, None, MIN_N)["responses"] == 0
    # Historic responses imported into a draft wave make it the one reported.
    clock(now)
    import_responses(db_session, survey, csv, "two.csv", 5000, wave_number=2)
    assert report_wave(db_session, reloaded(db_session, PLACEMENT)).number == 2


def test_responses_go_to_the_current_open_wave_and_imports_to_any_wave(
    db_session: Session, surveys: dict[str, Survey], hubs: dict[str, Organisation]
) -> None:
    csv = "org_code,profession,stage,overall\nP-EK1,pharmacist,experienced,4\n"
    second = next_wave(db_session, PLACEMENT)
    survey = reloaded(db_session, PLACEMENT)
    stored = submit_response(db_session, survey, hubs["P-EK1"], {})
    assert stored.wave_id == second.id
    import_responses(db_session, survey, csv, "old.csv", 5000, wave_number=1)
    first = survey.waves[0]
    assert count_rows(db_session, Response, Response.wave_id == first.id) == 1
    with pytest.raises(ServiceError, match="--wave: placement-quality has no wave 3"):
        import_responses(db_session, survey, csv, "x.csv", 5000, wave_number=3)
    close_survey(db_session, reloaded(db_session, PLACEMENT))
    with pytest.raises(SurveyNotAccepting, match="wave 2 of placement-quality"):
        submit_response(db_session, reloaded(db_session, PLACEMENT), hubs["P-EK1"], {})
    assert count_rows(db_session, Response, Response.wave_id == second.id) == 1


# --- lifecycle -----------------------------------------------------------------------------------


def test_a_wave_cannot_start_while_the_current_one_is_open_or_waiting(
    db_session: Session, surveys: dict[str, Survey], clock: Callable[[datetime], None]
) -> None:
    now = datetime(2030, 3, 1, 12, tzinfo=UTC)
    clock(now)
    with pytest.raises(ServiceError, match="wave 1 of placement-quality is open: close it"):
        start_wave(db_session, reloaded(db_session, PLACEMENT), "Too early")
    close_survey(db_session, reloaded(db_session, PLACEMENT))
    with pytest.raises(ServiceError, match="closes: the closing date must be after"):
        start_wave(db_session, reloaded(db_session, PLACEMENT), None, now, now)
    with pytest.raises(ServiceError, match="name: at most 120 characters"):
        start_wave(db_session, reloaded(db_session, PLACEMENT), "x" * 121)
    second = start_wave(db_session, reloaded(db_session, PLACEMENT))
    assert (second.number, second.name) == (2, "Wave 2")
    with pytest.raises(ServiceError, match="wave 2 of placement-quality is draft"):
        start_wave(db_session, reloaded(db_session, PLACEMENT))
    assert [wave.number for wave in reloaded(db_session, PLACEMENT).waves] == [1, 2]
    started = db_session.exec(select(AuditEvent).where(AuditEvent.action == "wave-started")).all()
    assert [(event.target, event.details["wave"]) for event in started] == [(PLACEMENT, 2)]


def test_reloading_a_definition_keeps_the_waves(
    db_session: Session, surveys: dict[str, Survey], runner: FlaskCliRunner, tmp_path: Any
) -> None:
    next_wave(db_session, PLACEMENT, "Rotation 2")
    from survey_app.definitions import shipped_definition_paths

    (shipped,) = [path for path in shipped_definition_paths() if path.stem == PLACEMENT]
    changed = tmp_path / shipped.name
    changed.write_text(
        shipped.read_text(encoding="utf-8").replace("title:", "title: Renamed", 1),
        encoding="utf-8",
    )
    assert runner.invoke(args=["surveys", "load", str(changed)]).exit_code == 0
    survey = reloaded(db_session, PLACEMENT)
    assert [(wave.number, wave.name) for wave in survey.waves] == [(1, "Wave 1"), (2, "Rotation 2")]
    assert survey.current_wave.status.value == "open"


def test_dates_act_on_the_current_wave_and_are_audited(
    db_session: Session, surveys: dict[str, Survey]
) -> None:
    next_wave(db_session, PLACEMENT)
    opens, closes = datetime(2031, 1, 1, 9, tzinfo=UTC), datetime(2031, 2, 1, 9, tzinfo=UTC)
    set_survey_dates(db_session, reloaded(db_session, PLACEMENT), opens, closes)
    first, second = reloaded(db_session, PLACEMENT).waves
    assert (first.opens_at, first.closes_at) == (None, None)
    assert (second.opens_at, second.closes_at) == (opens, closes)
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "survey-dates-set")).one()
    assert event.details == {
        "wave": 2,
        "before": {"opens_at": None, "closes_at": None},
        "after": {"opens_at": opens.isoformat(), "closes_at": closes.isoformat()},
    }


# --- invitations ---------------------------------------------------------------------------------


def test_an_invitation_to_a_closed_wave_is_refused(
    db_session: Session, surveys: dict[str, Survey], client: FlaskClient
) -> None:
    kent = organisation_by_code(db_session, "QKS")
    assert kent is not None
    [old] = create_invitations(db_session, surveys[LEADERS], kent, 1, "")
    old_token = old.url.rsplit("/", 1)[1]
    assert client.get(old.url).status_code == 200
    next_wave(db_session, LEADERS)
    survey = reloaded(db_session, LEADERS)
    [new] = create_invitations(db_session, survey, kent, 1, "")
    assert client.get(old.url).status_code == 404
    assert "not valid" in client.get(old.url).text
    assert find_invitation(db_session, survey.current_wave, old_token) is None
    stale = db_session.exec(
        select(Invitation).where(Invitation.wave_id == survey.waves[0].id)
    ).one()
    with pytest.raises(SurveyNotAccepting, match="not to wave 2 of icb-leaders"):
        submit_response(db_session, survey, kent, {}, invitation=stale)
    assert client.get(new.url).status_code == 200
    close_survey(db_session, reloaded(db_session, LEADERS))
    assert client.get(new.url).status_code == 404
    assert (
        find_invitation(db_session, reloaded(db_session, LEADERS).current_wave, new.url[-43:])
        is None
    )


def _emails(session: Session, wave_id: int) -> list[str | None]:
    session.expire_all()
    query = select(Invitation.email).where(Invitation.wave_id == wave_id).order_by(Invitation.id)
    return list(session.exec(query).all())


def test_addresses_are_forgotten_when_the_wave_closes_by_hand(
    db_session: Session, surveys: dict[str, Survey], hubs: dict[str, Organisation]
) -> None:
    kent, sussex = organisation_by_code(db_session, "QKS"), organisation_by_code(db_session, "QNX")
    assert kent is not None and sussex is not None
    create_invitations(db_session, surveys[LEADERS], kent, 1, "", email="lead@kent.nhs.uk")
    create_invitations(db_session, surveys[PLACEMENT], hubs["P-EK1"], 1, "", email="l@nhs.net")
    leaders_wave = reloaded(db_session, LEADERS).current_wave.id
    placement_wave = reloaded(db_session, PLACEMENT).current_wave.id
    assert _emails(db_session, leaders_wave) == ["lead@kent.nhs.uk"]
    close_survey(db_session, reloaded(db_session, LEADERS))
    assert _emails(db_session, leaders_wave) == [None]
    assert _emails(db_session, placement_wave) == ["l@nhs.net"]  # still open: kept
    with pytest.raises(ServiceError, match="closed: its invitations keep no addresses"):
        create_invitations(db_session, reloaded(db_session, LEADERS), sussex, 1, "", email="a@b.uk")


def test_addresses_are_forgotten_after_the_closing_date_by_purge(
    db_session: Session,
    surveys: dict[str, Survey],
    hubs: dict[str, Organisation],
    runner: FlaskCliRunner,
    clock: Callable[[datetime], None],
) -> None:
    now = datetime(2030, 3, 1, 12, tzinfo=UTC)
    clock(now)
    kent = organisation_by_code(db_session, "QKS")
    assert kent is not None
    set_survey_dates(db_session, reloaded(db_session, LEADERS), None, now + timedelta(days=1))
    for address in ("a@kent.nhs.uk", "b@kent.nhs.uk"):
        create_invitations(db_session, surveys[LEADERS], kent, 1, "", email=address)
    create_invitations(db_session, surveys[PLACEMENT], hubs["P-EK1"], 1, "", email="l@nhs.net")
    wave_id = reloaded(db_session, LEADERS).current_wave.id
    assert forget_closed_wave_addresses(db_session, now) == 0
    later = now + timedelta(days=1)
    assert forget_closed_wave_addresses(db_session, later, dry_run=True) == 2
    assert _emails(db_session, wave_id) == ["a@kent.nhs.uk", "b@kent.nhs.uk"]
    clock(later)
    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0 and "would forget 2 invitee addresses" in dry.output
    assert _emails(db_session, wave_id) == ["a@kent.nhs.uk", "b@kent.nhs.uk"]
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "forgot 2 invitee addresses of closed waves" in result.output
    assert _emails(db_session, wave_id) == [None, None]
    placement_wave = reloaded(db_session, PLACEMENT).current_wave.id
    assert _emails(db_session, placement_wave) == ["l@nhs.net"]


# --- command line --------------------------------------------------------------------------------


def test_waves_list_and_start_on_the_command_line(
    db_session: Session, surveys: dict[str, Survey], hubs: Any, runner: FlaskCliRunner
) -> None:
    csv = "org_code,profession,stage,overall\n" + "P-EK1,pharmacist,experienced,4\n" * 2
    import_responses(db_session, surveys[PLACEMENT], csv, "one.csv", 5000)
    refused = runner.invoke(args=["waves", "start", PLACEMENT])
    assert refused.exit_code != 0
    assert "wave 1 of placement-quality is open: close it" in refused.stderr
    assert runner.invoke(args=["surveys", "close", PLACEMENT]).exit_code == 0
    bad = runner.invoke(args=["waves", "start", PLACEMENT, "--opens", "next week"])
    assert bad.exit_code != 0 and "--opens: 'next week' is not an ISO 8601" in bad.stderr
    backwards = runner.invoke(
        args=["waves", "start", PLACEMENT, "--opens", "2031-09-01T09:00", "--closes", "2031-08-01"]
    )
    assert backwards.exit_code != 0 and "closes: the closing date" in backwards.stderr
    started = runner.invoke(
        args=[
            "waves", "start", PLACEMENT, "--name", "2031/32 rotation 1",
            "--opens", "2031-09-01T09:00+01:00", "--closes", "2031-12-01T17:00",
        ]
    )  # fmt: skip
    assert started.exit_code == 0, started.output
    assert "started wave 2, 2031/32 rotation 1" in started.output
    listing = runner.invoke(args=["waves", "list", PLACEMENT, "--format", "json"])
    assert listing.exit_code == 0
    assert json.loads(listing.output) == [
        {
            "number": 1,
            "name": "Wave 1",
            "status": "closed",
            "opens_at": None,
            "closes_at": None,
            "responses": 2,
            "invitations": 0,
        },
        {
            "number": 2,
            "name": "2031/32 rotation 1",
            "status": "draft",
            "opens_at": "2031-09-01T08:00:00+00:00",
            "closes_at": "2031-12-01T17:00:00+00:00",
            "responses": 0,
            "invitations": 0,
        },
    ]
    surveys_listing = json.loads(runner.invoke(args=["surveys", "list", "--format", "json"]).output)
    assert {entry["slug"]: entry["status"] for entry in surveys_listing}[PLACEMENT] == "draft"
    unknown = runner.invoke(args=["waves", "list", "no-such-survey"])
    assert unknown.exit_code != 0 and "no-such-survey" in unknown.stderr


def test_import_and_reports_take_a_wave_on_the_command_line(
    db_session: Session,
    surveys: dict[str, Survey],
    hubs: Any,
    runner: FlaskCliRunner,
    tmp_path: Any,
) -> None:
    next_wave(db_session, PLACEMENT)
    rows = tmp_path / "old.csv"
    rows.write_text(
        "org_code,profession,stage,overall\n" + "P-EK1,pharmacist,experienced,4\n" * 6,
        encoding="utf-8",
    )
    imported = runner.invoke(args=["import-responses", PLACEMENT, str(rows), "--wave", "1"])
    assert imported.exit_code == 0 and "imported 6 responses" in imported.output
    first = json.loads(runner.invoke(args=["report", "summary", PLACEMENT, "--wave", "1"]).output)
    assert first["wave"] == {"number": 1, "name": "Wave 1"} and first["responses"] == 6
    current = json.loads(runner.invoke(args=["report", "summary", PLACEMENT]).output)
    assert current["wave"] == {"number": 2, "name": "Wave 2"} and current["responses"] == 0
    unknown = runner.invoke(args=["report", "summary", PLACEMENT, "--wave", "5"])
    assert unknown.exit_code != 0
    assert "wave: placement-quality has no wave 5; its waves are 1, 2" in unknown.stderr
    wrong = runner.invoke(args=["import-responses", PLACEMENT, str(rows), "--wave", "9"])
    assert wrong.exit_code != 0 and "--wave" in wrong.stderr


# --- reports on the web --------------------------------------------------------------------------


@pytest.fixture
def as_admin(client: FlaskClient, make_user: Callable[..., User], sign_in: Any) -> FlaskClient:
    make_user(ADMIN, "admin", ())
    assert sign_in(ADMIN).status_code == 303
    return client


def test_the_report_page_pdf_and_api_select_a_wave(
    db_session: Session, surveys: dict[str, Survey], hubs: Any, as_admin: FlaskClient
) -> None:
    csv = "org_code,profession,stage,overall\n" + "P-EK1,pharmacist,experienced,4\n" * 6
    import_responses(db_session, surveys[PLACEMENT], csv, "one.csv", 5000)
    page = as_admin.get(f"/reports/{PLACEMENT}")
    assert page.status_code == 200 and 'name="wave"' not in page.text  # one wave: no choice
    listing = as_admin.get("/reports").text
    assert "(6 responses)" in listing and "Showing wave" not in listing
    next_wave(db_session, PLACEMENT, "Spring rotation")
    # The reports page counts the wave its reports now show: the new one, still empty.
    listing = as_admin.get("/reports").text
    assert "Showing wave 2: Spring rotation" in listing
    assert "(6 responses)" not in listing and "(0 responses)" in listing
    page = as_admin.get(f"/reports/{PLACEMENT}")
    assert "wave 2: Spring rotation" in page.text
    assert re.search(r'<option value="1"\s*>Wave 1: Wave 1</option>', page.text)
    assert re.search(r'<option value="2" selected\s*>Wave 2: Spring rotation</option>', page.text)
    chosen = as_admin.get(f"/reports/{PLACEMENT}?wave=1")
    assert "wave 1: Wave 1" in chosen.text
    assert f"/reports/{PLACEMENT}.pdf?wave=1" in chosen.text  # the downloads keep the wave
    api = f"/api/surveys/{PLACEMENT}/summary"
    assert as_admin.get(f"{api}?wave=1").get_json()["responses"] == 6
    assert as_admin.get(f"{api}?wave=2").get_json()["responses"] == 0
    assert as_admin.get(f"{api}?wave=3").status_code == 404
    for bad in ("two", "0", "-1", "1.5"):
        assert as_admin.get(f"{api}?wave={bad}").status_code == 400, bad
    assert as_admin.get(f"{api}?wave=1&wave=2").status_code == 400
    assert as_admin.get(f"/reports/{PLACEMENT}.pdf?wave=3").status_code == 404
    assert as_admin.get(f"/reports/{PLACEMENT}.csv?wave=x").status_code == 400


def test_the_cached_pdf_of_one_wave_is_never_served_for_another() -> None:
    same = dict(fingerprint="f" * 64, slug=PLACEMENT, scope=None, by=None, version="1")
    first = report_key(**same, wave={"number": 1, "name": "Wave 1"})
    second = report_key(**same, wave={"number": 2, "name": "Wave 2"})
    renamed = report_key(**same, wave={"number": 2, "name": "Rotation 2"})
    assert len({first, second, renamed}) == 3


# --- admin pages ---------------------------------------------------------------------------------


def _post(client: FlaskClient, path: str, data: dict[str, str] | None = None) -> Any:
    token = csrf_token(client.get(SURVEY_PAGE).text)
    return client.post(path, data={"csrf_token": token, **(data or {})})


def _error_summary(html: str) -> list[tuple[str, str]]:
    summary = re.search(r'class="nhsuk-error-summary".*?</div>\s*</div>', html, re.S)
    assert summary, "the page has no error summary"
    return [
        (href, re.sub(r"\s+", " ", text).strip())
        for href, text in re.findall(r'<a href="([^"]+)"\s*>(.*?)</a>', summary.group(0), re.S)
    ]


def test_an_admin_starts_a_new_wave_from_the_survey_page(
    db_session: Session,
    surveys: dict[str, Survey],
    hubs: Any,
    as_admin: FlaskClient,
    clock: Callable[[datetime], None],
) -> None:
    clock(datetime(2030, 6, 1, 12, tzinfo=UTC))
    page = as_admin.get(SURVEY_PAGE).text
    assert "Open or close wave 1 now" in page and "Close wave 1 now" in page
    assert "Start a new wave" not in page  # wave 1 is open
    refused = _post(as_admin, f"{SURVEY_PAGE}/waves", {"wave-name": "Too early"})
    assert refused.status_code == 400
    assert _error_summary(refused.text) == [
        ("#status-actions", "wave 1 of placement-quality is open: close it before starting wave 2")
    ]

    closed = _post(as_admin, f"{SURVEY_PAGE}/close")
    assert closed.status_code == 303
    page = as_admin.get(SURVEY_PAGE).text
    assert "Start a new wave" in page
    # Each field has its own label (the dates form's ids stay unprefixed).
    for field_id in ("wave-name", "wave-opens_at", "wave-closes_at", "opens_at"):
        assert re.search(rf'<label[^>]*for="{field_id}"', page), field_id
        assert len(re.findall(rf'id="{field_id}"', page)) == 1, field_id

    backwards = _post(
        as_admin,
        f"{SURVEY_PAGE}/waves",
        {"wave-opens_at": "2030-09-01T09:00", "wave-closes_at": "2030-08-01T09:00"},
    )
    assert backwards.status_code == 400
    assert _error_summary(backwards.text) == [
        ("#wave-closes_at", "The closing time must be after the opening time")
    ]
    long_name = _post(as_admin, f"{SURVEY_PAGE}/waves", {"wave-name": "x" * 121})
    assert long_name.status_code == 400
    assert _error_summary(long_name.text) == [
        ("#wave-name", "Enter a name of at most 120 characters")
    ]
    past = _post(as_admin, f"{SURVEY_PAGE}/waves", {"wave-closes_at": "2030-05-01T09:00"})
    assert past.status_code == 400
    assert _error_summary(past.text) == [
        ("#wave-closes_at", "The closing date must be in the future")
    ]
    assert [wave.number for wave in reloaded(db_session, PLACEMENT).waves] == [1]

    started = _post(
        as_admin,
        f"{SURVEY_PAGE}/waves",
        # UK summer time: 09:00 is 08:00 UTC.
        {"wave-name": "2030/31 rotation 1", "wave-opens_at": "2030-09-01T09:00"},
    )
    assert started.status_code == 303
    shown = as_admin.get(started.headers["Location"]).text
    assert "Wave 2 of Primary care placement quality survey (2030/31 rotation 1) is started" in (
        shown.replace("&#39;", "'")
    )
    second = reloaded(db_session, PLACEMENT).current_wave
    assert (second.number, second.name) == (2, "2030/31 rotation 1")
    assert second.opens_at == datetime(2030, 9, 1, 8, tzinfo=UTC) and second.closes_at is None
    assert "Start a new wave" not in shown
    rows = re.findall(
        r'<th scope="row" class="nhsuk-table__cell app-row-header">([^<]+)</th>', shown
    )
    assert rows[:2] == ["2: 2030/31 rotation 1", "1: Wave 1"]
    assert "Open wave 2 now" in shown
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "wave-started")).one()
    assert event.actor == ADMIN and event.details["name"] == "2030/31 rotation 1"


# --- migration 0005: every survey becomes its wave 1 ---------------------------------------------


def _empty_database(engine: sa.Engine) -> None:
    """No tables at all, as before `survey-app db init`."""
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        if connection.dialect.name == "postgresql":
            for enum in ("orglevel", "surveystatus", "questiontype", "role"):
                connection.exec_driver_sql(f"DROP TYPE IF EXISTS {enum}")


def _rows(engine: sa.Engine, table: str) -> list[dict[str, Any]]:
    """The rows of `table` as the database holds them (reflected), by id."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=engine)
    with engine.connect() as connection:
        query = sa.select(reflected).order_by(reflected.c.id)
        return [dict(row._mapping) for row in connection.execute(query)]


def _utc(moment: datetime | None) -> datetime | None:
    """A time read from a reflected table as UTC (SQLite gives it back without its zone)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _copy_rows_into(engine: sa.Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Insert `rows` into the tables the database has, keeping only the columns it has."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    depth = {"REGION": 0, "ICB": 1, "HUB": 2, "PCN": 3, "PRACTICE": 4}
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            kept = [
                {name: value for name, value in row.items() if name in table.c}
                for row in rows.get(table.name, [])
            ]
            if table.name == "organisation":
                kept.sort(key=lambda row: depth[row["level"]])  # parents first
            if kept:
                connection.execute(sa.insert(table), kept)


def test_migration_0005_makes_each_survey_its_wave_1_holding_its_responses_and_invitations(
    app: Flask, db_session: Session, surveys: dict[str, Survey], hubs: dict[str, Organisation]
) -> None:
    placement = (
        "org_code,submitted_at,profession,stage,sup_named,overall\n"
        + "P-EK1,2025-01-10T10:00:00,gp-trainee,postgraduate,4,4\n" * 3
        + "P-WK1,2025-01-11T10:00:00,pharmacist,experienced,2,3\n" * 2
    )
    import_responses(db_session, surveys[PLACEMENT], placement, "placement.csv", 5000)
    import_responses(
        db_session, surveys[LEADERS], "org_code,fund_icb\nQKS,4\nQNX,2\n", "leaders.csv", 5000
    )
    create_invitations(db_session, surveys[PLACEMENT], hubs["P-EK1"], 2, "https://x")
    kent = organisation_by_code(db_session, "QKS")
    assert kent is not None
    create_invitations(db_session, surveys[LEADERS], kent, 1, "https://x")
    db_session.close()
    engine = create_db_engine(app.config["DATABASE_URL"])
    tables = ("organisation", "survey", "theme", "question", "scalepoint", "choiceoption")
    rows = {name: _rows(engine, name) for name in (*tables, "texttheme")}
    rows |= {name: _rows(engine, name) for name in ("response", "answer", "invitation")}
    ids = {survey["slug"]: survey["id"] for survey in rows["survey"]}
    # Before 0005 the survey held its status and dates: the placement survey closed by hand
    # (after dates that were set), the leaders' survey open without dates.
    opens, closes = datetime(2030, 1, 1, 9, tzinfo=UTC), datetime(2030, 2, 1, 17, tzinfo=UTC)
    closed_by_hand = datetime(2030, 1, 20, 12, 30, tzinfo=UTC)
    for survey in rows["survey"]:
        placement_survey = survey["slug"] == PLACEMENT
        survey["status"] = "CLOSED" if placement_survey else "OPEN"
        survey["opens_at"] = opens if placement_survey else None
        survey["closes_at"] = closes if placement_survey else None
    rows["auditevent"] = [
        {
            "id": id_,
            "occurred_at": moment,
            "actor": "cli",
            "action": action,
            "target": PLACEMENT,
            "details": {},
        }
        for id_, (action, moment) in enumerate(
            [
                ("survey-closed", closed_by_hand - timedelta(days=5)),
                ("survey-opened", closed_by_hand - timedelta(days=4)),
                ("survey-closed", closed_by_hand),
            ],
            start=1,
        )
    ]
    answers_before = sorted(
        (a["id"], a["response_id"], a["question_id"], a["value"]) for a in rows["answer"]
    )
    _empty_database(engine)
    try:
        upgrade(engine, "0004")
        _copy_rows_into(engine, rows)

        upgrade(engine)
        waves = _rows(engine, "wave")
        by_survey = {wave["survey_id"]: wave for wave in waves}
        assert len(waves) == 2 and set(by_survey) == set(ids.values())
        placement_wave, leaders_wave = by_survey[ids[PLACEMENT]], by_survey[ids[LEADERS]]
        assert {wave["number"] for wave in waves} == {1}
        assert {wave["name"] for wave in waves} == {"Wave 1"}
        assert placement_wave["status"] == "CLOSED"
        assert _utc(placement_wave["opens_at"]) == opens
        assert _utc(placement_wave["closes_at"]) == closes
        assert _utc(placement_wave["closed_at"]) == closed_by_hand  # the last closing logged
        assert (leaders_wave["status"], leaders_wave["opens_at"]) == ("OPEN", None)
        assert leaders_wave["closed_at"] is None

        wave_of = {survey_id: wave["id"] for survey_id, wave in by_survey.items()}
        responses = _rows(engine, "response")
        assert len(responses) == 7
        assert all(r["wave_id"] == wave_of[r["survey_id"]] for r in responses)
        invitations = _rows(engine, "invitation")
        assert len(invitations) == 3
        assert all(i["wave_id"] == wave_of[i["survey_id"]] for i in invitations)
        assert {i["email"] for i in invitations} == {None}
        answers = sorted(
            (a["id"], a["response_id"], a["question_id"], a["value"])
            for a in _rows(engine, "answer")
        )
        assert answers == answers_before  # none lost to SQLite's copy of the response table
        survey_columns = {c["name"] for c in sa.inspect(engine).get_columns("survey")}
        assert not survey_columns & {"status", "opens_at", "closes_at"}

        # Down again: the survey takes its latest wave's status and dates back.
        _downgrade(engine, "0004")
        restored = {s["slug"]: s for s in _rows(engine, "survey")}
        assert restored[PLACEMENT]["status"] == "CLOSED"
        assert _utc(restored[PLACEMENT]["opens_at"]) == opens
        assert _utc(restored[PLACEMENT]["closes_at"]) == closes
        assert restored[LEADERS]["status"] == "OPEN"
        assert len(_rows(engine, "response")) == 7
        assert len(_rows(engine, "answer")) == len(answers_before)
        assert "wave" not in sa.inspect(engine).get_table_names()
    finally:
        # Whatever happened, leave the models' schema for the tests after this one (on
        # PostgreSQL they share the database).
        _empty_database(engine)
        SQLModel.metadata.create_all(engine)
        engine.dispose()


def _downgrade(engine: sa.Engine, revision: str) -> None:
    from alembic import command

    from survey_app.migrations.runner import alembic_config

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
