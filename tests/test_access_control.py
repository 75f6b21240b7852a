"""Who may reach what: every route of the application, listed from its URL map.

`ROUTES` classifies each endpoint: public, or staff with the role it needs and whether it
reports on an organisation named by `?scope=CODE`. The tests are parametrised from the URL map
itself, so a route added without an entry here fails `test_every_route_is_classified` with a
message saying how to classify it; it cannot be forgotten.

For every staff route: an anonymous visitor is sent to the sign-in page (or answered 401 by the
API); a quality lead of East Kent asking for West Kent, Sussex or anything above East Kent gets
403 or 404 and not one figure of that organisation's data; a lead is refused admin pages with
403; an admin reaches them all.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlmodel import Session, select

from survey_app import config as app_config
from survey_app import create_app
from survey_app.models import User
from survey_app.services.responses import import_responses
from tests.conftest import STAFF_PASSWORD, csrf_token

LEAD = "lead.east-kent@example.nhs.uk"
ADMIN = "admin@example.nhs.uk"
SURVEY = "placement-quality"


@dataclass(frozen=True)
class StaffRoute:
    """A route only signed-in staff may use.

    `role` is who may use it: "staff" (leads and admins) or "admin". `kind` says how to read
    its body: "html", "json", "csv", "xlsx", "pdf", "asset", or "action" for a POST that changes
    something. `scoped` routes report on the organisation named by `?scope=CODE` (the user's own
    when absent). `path_values` fill the route's path parameters; `LEAD_ID` stands for the id
    of the signed-in quality lead.
    """

    role: Literal["staff", "admin"]
    kind: str
    scoped: bool = False
    path_values: dict[str, object] = field(default_factory=dict)
    methods: tuple[str, ...] = ("GET",)
    #: Text of West Kent's data that a scoped route shows the admin asking for West Kent (and
    #: never the lead): by default the summary's mean of 4.44.
    admin_sees: str = "4.4"


#: Stands for the quality lead's user id in `path_values`.
LEAD_ID = "<the lead's user id>"
SLUG = {"slug": SURVEY}

#: Routes anyone may use, with the reason they are public.
PUBLIC: dict[str, str] = {
    "static": "stylesheets, scripts and icons of every page",
    "respond.index": "the landing page",
    "respond.privacy": "the privacy notice",
    "respond.open_link": "the open-link form of a survey",
    "respond.invitation": "the invitation form, guarded by its unguessable token",
    "respond.thanks": "the thank-you page after answering",
    "staff.login": "the sign-in page itself",
    "staff.logout": "signing out, which an anonymous visitor may do to no effect",
}

#: Every staff route by endpoint.
ROUTES: dict[str, StaffRoute] = {
    "staff.reports": StaffRoute("staff", "html"),
    "staff.report_view": StaffRoute("staff", "html", scoped=True, path_values=SLUG),
    "staff.report_csv": StaffRoute("staff", "csv", scoped=True, path_values=SLUG),
    "staff.report_xlsx": StaffRoute("staff", "xlsx", scoped=True, path_values=SLUG),
    "staff.report_pdf": StaffRoute("staff", "pdf", scoped=True, path_values=SLUG),
    "staff.report_preview": StaffRoute("staff", "html", scoped=True, path_values=SLUG),
    "staff.report_progress": StaffRoute("staff", "html", scoped=True, path_values=SLUG),
    "staff.report_asset": StaffRoute("staff", "asset", path_values={"filename": "report.css"}),
    "staff.summary_api": StaffRoute("staff", "json", scoped=True, path_values=SLUG),
    # The seed has no invitations: what West Kent's response rates show is its 9 responses.
    "staff.response_rates_view": StaffRoute(
        "staff", "html", scoped=True, path_values=SLUG, admin_sees="data-rates-responses>9<"
    ),
    "staff.response_rates_api": StaffRoute(
        "staff", "json", scoped=True, path_values=SLUG, admin_sees='"responses":9'
    ),
    "staff.audit_log": StaffRoute("admin", "html"),
    "admin.index": StaffRoute("admin", "html"),
    "admin.organisations": StaffRoute("admin", "html"),
    "admin.import_organisations": StaffRoute("admin", "html", methods=("GET", "POST")),
    "admin.users": StaffRoute("admin", "html"),
    "admin.new_user": StaffRoute("admin", "html", methods=("GET", "POST")),
    "admin.user": StaffRoute("admin", "html", path_values={"user_id": LEAD_ID}),
    "admin.change_user": StaffRoute(
        "admin", "action", path_values={"user_id": LEAD_ID}, methods=("POST",)
    ),
    "admin.deactivate": StaffRoute(
        "admin", "action", path_values={"user_id": LEAD_ID}, methods=("POST",)
    ),
    "admin.reactivate": StaffRoute(
        "admin", "action", path_values={"user_id": LEAD_ID}, methods=("POST",)
    ),
    "admin.surveys": StaffRoute("admin", "html"),
    "admin.load_shipped": StaffRoute("admin", "action", methods=("POST",)),
    "admin.upload_definition": StaffRoute("admin", "html", methods=("GET", "POST")),
    "admin.survey": StaffRoute("admin", "html", path_values=SLUG),
    "admin.preview": StaffRoute("admin", "html", path_values=SLUG),
    "admin.open_": StaffRoute("admin", "action", path_values=SLUG, methods=("POST",)),
    "admin.close": StaffRoute("admin", "action", path_values=SLUG, methods=("POST",)),
    "admin.dates": StaffRoute("admin", "action", path_values=SLUG, methods=("POST",)),
    "admin.start_wave_": StaffRoute("admin", "action", path_values=SLUG, methods=("POST",)),
    "admin.invitations": StaffRoute("admin", "html", path_values=SLUG),
    "admin.invite_by_email": StaffRoute("admin", "action", path_values=SLUG, methods=("POST",)),
    "admin.invitation_links": StaffRoute("admin", "action", path_values=SLUG, methods=("POST",)),
    "admin.send_wave_invitations": StaffRoute(
        "admin", "action", path_values=SLUG, methods=("POST",)
    ),
    "admin.remind_wave_invitees": StaffRoute(
        "admin", "action", path_values=SLUG, methods=("POST",)
    ),
}


def _url_map(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, rule, method) for every rule and method of `app`, HEAD and OPTIONS aside."""
    return sorted(
        (rule.endpoint, rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    )


URL_MAP = _url_map(create_app(app_config.TestConfig("sqlite://")))
STAFF_ENDPOINTS = sorted({endpoint for endpoint, _, _ in URL_MAP if endpoint in ROUTES})


def test_every_route_is_classified() -> None:
    unclassified = [
        f"{method} {rule} (endpoint {endpoint})"
        for endpoint, rule, method in URL_MAP
        if endpoint not in ROUTES and endpoint not in PUBLIC
    ]
    assert not unclassified, (
        "These routes are in the URL map but not in tests/test_access_control.py: "
        + "; ".join(unclassified)
        + ". Classify each: add it to PUBLIC with the reason anyone may use it, or to ROUTES "
        "with the role it needs ('staff' or 'admin'), whether it reports on ?scope=CODE, and "
        "values for its path parameters."
    )
    stale = sorted((set(ROUTES) | set(PUBLIC)) - {endpoint for endpoint, _, _ in URL_MAP})
    assert not stale, f"ROUTES or PUBLIC name endpoints the application no longer has: {stale}"
    for endpoint, _rule, method in URL_MAP:
        if endpoint in ROUTES:
            assert method in ROUTES[endpoint].methods, (
                f"{endpoint} answers {method}; its entry in ROUTES lists {ROUTES[endpoint].methods}"
            )


def test_the_load_benchmarks_probe_is_no_route_of_the_application() -> None:
    # bench/load.py serves POST /_bench/insert-one, which writes whatever it is sent, from its
    # own WSGI application only; the application itself must never have it.
    assert not [rule for _, rule, _ in URL_MAP if rule.startswith("/_bench")]


def test_every_admin_path_needs_the_admin_role() -> None:
    for endpoint, rule, _method in URL_MAP:
        if rule.startswith("/admin"):
            assert endpoint in ROUTES and ROUTES[endpoint].role == "admin", (
                f"{rule} ({endpoint}) lies under /admin but is not classified as admin-only"
            )


# --- the data: East Kent is the lead's, West Kent and Sussex are not ---------------------------

#: sup_named answers: East Kent 9 answers, West Kent 9 (mean 4.44), West Sussex 8 (mean 1.38).
SEED_ROWS = (
    ["P-EK1,gp-trainee,postgraduate,3,4"] * 6
    + ["P-EK2,gp-trainee,postgraduate,2,3"] * 3
    + ["P-WK1,gp-trainee,postgraduate,5,5"] * 4
    + ["P-WK2,gp-trainee,postgraduate,4,5"] * 5
    + ["P-SX1,gp-trainee,postgraduate,1,2"] * 5
    + ["P-SX2,gp-trainee,postgraduate,2,2"] * 3
)
#: Names of organisations beside East Kent, whose data a lead of East Kent must never see.
SIBLING_NAMES = (
    "West Kent",
    "Sevenoaks",
    "Vine Surgery",
    "Weald Surgery",
    "West Sussex",
    "Worthing",
    "Seafront",
    "Downs Surgery",
    "Sussex Integrated",
)
#: Names of the organisations above East Kent: a report grouped by ICB or region names them
#: as the group East Kent's responses fall in, but no page of a refusal should.
OTHER_NAMES = (*SIBLING_NAMES, "Kent and Medway", "South East")
#: Organisations outside East Kent a lead of East Kent might ask for, and how.
FOREIGN_SCOPES = {
    "other-hub": "scope=H-WK",
    "other-pcn": "scope=N-WK1",
    "other-practice": "scope=P-WK1",
    "other-icbs-hub": "scope=H-SX",
    "own-icb": "scope=QKS",
    "own-region": "scope=Y59",
    "padded-code": "scope=%20H-WK%20",
    "own-then-other": "scope=H-EK&scope=H-WK",
    "other-then-own": "scope=H-WK&scope=H-EK",
    "other-grouped": "scope=H-WK&by=practice",
}


@pytest.fixture
def seeded(db_session: Session, surveys: Any, hubs: Any, make_user: Callable[..., Any]) -> None:
    text = "org_code,profession,stage,sup_named,overall\n" + "\n".join(SEED_ROWS) + "\n"
    import_responses(db_session, surveys[SURVEY], text, "seed.csv", 5000)
    make_user(LEAD, "lead", ("H-EK",))
    make_user(ADMIN, "admin", ())


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": STAFF_PASSWORD, "csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 303, f"{email} could not sign in"
    return client


def url_of(app: Flask, endpoint: str, lead_id: int, query: str = "") -> str:
    """The route's address with its path parameters filled, and `query` after it."""
    values = {
        name: lead_id if value == LEAD_ID else value
        for name, value in ROUTES[endpoint].path_values.items()
    }
    with app.test_request_context():
        path = url_for(endpoint, **values)
    return f"{path}?{query}" if query else path


def body_text(kind: str, data: bytes) -> str:
    """What a person would read in a response body of `kind`."""
    if kind == "pdf" and data.startswith(b"%PDF"):
        return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    if kind == "xlsx" and data.startswith(b"PK"):
        workbook = load_workbook(io.BytesIO(data), read_only=True)
        return " ".join(
            str(value)
            for sheet in workbook.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        )
    return data.decode("utf-8", errors="replace")


def request(client: FlaskClient, method: str, url: str, token: str) -> Any:
    """GET `url`, or POST it with only the session's CSRF token; the body read and closed."""
    if method == "GET":
        response = client.get(url)
    else:
        response = client.open(url, method=method, data={"csrf_token": token})
    response.get_data()
    response.close()  # a file sent from disk stays open until closed
    return response


def assert_refused_without_data(response: Any, asked_code: str) -> None:
    """A 403 or 404 whose body holds no organisation name outside East Kent and no figure."""
    assert response.status_code in (403, 404), response.status_code
    assert not response.data.startswith((b"%PDF", b"PK")), "a report was sent"
    page = html.unescape(response.data.decode("utf-8", errors="replace"))
    for name in OTHER_NAMES:
        assert name not in page, f"{name!r} leaked into the refusal"
    # The only numbers a refusal may show: its status and the code the lead typed. The error
    # page has the service's layout, whose icons are drawn with numbers: read what a reader
    # sees, the words outside the tags and drawings.
    text = re.sub(r"<svg\b.*?</svg>|<[^>]*>", " ", page, flags=re.DOTALL)
    numbers = set(re.findall(r"\b\d+(?:\.\d+)?\b", text.replace(asked_code, "")))
    assert numbers <= {"403", "404"}, f"figures leaked into the refusal: {sorted(numbers)}"


def check_anonymous(app: Flask, endpoint: str, lead_id: int) -> None:
    """Signed out: the sign-in page, asked to come back here afterwards (or 401 from the API)."""
    route = ROUTES[endpoint]
    client = app.test_client()
    token = csrf_token(client.get("/login").text)
    for method in route.methods:
        url = url_of(app, endpoint, lead_id, "scope=H-EK" if route.scoped else "")
        response = request(client, method, url, token)
        if route.kind == "json" and response.status_code == 401:
            assert b"responses" not in response.data
            continue
        assert response.status_code == 302, (method, response.status_code)
        location = urlsplit(response.headers["Location"])
        assert location.path == "/login", (method, location)
        assert parse_qs(location.query)["next"] == [url], (method, location)


def check_lead(app: Flask, endpoint: str, lead_id: int) -> None:
    """A lead of East Kent: refused admin pages; on staff pages East Kent's data and nobody
    else's, whichever scope or grouping is asked for."""
    route = ROUTES[endpoint]
    client = signed_in(app, LEAD)
    token = csrf_token(client.get("/reports").text)
    for method in route.methods:
        response = request(client, method, url_of(app, endpoint, lead_id), token)
        if route.role == "admin":
            assert response.status_code == 403, (method, response.status_code)
            assert LEAD.encode() not in response.data and ADMIN.encode() not in response.data
            continue
        assert response.status_code == 200, (method, response.status_code)
        if route.scoped and endpoint != "staff.report_progress":  # not started: names nobody
            text = body_text(route.kind, response.data)
            assert "East Kent" in text
            assert not [name for name in OTHER_NAMES if name in text]
    if route.role == "admin" or not route.scoped:
        return
    for case, query in FOREIGN_SCOPES.items():
        response = request(client, "GET", url_of(app, endpoint, lead_id, query), token)
        asked = parse_qs(query)["scope"]
        if response.status_code == 400:
            # Refused as ambiguous, naming the parameter.
            assert len(asked) > 1 and b"scope" in response.data, case
        elif asked[0] == "H-EK":
            assert response.status_code == 200, case
            text = body_text(route.kind, response.data)
            assert not [name for name in OTHER_NAMES if name in text], case
        else:
            assert_refused_without_data(response, asked[0].strip())
    if route.kind == "pdf" or endpoint == "staff.report_progress":
        return  # the PDF's groups are the summary's, checked through the other routes
    for by in ("hub", "pcn", "practice", "icb", "region"):
        response = request(client, "GET", url_of(app, endpoint, lead_id, f"by={by}"), token)
        assert response.status_code == 200, (by, response.status_code)
        text = body_text(route.kind, response.data)
        # Grouped by ICB or region, East Kent's responses form one group named after its ICB
        # or region; no organisation beside East Kent may appear.
        assert not [name for name in SIBLING_NAMES if name in text], by
        if endpoint == "staff.summary_api":
            summary = json.loads(response.data)
            assert summary["responses"] == 9
            assert sum(group["responses"] or 0 for group in summary["groups"]) <= 9


def check_admin(app: Flask, endpoint: str, lead_id: int) -> None:
    """An admin reaches every staff page, and sees West Kent's data where the lead could not."""
    route = ROUTES[endpoint]
    client = signed_in(app, ADMIN)
    token = csrf_token(client.get("/reports").text)
    for method in route.methods:
        url = url_of(app, endpoint, lead_id, "scope=H-WK" if route.scoped else "")
        response = request(client, method, url, token)
        if method == "GET":
            assert response.status_code == 200, (method, response.status_code)
        else:
            # Let through: done (303), or the form shown again for what it lacks (400).
            assert response.status_code in (200, 303, 400), (method, response.status_code)
            assert not response.headers.get("Location", "").startswith("/login")
        if route.scoped and endpoint != "staff.report_progress":
            # What the lead was refused is here for the admin, so the leak checks above look
            # for real data.
            text = " ".join(body_text(route.kind, response.data).split())
            assert "West Kent" in text and route.admin_sees in text


@pytest.mark.parametrize("endpoint", STAFF_ENDPOINTS)
def test_access_to_staff_route(
    app: Flask, db_session: Session, seeded: None, endpoint: str
) -> None:
    lead_id = db_session.exec(select(User.id).where(User.email == LEAD)).one()
    check_anonymous(app, endpoint, lead_id)
    check_lead(app, endpoint, lead_id)
    check_admin(app, endpoint, lead_id)
