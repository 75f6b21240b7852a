"""Error pages the whole application shares (the blueprints' own refusals render their pages)."""

from __future__ import annotations

from flask import Flask, current_app, render_template
from werkzeug.exceptions import RequestEntityTooLarge


def request_too_large(_error: RequestEntityTooLarge) -> tuple[str, int]:
    """A request over MAX_CONTENT_LENGTH: Werkzeug refuses it before anything reads it, so
    nothing is stored; the page says what the limit is and what to do."""
    limit_kb = current_app.config["MAX_CONTENT_LENGTH"] // 1024
    return render_template("errors/413.html", limit_kb=limit_kb), 413


def init_app(app: Flask) -> None:
    """Register the shared error pages on `app`."""
    app.register_error_handler(RequestEntityTooLarge, request_too_large)
