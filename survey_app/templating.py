"""Jinja filters that turn form data into the parameters NHS.UK frontend's macros take."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask


def choice_item(choice: Sequence[str]) -> dict[str, str]:
    """A (value, label) choice as an item of the radios or select macro."""
    return {"value": choice[0], "text": choice[1]}


def error_link(problem: Sequence[str]) -> dict[str, str]:
    """A (field id, message) pair as an error-summary entry linking to the field."""
    return {"text": problem[1], "href": f"#{problem[0]}"}


def init_app(app: Flask) -> None:
    app.jinja_env.filters["app_choice_item"] = choice_item
    app.jinja_env.filters["app_error_link"] = error_link
