"""Generated form data posted to the respondent's routes never makes a server error.

Hypothesis sends the open-link form and the invitation form everything from the real field
names with junk values to arbitrary keys, repeated keys, huge values and any Unicode, with a
real CSRF token in about half the cases (so validation past the token is reached), and raw
bodies of any bytes. Every answer must be one a respondent's browser can handle: a page (2xx),
a redirect (3xx), or a refusal the spec names (400, 404, 410, 413). Nothing half-valid may be
stored: every stored response has its organisation and only answers to its own survey.
"""

from __future__ import annotations

import operator
from typing import Any
from urllib.parse import quote

from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select
from werkzeug.datastructures import MultiDict

from survey_app.models import Answer, Organisation, Question, Response, Survey
from survey_app.services.invitations import create_invitations
from tests.conftest import csrf_token

ALLOWED = {200, 201, 302, 303, 400, 404, 410, 413}
FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,  # writes nothing into the checkout
    # The app and its database are made once per test, not per example: the examples share
    # them, which is what a server under attack does too.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

PLACEMENT_FIELDS = [
    "organisation",
    "profession",
    "stage",
    "length",
    "ind_welcome",
    "sup_named",
    "overall",
    "recommend",
    "worked_well",
    "could_be_better",
    "csrf_token",
    "submission_key",
    "on_record",
]
LEADER_FIELDS = [
    "fund_government",
    "hub_effective",
    "icb_support",
    "challenges",
    "one_change",
    "on_record",
    "csrf_token",
    "submission_key",
]
#: Values a real field might almost take.
NEAR_MISSES = st.sampled_from(
    ["1", "5", "0", "6", "-1", "4.0", " 4 ", "４", "٤", "1e3", "9" * 40, "P-EK1", "QKS",
     "pharmacist", "yes", "no", "true", "", " ", "null", "None", "[]", "{}", "%00", "\x00"]
)  # fmt: skip
#: Huge values, cheaply: a text repeated up to past the request size limit.
HUGE = st.builds(
    operator.mul,
    st.sampled_from(["x", "<script>", "é", "\u202e", "🙂", "\r\n"]),
    st.sampled_from([5_000, 5_001, 70_000, 2_200_000]),
)
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
#: A path segment: anything, NUL and slashes included, as the address would carry it.
SEGMENT = st.one_of(
    st.sampled_from(["\x00", "icb-leaders\x00", "..", "%", "%00", "<script>", " ", "\u202e"]),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=200),
)
VALUES = st.one_of(NEAR_MISSES, ANY_TEXT, HUGE)


def form_data(field_names: list[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Form fields as (name, value) pairs: real names and any names, some repeated."""
    names = st.one_of(st.sampled_from(field_names), ANY_TEXT.filter(bool))
    return st.lists(st.tuples(names, VALUES), max_size=25)


def complete_with(
    pairs: list[tuple[str, str]], base: dict[str, str], fill: bool
) -> list[tuple[str, str]]:
    """`pairs`, after a valid answer when `fill`: junk then lands on top of real answers."""
    return [*base.items(), *pairs] if fill else pairs


def post(client: FlaskClient, url: str, pairs: list[tuple[str, str]], token: str | None) -> Any:
    form = MultiDict(pairs)
    if token is not None:
        form.setlist("csrf_token", [token])
    response = client.post(url, data=form)
    response.close()
    return response


def assert_nothing_half_stored(session: Session) -> None:
    """Every stored response is complete: an organisation, and answers to its own survey's
    questions only, each at most once."""
    session.expire_all()
    for response in session.exec(select(Response)).all():
        assert session.get(Organisation, response.organisation_id) is not None
        survey = session.get(Survey, response.survey_id)
        assert survey is not None
        question_ids = [
            answer.question_id
            for answer in session.exec(
                select(Answer).where(Answer.response_id == response.id)
            ).all()
        ]
        assert len(question_ids) == len(set(question_ids))
        for question_id in question_ids:
            question = session.get(Question, question_id)
            assert question is not None and question.survey_id == survey.id


VALID_PLACEMENT = {
    "organisation": "P-EK1",
    "profession": "pharmacist",
    "stage": "experienced",
    "overall": "4",
}
VALID_LEADER = {"fund_government": "3", "on_record": "no"}


def test_open_link_never_fails_with_a_server_error(
    client: FlaskClient, hubs: Any, db_session: Session
) -> None:
    real = "placement-quality"

    @FUZZ
    @given(
        slug=st.one_of(st.just(real), st.just(real), SEGMENT),
        pairs=form_data(PLACEMENT_FIELDS),
        with_token=st.booleans(),
        fill=st.booleans(),
    )
    def check(slug: str, pairs: list[tuple[str, str]], with_token: bool, fill: bool) -> None:
        url = f"/s/{quote(slug, safe='')}"
        token = csrf_token(client.get(url).text) if with_token and slug == real else None
        response = post(client, url, complete_with(pairs, VALID_PLACEMENT, fill), token)
        assert response.status_code in ALLOWED, response.status_code

    check()
    assert_nothing_half_stored(db_session)


def test_invitation_never_fails_with_a_server_error(
    client: FlaskClient, surveys: dict[str, Survey], db_session: Session
) -> None:
    kent = db_session.exec(select(Organisation).where(Organisation.code == "QKS")).one()
    tokens = [
        invitation.token
        for invitation in create_invitations(
            db_session, surveys["icb-leaders"], kent, 40, "http://testserver"
        )
    ]
    known = st.sampled_from(tokens)

    @FUZZ
    @given(
        slug=st.one_of(st.just("icb-leaders"), st.just("icb-leaders"), SEGMENT),
        token=st.one_of(known, known, SEGMENT),
        pairs=form_data(LEADER_FIELDS),
        with_csrf=st.booleans(),
        fill=st.booleans(),
    )
    def check(
        slug: str, token: str, pairs: list[tuple[str, str]], with_csrf: bool, fill: bool
    ) -> None:
        url = f"/s/{quote(slug, safe='')}/{quote(token, safe='')}"
        page = client.get(url)
        assert page.status_code in ALLOWED, page.status_code
        csrf = csrf_token(page.text) if with_csrf and page.status_code == 200 else None
        response = post(client, url, complete_with(pairs, VALID_LEADER, fill), csrf)
        assert response.status_code in ALLOWED, response.status_code

    check()
    assert_nothing_half_stored(db_session)


def test_raw_bodies_never_fail_with_a_server_error(client: FlaskClient, hubs: Any) -> None:
    content_types = st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=latin-1",
            "multipart/form-data; boundary=xyz",
            "multipart/form-data",
            "application/json",
            "text/plain",
            "",
        ]
    )

    @FUZZ
    @given(body=st.binary(max_size=2000), content_type=content_types)
    # JSON that is not an object once made Flask-WTF fail inside WTForms (found by CI).
    @example(body=b"0", content_type="application/json")
    @example(body=b"[1, 2]", content_type="application/json")
    @example(body=b'"answers"', content_type="application/json")
    @example(body=b'{"overall": [5], "csrf_token": {}}', content_type="application/json")
    def check(body: bytes, content_type: str) -> None:
        response = client.post(
            "/s/placement-quality",
            data=body,
            headers={"Content-Type": content_type} if content_type else {},
        )
        response.close()
        assert response.status_code in ALLOWED, response.status_code

    check()
