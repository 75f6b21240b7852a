"""The response-rate dashboard of a wave: invited, answered and rate by organisation within a
lead's scope, with small counts withheld, its JSON twin, and the figures moving as answers
arrive through invitation links."""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from survey_app.models import Invitation, Organisation, Survey, User
from survey_app.reporting.response_counts import response_rates
from survey_app.services.invitations import create_invitations
from survey_app.services.responses import utcnow
from survey_app.services.surveys import survey_by_slug
from survey_app.services.waves import close_survey, open_survey, start_wave
from tests.conftest import STAFF_PASSWORD, csrf_token

PLACEMENT = "placement-quality"
PAGE = f"/reports/{PLACEMENT}/responses"
API = f"/api/surveys/{PLACEMENT}/response-rates"
LEAD = "lead@example.nhs.uk"
ADMIN = "admin@example.nhs.uk"
MIN_N = 5

#: The hierarchy of the `hubs` fixture and the organisations added here, written out by hand
#: so the expected counts do not come from the database's own ancestor columns.
PARENT = {
    "H-EK": "QKS",
    "H-WK": "QKS",
    "H-SX": "QNX",
    "N-EK1": "H-EK",
    "N-EKB": "H-EK",
    "N-EKC": "H-EK",
    "N-EKD": "H-EK",
    "N-WK1": "H-WK",
    "N-SX1": "H-SX",
    "P-EK1": "N-EK1",
    "P-EK2": "N-EK1",
    "P-EKB": "N-EKB",
    "P-EKC": "N-EKC",
    "P-EKD": "N-EKD",
    "P-WK1": "N-WK1",
    "P-WK2": "N-WK1",
    "P-SX1": "N-SX1",
    "P-SX2": "N-SX1",
}
MORE_EAST_KENT = (
    ("N-EKB", "Bay PCN", "pcn", "H-EK"),
    ("N-EKC", "Coast PCN", "pcn", "H-EK"),
    ("N-EKD", "Downland PCN", "pcn", "H-EK"),
    ("P-EKB", "Bay Surgery", "practice", "N-EKB"),
    ("P-EKC", "Coast Surgery", "practice", "N-EKC"),
    ("P-EKD", "Downland Surgery", "practice", "N-EKD"),
)


def ancestor_in(code: str, scope: str, levels_below: int) -> str | None:
    """The organisation `levels_below` levels under `scope` on `code`'s chain (itself when it
    is at that depth), None when `code` sits above that depth; refuses codes outside scope."""
    chain = [code]
    while chain[-1] != scope:
        chain.append(PARENT[chain[-1]])  # KeyError: not under scope
    depth = len(chain) - 1
    return chain[depth - levels_below] if depth >= levels_below else None


@pytest.fixture
def placement(surveys: dict[str, Survey], hubs: dict[str, Organisation]) -> Survey:
    return surveys[PLACEMENT]


@pytest.fixture
def east_kent(
    placement: Survey, make_orgs: Callable[..., dict[str, Organisation]]
) -> dict[str, Organisation]:
    return make_orgs(*MORE_EAST_KENT)


@pytest.fixture
def lead(make_user: Callable[..., User], hubs: dict[str, Organisation]) -> User:
    return make_user(LEAD, "lead", ("H-EK",))


@pytest.fixture
def admin(make_user: Callable[..., User], hubs: dict[str, Organisation]) -> User:
    return make_user(ADMIN, "admin", ())


def organisation(session: Session, code: str) -> Organisation:
    return session.exec(select(Organisation).where(Organisation.code == code)).one()


def invite(session: Session, slug: str, code: str, invited: int, answered: int = 0) -> list[str]:
    """`invited` invitations to the current wave at `code`, the first `answered` of them
    marked used (as a submission marks them); returns the tokens of the unused ones."""
    survey = survey_by_slug(session, slug)
    assert survey is not None
    issued = create_invitations(session, survey, organisation(session, code), invited, "")
    ids = session.exec(select(Invitation.id).order_by(sa.desc(Invitation.id)).limit(invited)).all()
    used = sorted(ids)[:answered]
    if used:
        session.execute(
            sa.update(Invitation)
            .where(Invitation.id.in_(used))  # type: ignore[union-attr]
            .values(used_at=utcnow().replace(hour=0, minute=0, second=0, microsecond=0))
        )
        session.commit()
    return [found.token for found in issued[answered:]]


