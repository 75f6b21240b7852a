"""Refusals a person meets read as the rest of the service does (the NHS.UK header, a heading
that says what happened, a way back), and a script calling the JSON API gets JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey_app import config as app_config
from survey_app import create_app
from survey_app.models import Survey


def test_an_unknown_page_has_the_service_layout_and_a_way_home(client: FlaskClient) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "<h1>Page not found</h1>" in page.text
    assert "nhsuk-header" in page.text
    assert 'href="/">Go to the home page</a>' in page.text


def test_a_lead_refused_a_scope_sees_the_access_page_with_a_way_back(
    client: FlaskClient,
    hubs: dict[str, Any],
    make_user: Callable[..., Any],
    sign_in: Callable[..., Any],
) -> None:
    make_user("lead@example.nhs.uk", scopes=("H-EK",))
    sign_in("lead@example.nhs.uk")
    page = client.get("/reports/placement-quality?scope=H-WK")
    assert page.status_code == 403
    assert "You do not have access to this page" in page.text
    assert 'href="/reports">Go to your reports</a>' in page.text


def test_a_wrong_method_is_a_page_not_a_bare_error(client: FlaskClient) -> None:
    page = client.get("/logout")
    assert page.status_code == 405
    assert "cannot be used like that" in page.text


def test_the_api_answers_refusals_in_json(
    client: FlaskClient,
    hubs: dict[str, Any],
    make_user: Callable[..., Any],
    sign_in: Callable[..., Any],
) -> None:
    make_user("lead@example.nhs.uk", scopes=("H-EK",))
    sign_in("lead@example.nhs.uk")
    for path, status in [
        ("/api/surveys/placement-quality/summary?scope=H-WK", 403),
        ("/api/surveys/no-such-survey/summary", 404),
        ("/api/no-such-endpoint", 404),
    ]:
        answer = client.get(path)
        assert answer.status_code == status, path
        assert answer.is_json, path
        assert answer.get_json()["status"] == status
        assert answer.get_json()["error"]


def test_an_unexpected_error_shows_no_traceback(
    database_url: str, surveys: dict[str, Survey], caplog: pytest.LogCaptureFixture
) -> None:
    config = app_config.TestConfig(database_url)
    app: Flask = create_app(config)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/api/explode")
    @app.get("/explode")
    def explode() -> str:
        raise RuntimeError("secret internals")

    client = app.test_client()
    page = client.get("/explode")
    assert page.status_code == 500
    assert "Sorry, there is a problem with the service" in page.text
    assert "secret internals" not in page.text and "Traceback" not in page.text
    api = client.get("/api/explode")
    assert api.status_code == 500 and api.get_json()["status"] == 500
    assert "secret internals" not in api.text
    # The operator still has the whole story in the log.
    assert "secret internals" in caplog.text
    app.extensions["survey_app.engine"].dispose()
