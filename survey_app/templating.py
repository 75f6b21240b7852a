"""Jinja set-up: the template loaders and escaping, and the filters that turn form data into the
parameters NHS.UK frontend's macros take."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from flask import Flask
from jinja2 import ChainableUndefined, ChoiceLoader, FileSystemLoader, PackageLoader

from survey_app.config import VERSION


class Choice(Protocol):
    """A field's choice as the templates read it (WTForms' SelectChoice): the value a browser
    posts and the label a person reads."""

    @property
    def value(self) -> str: ...

    @property
    def label(self) -> str: ...


def choice_item(choice: Choice) -> dict[str, str]:
    """Return a field's choice as an item of the radios or select macro; refuses nothing."""
    return {"value": choice.value, "text": choice.label}


def error_link(problem: Sequence[str]) -> dict[str, str]:
    """A (field id, message) pair as an error-summary entry linking to the field."""
    return {"text": problem[1], "href": f"#{problem[0]}"}


def field_error(entry: tuple[str, Sequence[str]]) -> dict[str, str]:
    """A (field name, errors) pair of `form.errors` as an error-summary entry."""
    return {"text": entry[1][0], "href": f"#{entry[0]}"}


def init_app(app: Flask) -> None:
    """Set `app`'s Jinja options, filters and globals; call before anything renders."""
    app.jinja_options = {
        "undefined": ChainableUndefined,
        "loader": ChoiceLoader(
            [
                FileSystemLoader(str(app.template_folder)),
                PackageLoader("nhsuk_frontend_jinja"),
            ]
        ),
        # Flask escapes only templates named *.html; NHS.UK's macros are *.jinja, and every
        # label, hint and option they render would otherwise go out as raw HTML.
        "autoescape": True,
    }
    app.jinja_env.globals["app_version"] = VERSION
    app.jinja_env.filters["app_field_error"] = field_error
    app.jinja_env.filters["app_choice_item"] = choice_item
    app.jinja_env.filters["app_error_link"] = error_link
