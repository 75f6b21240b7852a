"""The daily snapshot: reports of an open wave count the responses sent before today, so their
figures do not move with each answer (REPORT_SNAPSHOT=daily); `live` counts every one, and a
closed wave shows everything. Where a person reads a report, it says "figures as of"."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from statistics import mean
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from survey_app.models import Survey
from survey_app.services import responses as response_service
from survey_app.services.responses import import_responses
from tests.conftest import count_responses
from tests.test_respond import PLACEMENT, placement_answers

ADMIN = "admin@example.nhs.uk"
#: "Now" for these tests: mid-afternoon, so yesterday and today are both whole days away.
NOW = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)
#: Overall ratings sent yesterday, and the one sent today through the open link.
YESTERDAY = [4, 4, 5, 3, 2, 4]
TODAY = 1
SUMMARY = "/api/surveys/placement-quality/summary"


@pytest.fixture
def answered(
    monkeypatch: pytest.MonkeyPatch,
    client: FlaskClient,
    db_session: Session,
    surveys: dict[str, Survey],
    hubs: Any,
    make_user: Callable[..., Any],
    sign_in: Callable[..., Any],
) -> Survey:
    """Six placement responses sent yesterday (imported) and one sent today through the open
    link, the wave still open, and an admin signed in."""
    monkeypatch.setattr(response_service, "utcnow", lambda: NOW)
    survey = surveys["placement-quality"]
    rows = "".join(
        f"P-EK1,gp-trainee,postgraduate,4,{overall},2026-03-03T09:15:00\n" for overall in YESTERDAY
    )
    header = "org_code,profession,stage,sup_named,overall,submitted_at\n"
    import_responses(db_session, survey, header + rows, "yesterday.csv", 5000)
    sent = client.post(PLACEMENT, data=placement_answers(client, overall=str(TODAY)))
    assert sent.status_code == 303
    assert count_responses(db_session) == len(YESTERDAY) + 1
    make_user(ADMIN, "admin", ())
    sign_in(ADMIN)
    return survey


def _overall(summary: dict[str, Any]) -> dict[str, Any]:
    return next(item for item in summary["items"] if item["code"] == "overall")


def test_an_answer_sent_today_moves_an_open_waves_report_only_under_live_or_once_closed(
    app: Flask, client: FlaskClient, db_session: Session, answered: Survey
) -> None:
    app.config["REPORT_SNAPSHOT"] = "daily"
    summary = client.get(SUMMARY).get_json()
    assert summary["responses"] == len(YESTERDAY)
    overall = _overall(summary)
    assert overall["n"] == len(YESTERDAY)
    assert overall["mean"] == pytest.approx(mean(YESTERDAY))
    assert overall["counts"] == {"1": 0, "2": 1, "3": 1, "4": 3, "5": 1}
    # The CSV and the reports page count the same responses.
    rows = csv.DictReader(io.StringIO(client.get("/reports/placement-quality.csv").text))
    overall_row = next(row for row in rows if row["code"] == "overall")
    assert (overall_row["responses"], overall_row["n"]) == ("6", "6")
    assert float(overall_row["mean"]) == pytest.approx(mean(YESTERDAY))
    assert "6 responses" in client.get("/reports").text

    app.config["REPORT_SNAPSHOT"] = "live"
    summary = client.get(SUMMARY).get_json()
    assert summary["responses"] == len(YESTERDAY) + 1
    assert _overall(summary)["mean"] == pytest.approx(mean([*YESTERDAY, TODAY]))
    assert _overall(summary)["counts"]["1"] == 1
    assert "7 responses" in client.get("/reports").text
    assert "Figures as of" not in client.get("/reports/placement-quality").text

    app.config["REPORT_SNAPSHOT"] = "daily"
    answered.close(NOW)
    db_session.add(answered)
    db_session.commit()
    summary = client.get(SUMMARY).get_json()
    assert summary["responses"] == len(YESTERDAY) + 1
    assert _overall(summary)["mean"] == pytest.approx(mean([*YESTERDAY, TODAY]))
    assert "7 responses" in client.get("/reports").text
    assert "Figures as of" not in client.get("/reports/placement-quality").text
    assert "Figures as of" not in client.get("/reports/placement-quality/preview").text


def test_the_report_page_and_the_pdf_say_figures_as_of_when(
    app: Flask, client: FlaskClient, answered: Survey
) -> None:
    app.config["REPORT_SNAPSHOT"] = "daily"
    page = client.get("/reports/placement-quality").text
    assert "Figures as of the start of 4 March 2026 (UTC)" in page
    assert "answers sent today are counted from tomorrow" in page
    assert "Figures as of the start of 4 March 2026 (UTC)" in client.get("/reports").text
    cover = client.get("/reports/placement-quality/preview").text
    assert '<th scope="row">Figures as of</th><td>the start of 4 March 2026 (UTC)' in cover
    # The report's period is that of the responses it counts: yesterday's only.
    assert '<th scope="row">Period</th><td>3 March 2026</td>' in cover
