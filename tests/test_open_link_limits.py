"""Padding defences on the respondent's side: answers sent through a survey's open link are
limited per client address and per survey; only a send counts (not a page view or a move
between sections), invitations are not limited, a refused send stores nothing and gives the
answers back, and bad settings refuse to start."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from survey_app import config as app_config
from survey_app import create_app
from survey_app.config import Config, ConfigError
from tests.conftest import count_submissions
from tests.test_paged_form import (
    PLACEMENT_PAGES,
    PLACEMENT_SECTIONS,
    form_on,
    heading,
    press,
    walk_to_check_page,
)
from tests.test_respond import PLACEMENT, _invite, placement_answers

ROOM = "203.0.113.7"  # a practice's Wi-Fi: every learner in it shares the address
ELSEWHERE = "198.51.100.9"

Limited = Callable[..., FlaskClient]


@pytest.fixture
def limited(database_url: str, app: Flask) -> Iterator[Limited]:
    """Makes a client, at the address given, of one app on the test's database with rate
    limits on and the open-link limits given (each call sets them for every client of it),
    counting from zero."""
    from survey_app.security import limiter

    made: list[Flask] = []

    def make(
        per_client: str = "1000 per hour", per_survey: str = "1000 per hour", address: str = ROOM
    ) -> FlaskClient:
        if not made:
            config = app_config.TestConfig(database_url)
            config.RATELIMIT_ENABLED = True
            made.append(create_app(config))
            limiter.reset()
        made[0].config["OPEN_LINK_LIMIT_PER_CLIENT"] = per_client
        made[0].config["OPEN_LINK_LIMIT_PER_SURVEY"] = per_survey
        client = made[0].test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return client

    yield make
    limiter.reset()
    for each in made:
        each.extensions["survey_app.engine"].dispose()


def _send(client: FlaskClient, **overrides: str) -> Any:
    """Every answer of the placement survey posted at once through its open link."""
    return client.post(PLACEMENT, data=placement_answers(client, **overrides))


def test_one_address_is_refused_after_its_limit_and_another_still_sends(
    limited: Limited, hubs: Any, db_session: Session
) -> None:
    room = limited(per_client="3 per hour;10 per day")
    assert [_send(room).status_code for _ in range(3)] == [303, 303, 303]
    refused = _send(room, worked_well="Fourth from the same room.")
    assert refused.status_code == 429
    assert count_submissions(db_session) == 3
    # The page says what happened and when to send again, in NHS.UK's error summary...
    assert "nhsuk-error-summary" in refused.text
    assert "Your answers have not been sent yet" in refused.text
    assert "sent from your network" in refused.text and "(UK time)" in refused.text
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    # ... and still holds the answers, ready to send again.
    given = dict(form_on(refused.text).fields)
    assert given["worked_well"] == "Fourth from the same room."
    assert given["organisation"] == "P-EK1" and given["sup_named"] == "5"

    elsewhere = limited(per_client="3 per hour;10 per day", address=ELSEWHERE)
    assert _send(elsewhere).status_code == 303
    assert _send(room).status_code == 429
    assert count_submissions(db_session) == 4


def test_a_refused_send_from_check_your_answers_keeps_every_answer(
    limited: Limited, hubs: Any, db_session: Session
) -> None:
    room = limited(per_client="1 per hour")
    assert _send(room).status_code == 303
    pages = {**PLACEMENT_PAGES, 0: {"organisation": "P-EK2", **PLACEMENT_PAGES[0]}}
    check = walk_to_check_page(room, PLACEMENT, pages, len(PLACEMENT_SECTIONS))
    refused = press(room, PLACEMENT, check, "send")
    assert refused.status_code == 429
    assert "Check your answers before sending them" in heading(refused.text)
    # Every answer and the page's submission key come back; only the CSRF token is new.
    carried, back = form_on(check.text).hidden, form_on(refused.text).hidden
    carried.pop("csrf_token"), back.pop("csrf_token")
    assert back == carried and carried["organisation"] == "P-EK2"
    assert "send" in form_on(refused.text).buttons
    assert count_submissions(db_session) == 1


def test_moving_between_sections_and_viewing_pages_are_not_counted(
    limited: Limited, hubs: Any, db_session: Session
) -> None:
    room = limited(per_client="2 per hour")
    for _ in range(3):
        room.get(PLACEMENT)
    pages = {**PLACEMENT_PAGES, 0: {"organisation": "P-EK1", **PLACEMENT_PAGES[0]}}
    # Ten sections' Continue, and a Back and a Change: 12 posts, none of them a send.
    check = walk_to_check_page(room, PLACEMENT, pages, len(PLACEMENT_SECTIONS))
    back = press(room, PLACEMENT, check, "back")
    assert back.status_code == 200
    assert press(room, PLACEMENT, check, "change-2").status_code == 200
    assert press(room, PLACEMENT, check, "send").status_code == 303
    assert _send(room).status_code == 303
    assert _send(room).status_code == 429
    assert count_submissions(db_session) == 2


def test_invitations_are_not_limited_by_the_open_link_limits(
    limited: Limited, surveys: Any, hubs: Any, db_session: Session
) -> None:
    room = limited(per_client="1 per hour", per_survey="1 per hour")
    for _ in range(3):
        token = _invite(db_session, surveys["placement-quality"], "P-EK1")
        url = f"{PLACEMENT}/{token}"
        answers = placement_answers(room, organisation=None)  # type: ignore[arg-type]
        assert room.post(url, data=answers).status_code == 303
    assert count_submissions(db_session) == 3
    # The open link's own limit is untouched by them: its first send goes, the next does not.
    assert _send(room).status_code == 303
    assert _send(room).status_code == 429
    assert count_submissions(db_session) == 4


def test_the_survey_has_a_ceiling_whatever_the_address(
    limited: Limited, hubs: Any, db_session: Session
) -> None:
    clients = [
        limited(per_client="1 per hour", per_survey="3 per hour", address=f"192.0.2.{number}")
        for number in range(1, 5)
    ]
    assert [_send(client).status_code for client in clients[:3]] == [303, 303, 303]
    refused = _send(clients[3])
    assert refused.status_code == 429
    assert "This survey has had more answers than it takes in a short time" in refused.text
    assert count_submissions(db_session) == 3
    # With the ceiling raised, the refused address still has its own one send an hour.
    raised = limited(per_client="1 per hour", per_survey="10 per hour", address="192.0.2.4")
    assert _send(raised).status_code == 303
    assert count_submissions(db_session) == 4


def test_a_page_sent_again_after_its_reply_was_lost_is_thanked_not_refused(
    limited: Limited, hubs: Any, db_session: Session
) -> None:
    room = limited(per_client="1 per hour")
    key = form_on(room.get(PLACEMENT).text).hidden["submission_key"]
    assert room.post(PLACEMENT, data=placement_answers(room, submission_key=key)).status_code == 303
    # The same page again (its reply lost): over the limit, but stored already.
    again = room.post(PLACEMENT, data=placement_answers(room, submission_key=key))
    assert again.status_code == 303 and again.headers["Location"].endswith("/thanks")
    # A new page from the same address is over the limit.
    assert _send(room).status_code == 429
    assert count_submissions(db_session) == 1


def test_answers_are_stored_when_the_limits_cannot_be_counted(
    limited: Limited,
    hubs: Any,
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from survey_app.security import limiter

    room = limited(per_client="1 per hour")

    def unreachable(*_args: Any, **_kwargs: Any) -> bool:
        raise ConnectionError("the rate-limit storage is unreachable")

    monkeypatch.setattr(limiter.limiter, "test", unreachable)
    assert [_send(room).status_code for _ in range(2)] == [303, 303]
    assert count_submissions(db_session) == 2
    assert "the open-link limits could not be counted" in caplog.text


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("OPEN_LINK_LIMIT_PER_CLIENT", "lots", "OPEN_LINK_LIMIT_PER_CLIENT must be one or more"),
        ("OPEN_LINK_LIMIT_PER_CLIENT", "0 per hour", "must allow at least 1 in each period"),
        ("OPEN_LINK_LIMIT_PER_SURVEY", "500 per fortnight", "OPEN_LINK_LIMIT_PER_SURVEY must be"),
        ("REPORT_SNAPSHOT", "weekly", "REPORT_SNAPSHOT must be daily or live, not 'weekly'"),
    ],
)
def test_bad_padding_settings_refuse_to_start(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=problem):
        Config()
    monkeypatch.delenv(name)
    accepted = Config()
    assert accepted.OPEN_LINK_LIMIT_PER_CLIENT == "50 per hour;200 per day"
    assert accepted.OPEN_LINK_LIMIT_PER_SURVEY == "500 per hour"
    assert accepted.REPORT_SNAPSHOT == "daily"


def test_good_padding_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPEN_LINK_LIMIT_PER_CLIENT", "40/hour; 150 per day")
    monkeypatch.setenv("OPEN_LINK_LIMIT_PER_SURVEY", "2000 per day")
    monkeypatch.setenv("REPORT_SNAPSHOT", "Live")
    config = Config()
    assert config.OPEN_LINK_LIMIT_PER_CLIENT == "40/hour; 150 per day"
    assert config.OPEN_LINK_LIMIT_PER_SURVEY == "2000 per day"
    assert config.REPORT_SNAPSHOT == "live"


def test_an_invitation_only_survey_has_no_open_link(
    client: FlaskClient, surveys: Any, db_session: Session
) -> None:
    # icb-leaders' definition says `allow_open_link: false`.
    page = client.get("/s/icb-leaders")
    assert page.status_code == 404
    assert "answered by invitation only" in page.text
    refused = client.post("/s/icb-leaders", data={"icb": "QKS", "hub_effective": "4"})
    assert refused.status_code == 404 and "answered by invitation only" in refused.text
    assert count_submissions(db_session) == 0
    # An unknown address says only that.
    unknown = client.get("/s/no-such-survey")
    assert unknown.status_code == 404 and "invitation only" not in unknown.text
