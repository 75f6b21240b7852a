"""Staff pages: sign-in, the reports page, the PDF and the API, and who may see what."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlmodel import Session

from survey_app.services.responses import import_responses
from tests.conftest import STAFF_PASSWORD, csrf_token

LEAD = "lead@example.nhs.uk"
ADMIN = "admin@example.nhs.uk"


@pytest.fixture
def placement_data(db_session: Session, surveys: Any, hubs: Any) -> None:
    """Fourteen responses in East Kent, twelve in West Kent, three in West Sussex, all GP
    trainees (the attack suite, tests/test_disclosure_attack.py, mixes learner types)."""
    rows = (
        ["P-EK1,gp-trainee,postgraduate,4,4"] * 8
        + ["P-EK2,gp-trainee,postgraduate,2,3"] * 6
        + ["P-WK1,gp-trainee,postgraduate,5,5"] * 12
        + ["P-SX1,gp-trainee,postgraduate,1,2"] * 3
    )
    text = "org_code,profession,stage,sup_named,overall\n" + "\n".join(rows) + "\n"
    import_responses(db_session, surveys["placement-quality"], text, "seed.csv", 5000)


@pytest.fixture
def lead(make_user: Callable[..., Any], hubs: Any) -> Any:
    return make_user(LEAD, "lead", ("H-EK",))


@pytest.fixture
def admin(make_user: Callable[..., Any], hubs: Any) -> Any:
    return make_user(ADMIN, "admin", ())


def test_sign_in_and_out(client: FlaskClient, lead: Any, sign_in: Callable[..., Any]) -> None:
    response = sign_in(LEAD)
    assert response.status_code == 303 and response.headers["Location"].endswith("/reports")
    page = client.get("/reports")
    assert page.status_code == 200 and LEAD in page.text
    signed_out = client.post("/logout", data={"csrf_token": csrf_token(page.text)})
    assert signed_out.status_code == 303
    assert client.get("/reports").status_code == 302  # back to the sign-in page


@pytest.mark.parametrize("password", ["wrong password entirely", ""])
def test_failed_sign_in_gives_one_generic_message(
    client: FlaskClient, lead: Any, sign_in: Callable[..., Any], password: str
) -> None:
    response = sign_in(LEAD, password)
    assert response.status_code == 400
    if password:
        assert "The email address or password is not right" in response.text
    unknown = sign_in("nobody@example.nhs.uk", "wrong password entirely")
    assert "The email address or password is not right" in unknown.text
    assert client.get("/reports").status_code == 302


def test_sign_in_does_not_redirect_off_site(client: FlaskClient, lead: Any) -> None:
    page = client.get("/login")
    response = client.post(
        "/login?next=https://evil.example/",
        data={
            "email": LEAD,
            "password": "correct horse battery staple",
            "csrf_token": csrf_token(page.text),
        },
    )
    assert response.headers["Location"].endswith("/reports")


@pytest.mark.parametrize("path", ["/reports", "/reports/placement-quality.pdf"])
def test_anonymous_visitor_is_sent_to_sign_in(client: FlaskClient, surveys: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_signed_out_api_client_is_told_to_sign_in(client: FlaskClient, surveys: Any) -> None:
    response = client.get("/api/surveys/placement-quality/summary?scope=QKS")
    assert response.status_code == 401
    assert response.is_json and "Sign in" in response.json["error"]


def test_reports_page_withholds_small_counts_and_what_would_reveal_them(
    client: FlaskClient, admin: Any, placement_data: None, sign_in: Callable[..., Any]
) -> None:
    sign_in(ADMIN)
    page = client.get("/reports").text
    rows = {
        name: " ".join(re.sub(r"<[^>]+>", " ", cells).split())
        for name, cells in re.findall(
            r'<td class="nhsuk-table__cell">([^<]+) <span[^>]*>\([^)]*\)</span></td>(.*?)</tr>',
            page,
            re.S,
        )
    }
    # England by ICB: Kent and Medway 26, Sussex 3 (fewer than 5), so Kent is withheld too or
    # it and the published total (29) would give Sussex's 3.
    assert rows["NHS Sussex Integrated Care Board"].startswith("fewer than 5")
    assert rows["NHS Kent and Medway Integrated Care Board"].startswith("withheld")
    assert "29 responses" in page
    assert not re.search(r">\s*(26|3)\s*<", page)
    assert "cannot be worked out from the total" in page


def test_reports_page_shows_counts_within_the_leads_scope(
    client: FlaskClient, lead: Any, placement_data: None, sign_in: Callable[..., Any]
) -> None:
    sign_in(LEAD)
    page = client.get("/reports").text
    assert "East Kent Training Hub" in page
    assert "Canterbury PCN" in page  # lead of a hub: counts by PCN
    assert "West Kent" not in page and "Sussex" not in page


def test_lead_cannot_reach_another_organisations_data(
    client: FlaskClient, lead: Any, placement_data: None, sign_in: Callable[..., Any]
) -> None:
    sign_in(LEAD)
    for code in ("H-WK", "P-WK1", "QKS", "H-SX", "Y59"):
        api = client.get(f"/api/surveys/placement-quality/summary?scope={code}")
        assert api.status_code in (403, 404), code
        assert b"responses" not in api.data
        pdf = client.get(f"/reports/placement-quality.pdf?scope={code}")
        assert pdf.status_code in (403, 404), code
        assert not pdf.data.startswith(b"%PDF")
    assert client.get("/api/surveys/placement-quality/summary?scope=NOPE").status_code == 404


def test_lead_gets_their_own_scope_by_default(
    client: FlaskClient, lead: Any, placement_data: None, sign_in: Callable[..., Any]
) -> None:
    sign_in(LEAD)
    summary = client.get("/api/surveys/placement-quality/summary").get_json()
    assert summary["scope"]["code"] == "H-EK"
    assert summary["responses"] == 14
    below = client.get("/api/surveys/placement-quality/summary?scope=P-EK1").get_json()
    assert below["scope"]["code"] == "P-EK1"


def test_admin_sees_england(
    client: FlaskClient, admin: Any, placement_data: None, sign_in: Callable[..., Any]
) -> None:
    sign_in(ADMIN)
    summary = client.get("/api/surveys/placement-quality/summary").get_json()
    assert summary["scope"] is None and summary["responses"] == 29
    by_hub = client.get("/api/surveys/placement-quality/summary?by=hub").get_json()
    assert [group["key"] for group in by_hub["groups"]] == ["H-EK", "H-SX", "H-WK"]
    hubs = {group["key"]: group for group in by_hub["groups"]}
    assert hubs["H-SX"]["suppressed"] is True and hubs["H-SX"]["responses"] is None
    # England less the Kent hubs would give Sussex's three: the smaller Kent hub's count goes.
    assert hubs["H-WK"]["responses"] is None and hubs["H-EK"]["responses"] == 14
    bad = client.get("/api/surveys/placement-quality/summary?by=shoe")
    assert bad.status_code == 400


def test_pdf_report_has_title_scope_count_and_statement_table(
    client: FlaskClient, lead: Any, placement_data: None, sign_in: Callable[..., Any]
) -> None:
    sign_in(LEAD)
    response = client.get("/reports/placement-quality.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    text = " ".join(text.split())
    assert "Primary care placement quality survey" in text
    assert "East Kent Training Hub" in text
    assert "14 responses" in text
    # sup_named: eight 4s and six 2s -> n 14, mean 44/14.
    assert "I had a named supervisor for the whole placement." in text
    assert f"14 {44 / 14:.2f}" in text
    # How many figures were withheld to protect others is stated.
    assert "Withheld to protect others" in text


def test_report_page_shows_the_summary_numbers_and_downloads(
    client: FlaskClient, admin: Any, placement_data: None, sign_in: Callable[..., Any]
) -> None:
    sign_in(ADMIN)
    page = client.get("/reports/placement-quality?scope=H-EK&by=practice")
    assert page.status_code == 200
    api = client.get("/api/surveys/placement-quality/summary?scope=H-EK&by=practice").get_json()
    named = next(item for item in api["items"] if item["code"] == "sup_named")
    assert f"{named['mean']:.2f}" in page.text
    assert "Cathedral Surgery" in page.text and "Harbour Surgery" in page.text
    csv_download = client.get("/reports/placement-quality.csv?scope=QKS&by=hub")
    assert csv_download.status_code == 200 and csv_download.mimetype == "text/csv"
    assert "sup_named" in csv_download.text
    xlsx = client.get("/reports/placement-quality.xlsx?scope=QKS")
    assert xlsx.status_code == 200 and xlsx.data.startswith(b"PK")
    assert "Sign out" in page.text


def test_lead_report_form_offers_only_their_organisations(
    client: FlaskClient, lead: Any, placement_data: None, sign_in: Callable[..., Any]
) -> None:
    sign_in(LEAD)
    page = client.get("/reports/placement-quality")
    assert page.status_code == 200
    assert 'value="H-EK"' in page.text and 'value="N-EK1"' in page.text
    assert 'value="H-WK"' not in page.text and 'value="QKS"' not in page.text
    assert client.get("/reports/placement-quality.csv?scope=H-WK").status_code == 403


def test_failed_sign_ins_are_rate_limited_per_account(
    lead: Any, limited_client: FlaskClient
) -> None:
    token = csrf_token(limited_client.get("/login").text)
    statuses = [
        limited_client.post(
            "/login", data={"email": LEAD, "password": f"wrong guess {i}", "csrf_token": token}
        ).status_code
        for i in range(12)
    ]
    assert statuses[:10] == [400] * 10
    assert statuses[10:] == [429, 429]
    # Even the right password is refused until the window passes.
    right = limited_client.post(
        "/login", data={"email": LEAD, "password": STAFF_PASSWORD, "csrf_token": token}
    )
    assert right.status_code == 429 and "Too many attempts" in right.text


def test_a_pdf_is_rendered_once_for_the_same_data(
    client: FlaskClient,
    admin: Any,
    placement_data: None,
    sign_in: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    db_session: Session,
    surveys: Any,
) -> None:
    import survey_app.reporting.report as routes

    calls = []
    real = routes.render_report_pdf

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(routes, "render_report_pdf", counting)
    sign_in(ADMIN)
    first = client.get("/reports/placement-quality.pdf?scope=QKS")
    second = client.get("/reports/placement-quality.pdf?scope=QKS")
    assert first.status_code == second.status_code == 200
    assert first.data == second.data and len(calls) == 1
    # New data, new report.
    import_responses(
        db_session,
        surveys["placement-quality"],
        "org_code,profession,stage,overall\nP-EK1,pharmacist,experienced,5\n",
        "more.csv",
        5000,
    )
    third = client.get("/reports/placement-quality.pdf?scope=QKS")
    assert third.status_code == 200 and len(calls) == 2


def test_a_large_report_is_built_in_the_background_with_progress(
    app: Any,
    client: FlaskClient,
    admin: Any,
    placement_data: None,
    sign_in: Callable[..., Any],
) -> None:
    from survey_app.reporting import report_jobs

    app.config["REPORT_BACKGROUND_MIN_RESPONSES"] = 10
    sign_in(ADMIN)
    started = client.get("/reports/placement-quality.pdf?by=hub")
    assert started.status_code == 303
    assert "/reports/placement-quality/progress?by=hub" in started.headers["Location"]
    page = client.get(started.headers["Location"])
    assert page.status_code == 200
    assert "Preparing your report" in page.text or "Your report is ready" in page.text
    report_jobs._executor.submit(lambda: None).result(timeout=120)  # the queue has drained
    ready = client.get(started.headers["Location"])
    assert "Your report is ready" in ready.text
    pdf = client.get("/reports/placement-quality.pdf?by=hub")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_the_full_report_can_be_previewed_in_the_browser(
    client: FlaskClient, lead: Any, placement_data: None, sign_in: Callable[..., Any]
) -> None:
    sign_in(LEAD)
    page = client.get("/reports/placement-quality/preview")
    assert page.status_code == 200
    assert '<link rel="stylesheet" href="/reports/assets/report.css">' in page.text
    assert "I had a named supervisor for the whole placement." in page.text
    assert "East Kent Training Hub" in page.text
    stylesheet = client.get("/reports/assets/report.css")
    assert stylesheet.status_code == 200 and b"@page" in stylesheet.data
    stylesheet.close()
    assert client.get("/reports/assets/../pdf.py").status_code == 404
    assert client.get("/reports/placement-quality/preview?scope=H-WK").status_code == 403


def test_reports_exports_and_admin_pages_are_never_kept_by_a_cache(
    client: FlaskClient, admin: Any, placement_data: None, sign_in: Callable[..., Any]
) -> None:
    sign_in(ADMIN)
    for url in (
        "/reports",
        "/reports/placement-quality?scope=H-EK",
        "/reports/placement-quality.csv?scope=H-EK",
        "/reports/placement-quality.xlsx?scope=H-EK",
        "/api/surveys/placement-quality/summary?scope=H-EK",
        "/admin/surveys",
    ):
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["Cache-Control"] == "no-store", url
    # The respondents' static assets may still be cached.
    static = client.get("/static/css/app.css")
    static.close()
    assert static.headers.get("Cache-Control") != "no-store"


def test_a_download_name_holds_no_quote_or_header_syntax(
    client: FlaskClient,
    admin: Any,
    placement_data: None,
    make_orgs: Callable[..., Any],
    sign_in: Callable[..., Any],
) -> None:
    make_orgs(('x";filename="y.html', "Odd Hub", "hub", "QKS"))
    sign_in(ADMIN)
    answer = client.get(
        "/reports/placement-quality.csv", query_string={"scope": 'x";filename="y.html'}
    )
    assert answer.status_code == 200
    disposition = answer.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="placement-quality-x--filename--y.html.csv"'