def signed_in(client: FlaskClient, email: str) -> None:
    """Sign `client` in as the staff member `email`."""
    page = client.get("/login")
    sent = client.post(
        "/login",
        data={"email": email, "password": STAFF_PASSWORD, "csrf_token": csrf_token(page.text)},
    )
    assert sent.status_code == 303


def answer_through(client: FlaskClient, path: str, **extra: str) -> None:
    """Send a complete placement answer from the form at `path` (an invitation or the open
    link), as a respondent's browser does."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    sent = client.post(
        path,
        data={
            "csrf_token": csrf_token(page.text),
            "profession": "pharmacist",
            "stage": "newly-qualified",
            "length": "1-to-3-months",
            "ind_welcome": "4",
            "overall": "5",
            **extra,
        },
    )
    assert sent.status_code == 303, sent.status_code


def page_table(text: str) -> dict[str, list[str]]:
    """The dashboard's table as a reader sees it: each row's header text to its cells."""
    table = re.search(r"<table[^>]*data-rates-table.*?</table>", text, re.S)
    assert table, "the page has no table of response rates"
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(0), re.S)[1:]:
        cells = [
            " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        rows[cells[0]] = cells[1:]
    return rows


def figures_text(text: str) -> str:
    """The text of the dashboard's figures (table and responses), without the time."""
    region = re.search(r"<div data-response-rates.*?</main>", text, re.S)
    assert region, "the page has no figures"
    body = re.sub(r"<time.*?</time>", "", region.group(0), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def numbers_in_table(text: str) -> set[int]:
    """Every whole number the table shows (codes and percentages included)."""
    table = page_table(text)
    return {
        int(number)
        for header, cells in table.items()
        for number in re.findall(r"\d+", " ".join([re.sub(r"\(.*\)", "", header), *cells]))
    }


def shown(row: dict[str, Any], k: int) -> list[str]:
    """A JSON row's cells as the page writes them, from the JSON's own figures."""
    if row["withheld"] is None:
        answered = f"{row['answered']:,}"
        rate = "none invited" if row["rate"] is None else f"{int(row['rate'] * 100 + 0.5)}%"
    else:
        answered = "withheld" if row["withheld"] == "secondary" else f"fewer than {k}"
        rate = "withheld"
    return [f"{row['invited']:,}", answered, rate]


# --- the counts ---------------------------------------------------------------------------------


def test_counts_equal_an_independent_count_of_the_invitations(
    app: Flask,
    db_session: Session,
    east_kent: dict[str, Organisation],
    admin: User,
    client: FlaskClient,
) -> None:
    app.config["SUPPRESSION_MIN_N"] = 1  # nothing withheld: every count is compared
    rng = np.random.default_rng(20260306)
    at = ["H-EK", "N-EK1", "P-EK1", "P-EK2", "P-EKB", "P-EKC", "P-WK1", "N-WK1", "P-SX2"]
    made: list[tuple[str, bool]] = []
    for code in at:
        invited = int(rng.integers(1, 40))
        answered = int(rng.integers(0, invited + 1))
        invite(db_session, PLACEMENT, code, invited, answered)
        made += [(code, True)] * answered + [(code, False)] * (invited - answered)
    # The database's own rows, counted in Python: what the page must show.
    stored = db_session.exec(
        select(Organisation.code, Invitation.used_at).join(
            Organisation, Organisation.id == Invitation.organisation_id
        )
    ).all()
    assert Counter((code, used is not None) for code, used in stored) == Counter(made)

    signed_in(client, ADMIN)
    for scope, depth in (("QKS", 1), ("H-EK", 1), ("N-EK1", 1), ("P-EK1", 0)):
        invited: Counter[str | None] = Counter()
        answered: Counter[str | None] = Counter()
        for code, used in made:
            try:
                row = ancestor_in(code, scope, depth)
            except KeyError:
                continue  # outside the scope
            invited[row] += 1
            answered[row] += used
        data = client.get(API, query_string={"scope": scope}).get_json()
        got = {
            row["code"]: (row["invited"], row["answered"], row["rate"])
            for row in data["organisations"]
        }
        assert got == {
            code: (invited[code], answered[code], pytest.approx(answered[code] / invited[code]))
            for code in invited
        }, scope
        assert data["total"]["invited"] == sum(invited.values())
        assert data["total"]["answered"] == sum(answered.values())
        assert data["total"]["code"] == scope
    # England, by ICB: Kent and Medway and Sussex.
    data = client.get(API).get_json()
    assert data["scope"] is None and data["total"]["name"] == "England"
    assert {row["code"]: (row["invited"], row["answered"]) for row in data["organisations"]} == {
        icb: (
            sum(1 for code, _ in made if icb_of(code) == icb),
            sum(used for code, used in made if icb_of(code) == icb),
        )
        for icb in ("QKS", "QNX")
    }


def icb_of(code: str) -> str:
    while code not in ("QKS", "QNX"):
        code = PARENT[code]
    return code


# --- suppression ----------------------------------------------------------------------------------


def test_small_counts_are_withheld_and_the_next_smallest_too_so_none_can_be_recovered(
    db_session: Session,
    east_kent: dict[str, Organisation],
    lead: User,
    client: FlaskClient,
) -> None:
    # East Kent's PCNs: 3 answered (withheld), 7 (the next smallest: withheld too), 11 shown,
    # and 0 shown as 0 (withholding it would hide nothing: 21 - 11 - 0 is still 3 + 7).
    invite(db_session, PLACEMENT, "P-EK1", 30, 3)
    invite(db_session, PLACEMENT, "P-EKB", 35, 7)
    invite(db_session, PLACEMENT, "P-EKC", 44, 11)
    invite(db_session, PLACEMENT, "P-EKD", 9, 0)
    signed_in(client, LEAD)

    page = client.get(PAGE)
    assert page.status_code == 200
    table = page_table(page.text)
    assert table == {
        "Bay PCN (N-EKB)": ["35", "withheld", "withheld"],
        "Canterbury PCN (N-EK1)": ["30", "fewer than 5", "withheld"],
        "Coast PCN (N-EKC)": ["44", "11", "25%"],
        "Downland PCN (N-EKD)": ["9", "0", "0%"],
        "All of East Kent Training Hub": ["118", "21", "18%"],
    }
    # Neither withheld count, nor a rate that would give it away (3/30, 7/35), is on the page.
    assert not numbers_in_table(page.text) & {3, 7, 10, 20}
    # What is published (21 in all, 11 and 0) leaves only their sum, 10, to be worked out.
    text = figures_text(page.text)
    assert not re.search(r"(?<!\d)(3|7|10|20)(?!\d)", text), text

    data = client.get(API).get_json()
    withheld = {row["code"]: row["withheld"] for row in data["organisations"]}
    assert withheld == {"N-EK1": "fewer-than-k", "N-EKB": "secondary", "N-EKC": None, "N-EKD": None}
    for row in data["organisations"]:
        if row["withheld"]:
            assert row["answered"] is None and row["rate"] is None
    assert "3" not in re.findall(r"\d+", json.dumps(data["organisations"]).replace("N-EK1", ""))


def test_no_second_withholding_when_two_are_already_withheld_or_the_total_is(
    db_session: Session,
    east_kent: dict[str, Organisation],
    lead: User,
    client: FlaskClient,
) -> None:
    invite(db_session, PLACEMENT, "P-EK1", 12, 2)
    invite(db_session, PLACEMENT, "P-EKB", 13, 4)
    invite(db_session, PLACEMENT, "P-EKC", 14, 6)
    signed_in(client, LEAD)
    assert page_table(client.get(PAGE).text) == {
        "Bay PCN (N-EKB)": ["13", "fewer than 5", "withheld"],
        "Canterbury PCN (N-EK1)": ["12", "fewer than 5", "withheld"],
        "Coast PCN (N-EKC)": ["14", "6", "43%"],
        "All of East Kent Training Hub": ["39", "12", "31%"],
    }
    # Canterbury PCN by practice: 2 answered at one practice, none at the other; the total
    # (2) is itself fewer than 5, so nothing can be subtracted from it.
    invite(db_session, PLACEMENT, "P-EK2", 6, 0)
    assert page_table(client.get(PAGE, query_string={"scope": "N-EK1"}).text) == {
        "Cathedral Surgery (P-EK1)": ["12", "fewer than 5", "withheld"],
        "Harbour Surgery (P-EK2)": ["6", "0", "0%"],
        "All of Canterbury PCN": ["18", "fewer than 5", "withheld"],
    }


def test_the_responses_from_every_route_are_withheld_when_few_came_by_the_open_link(
    db_session: Session, placement: Survey, lead: User, client: FlaskClient
) -> None:
    tokens = invite(db_session, PLACEMENT, "P-EK1", 8)
    for token in tokens[:6]:
        answer_through(client, f"/s/{PLACEMENT}/{token}")
    signed_in(client, LEAD)
    data = client.get(API).get_json()
    assert (data["total"]["answered"], data["responses"]) == (6, 6)
    # One answer by the open link: 7 responses less 6 invitations answered would show it.
    answer_through(client, f"/s/{PLACEMENT}", organisation="P-EK1")
    data = client.get(API).get_json()
    assert data["total"]["answered"] == 6
    assert (data["responses"], data["responses_withheld"]) == (None, "open-link-fewer-than-k")
    page = client.get(PAGE).text
    assert "data-rates-responses>withheld<" in page
    assert "fewer than 5 of these responses came through the open link" in page
    assert not re.search(r"\b7\b", figures_text(page))


# --- who sees what --------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["H-WK", "N-WK1", "P-WK1", "QKS", "Y59", "H-SX"])
def test_a_lead_asking_outside_their_scope_is_refused_without_figures(
    db_session: Session, placement: Survey, lead: User, client: FlaskClient, scope: str
) -> None:
    invite(db_session, PLACEMENT, "P-WK1", 23, 17)
    signed_in(client, LEAD)
    for url in (PAGE, API):
        refused = client.get(url, query_string={"scope": scope})
        assert refused.status_code == 403, (url, refused.status_code)
        # The error page has the service's layout, whose icons are drawn with numbers: the
        # figures must be absent from what a reader sees, the words outside tags and drawings.
        seen = re.sub(r"<svg\b.*?</svg>|<[^>]*>", " ", refused.text, flags=re.DOTALL)
        assert not re.search(r"\b(23|17)\b", seen), seen
        assert b"Vine Surgery" not in refused.data and b"West Kent" not in refused.data
    assert client.get(PAGE, query_string={"scope": "NOPE"}).status_code == 404
    assert client.get(API, query_string={"scope": "H-EK", "wave": "9"}).status_code == 404
    assert client.get(API, query_string={"scope": "H-EK", "wave": "two"}).status_code == 400
    assert client.get(API, query_string=[("scope", "H-EK"), ("scope", "H-WK")]).status_code == 400
    assert client.get("/api/surveys/nope/response-rates").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(placement: Survey, client: FlaskClient) -> None:
    assert client.get(PAGE).status_code == 302
    assert client.get(API).status_code == 401


def test_a_lead_sees_only_the_rows_of_their_scope(
    db_session: Session, placement: Survey, lead: User, client: FlaskClient
) -> None:
    invite(db_session, PLACEMENT, "P-EK1", 10, 6)
    invite(db_session, PLACEMENT, "P-EK2", 7, 5)
    invite(db_session, PLACEMENT, "H-EK", 5, 5)  # at the hub itself, in no PCN
    invite(db_session, PLACEMENT, "P-WK1", 40, 30)
    invite(db_session, PLACEMENT, "P-SX1", 50, 20)
    signed_in(client, LEAD)
    page = client.get(PAGE)
    assert page_table(page.text) == {
        "Canterbury PCN (N-EK1)": ["17", "11", "65%"],
        "Not in any primary care network": ["5", "5", "100%"],
        "All of East Kent Training Hub": ["22", "16", "73%"],
    }
    for other in ("West Kent", "Vine Surgery", "Sussex", "Seafront", "Kent and Medway"):
        assert other not in page.text
    data = client.get(API).get_json()
    assert data["scope"]["code"] == "H-EK"
    assert [row["code"] for row in data["organisations"]] == ["N-EK1", None]
    # Their PCN, by practice.
    assert page_table(client.get(PAGE, query_string={"scope": "N-EK1"}).text) == {
        "Cathedral Surgery (P-EK1)": ["10", "6", "60%"],
        "Harbour Surgery (P-EK2)": ["7", "5", "71%"],
        "All of Canterbury PCN": ["17", "11", "65%"],
    }


def test_the_json_twin_shows_the_figures_of_the_page(
    db_session: Session,
    east_kent: dict[str, Organisation],
    admin: User,
    client: FlaskClient,
) -> None:
    for code, invited, answered in (
        ("P-EK1", 1234, 617),
        ("P-EKB", 20, 2),
        ("P-EKC", 30, 9),
        ("P-EKD", 3, 0),
        ("P-WK1", 8, 8),
    ):
        invite(db_session, PLACEMENT, code, invited, answered)
    signed_in(client, ADMIN)
    for scope in ("QKS", "H-EK", "N-EK1"):
        page = client.get(PAGE, query_string={"scope": scope}).text
        data = client.get(API, query_string={"scope": scope}).get_json()
        k = data["suppression_min_n"]
        expected = {
            (f"{row['name']} ({row['code']})" if row["code"] else row["name"]): shown(row, k)
            for row in data["organisations"]
        }
        expected[f"All of {data['total']['name']}"] = shown(data["total"], k)
        assert page_table(page) == expected, scope
        assert f"data-rates-responses>{data['responses']:,}<" in page
    assert "1,234" in page  # N-EK1's Cathedral Surgery, as a reader writes thousands


# --- answers arriving -----------------------------------------------------------------------------


def test_the_figures_move_when_an_invitee_answers(
    db_session: Session, placement: Survey, lead: User, client: FlaskClient
) -> None:
    tokens = invite(db_session, PLACEMENT, "P-EK1", 12)
    invite(db_session, PLACEMENT, "P-EK2", 6)
    respondent = client.application.test_client()
    signed_in(client, LEAD)
    query = {"scope": "N-EK1"}
    before = client.get(API, query_string=query).get_json()
    assert [row["answered"] for row in before["organisations"]] == [0, 0]
    for token in tokens[:5]:
        answer_through(respondent, f"/s/{PLACEMENT}/{token}")
    after_five = client.get(API, query_string=query).get_json()
    assert after_five["organisations"][0] == {
        "code": "P-EK1",
        "name": "Cathedral Surgery",
        "invited": 12,
        "answered": 5,
        "rate": pytest.approx(5 / 12),
        "withheld": None,
    }
    assert after_five["total"]["answered"] == 5 and after_five["responses"] == 5
    assert after_five["as_of"] >= before["as_of"]

    answer_through(respondent, f"/s/{PLACEMENT}/{tokens[5]}")
    data = client.get(API, query_string=query).get_json()
    assert (data["organisations"][0]["answered"], data["total"]["answered"]) == (6, 6)
    assert page_table(client.get(PAGE, query_string=query).text)["All of Canterbury PCN"] == [
        "18",
        "6",
        "33%",
    ]
    # A used link answers no more, and moves nothing.
    assert respondent.get(f"/s/{PLACEMENT}/{tokens[0]}").status_code == 410
    assert client.get(API, query_string=query).get_json()["total"]["answered"] == 6


def test_the_page_offers_a_refresh_link_a_pause_button_and_a_polite_summary(
    db_session: Session, placement: Survey, lead: User, client: FlaskClient
) -> None:
    invite(db_session, PLACEMENT, "P-EK1", 10, 6)
    signed_in(client, LEAD)
    page = client.get(PAGE, query_string={"scope": "N-EK1"}).text
    # Without script: a link to the same figures, fetched again.
    refresh = re.search(r'<a href="([^"]+)">Refresh the figures</a>', page)
    assert refresh and html.unescape(refresh.group(1)) == f"{PAGE}?wave=1&scope=N-EK1"
    # With script: the JSON of the same scope and wave, a pause button shown by the script,
    # and a polite live region for the summary.
    assert f'data-rates-url="{API}?wave=1&amp;scope=N-EK1"' in page
    assert 'data-rates-every="30"' in page
    assert re.search(r"<div data-rates-auto hidden>.*?Pause automatic updates</button>", page, re.S)
    assert re.search(r'role="status" aria-live="polite" data-rates-announce', page)
    assert '<script type="module" src="/static/js/response-rates.js">' in page
    assert "<caption" in page and page.count('scope="col"') == 4
    assert page.count('scope="row"') == 2  # the practice and the total
    assert re.search(
        r"Figures as at <time datetime=\"[^\"]+\" data-rates-as-of>\d\d:\d\d:\d\d on ", page
    )
    script = client.get("/static/js/response-rates.js")
    script.close()  # a file sent from disk stays open until closed
    assert script.status_code == 200


def test_the_reports_page_links_to_the_response_rates(
    placement: Survey, lead: User, client: FlaskClient
) -> None:
    signed_in(client, LEAD)
    page = client.get("/reports").text
    assert f'href="{PAGE}?scope=H-EK">response rates' in page


# --- waves ----------------------------------------------------------------------------------------


def test_a_wave_is_chosen_and_the_current_one_shown_by_default(
    db_session: Session, placement: Survey, lead: User, client: FlaskClient
) -> None:
    invite(db_session, PLACEMENT, "P-EK1", 20, 10)
    close_survey(db_session, placement)
    db_session.expire_all()
    start_wave(db_session, survey_by_slug(db_session, PLACEMENT), "2026/27 rotation 1")
    db_session.expire_all()
    open_survey(db_session, survey_by_slug(db_session, PLACEMENT))
    invite(db_session, PLACEMENT, "P-EK1", 9, 0)
    signed_in(client, LEAD)

    current = client.get(API).get_json()
    assert current["wave"] == {"number": 2, "name": "2026/27 rotation 1"}
    assert (current["total"]["invited"], current["total"]["answered"]) == (9, 0)
    first = client.get(API, query_string={"wave": "1"}).get_json()
    assert first["wave"]["number"] == 1
    assert (first["total"]["invited"], first["total"]["answered"]) == (20, 10)
    page = client.get(PAGE, query_string={"wave": "1"}).text
    assert page_table(page)["All of East Kent Training Hub"] == ["20", "10", "50%"]
    assert re.search(r"<p>Wave 1: <strong class=\"nhsuk-tag[^>]*>Closed</strong>", page)
    latest = client.get(PAGE).text
    assert re.search(r"<p>2026/27 rotation 1 \(wave 2\): <strong[^>]*>Open</strong>", latest)
    assert '<option value="2"' in page and '<option value="1" selected' in page


def test_a_wave_without_invitations_says_so(
    placement: Survey, lead: User, client: FlaskClient
) -> None:
    signed_in(client, LEAD)
    page = client.get(PAGE).text
    assert re.search(r"<p data-rates-empty>No one has been invited to Wave 1 in East Kent", page)
    assert re.search(r"<table[^>]*data-rates-table hidden", page)


# --- the cost ----------------------------------------------------------------------------------


@contextmanager
def statements_counted(session: Session) -> Iterator[list[str]]:
    """The SQL statements `session`'s engine runs inside the block."""
    engine = session.get_bind()
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_the_figures_cost_the_same_statements_however_many_invitations(
    db_session: Session, east_kent: dict[str, Organisation]
) -> None:
    """The invitations are counted by the database, not read one by one: the statements of a
    dashboard do not grow with them (the wave's disclosure decision, kept per process once made
    for the responses there are, is made before each count)."""
    survey = survey_by_slug(db_session, PLACEMENT)
    assert survey is not None
    wave = survey.current_wave
    scope = organisation(db_session, "H-EK")
    invite(db_session, PLACEMENT, "P-EK1", 3, 1)
    response_rates(db_session, wave, scope, MIN_N)
    with statements_counted(db_session) as few:
        response_rates(db_session, wave, scope, MIN_N)
    for code in ("P-EK1", "P-EK2", "P-EKB", "P-EKC", "P-EKD", "N-EKB", "H-EK"):
        invite(db_session, PLACEMENT, code, 400, 150)
    response_rates(db_session, wave, scope, MIN_N)
    with statements_counted(db_session) as many:
        rates = response_rates(db_session, wave, scope, MIN_N)
    assert rates.total.invited == 3 + 7 * 400
    assert len(many) == len(few), many
    assert "GROUP BY" in many[0].upper()
