"""Error pages the whole application shares: each refusal in the NHS.UK layout with a way back,
and as JSON under /api/, where the caller is a script with no page to read.

The respondent's own refusals (a link already used, a survey not open) render their own page with
the survey's wording; everything that ends in `abort(...)` or an unexpected exception comes here.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, current_app, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

#: The heading and advice of each page, in NHS.UK's wording where it has one.
PAGES: dict[int, tuple[str, str]] = {
    400: (
        "Sorry, there is a problem with what was sent",
        "Some of what was sent could not be read. Nothing was saved. Go back, check it and try "
        "again.",
    ),
    403: (
        "You do not have access to this page",
        "Your account cannot see this page or this organisation's figures. If you need to, ask "
        "an administrator of the service to change your access.",
    ),
    404: (
        "Page not found",
        "If you typed the web address, check it is correct. If you pasted the web address, check "
        "you copied the entire address.",
    ),
    405: (
        "Sorry, this page cannot be used like that",
        "Go back to the page you came from and use its buttons and links.",
    ),
    410: (
        "This link has already been used",
        "Each survey link can be used once, and this one has been. If you did not send your "
        "answers, contact the training hub that sent you the link.",
    ),
    500: (
        "Sorry, there is a problem with the service",
        "Try again later. If you were sending answers, they were not saved: send them again.",
    ),
}

log = logging.getLogger(__name__)


def wants_json() -> bool:
    """True for a request to the JSON API, which is answered in JSON whatever happens."""
    return request.path.startswith("/api/")


def json_error(status: int, error: str, detail: str = "") -> ResponseReturnValue:
    """``{"error", "detail", "status"}`` with <, > and & escaped, so text echoed from a request
    stays inert even if something shows the answer as HTML."""
    body = json.dumps({"error": error, "detail": detail, "status": status}, ensure_ascii=False)
    for character, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        body = body.replace(character, escaped)
    return current_app.response_class(body + "\n", status=status, mimetype="application/json")


def error_page(status: int, heading: str, advice: str) -> ResponseReturnValue:
    """The refusal `status` as the NHS.UK error page (`heading`, `advice`, a way back), or as
    ``{"error": heading, "detail": advice, "status": status}`` under /api/."""
    if wants_json():
        return json_error(status, heading, advice)
    return (
        render_template("errors/error.html", heading=heading, advice=advice, error_page=True),
        status,
    )


def http_error(error: HTTPException) -> ResponseReturnValue:
    """An `abort(status)` anywhere: the page of its status, with the refusal's own description
    when it gave one."""
    status = error.code or 500
    heading, advice = PAGES.get(status, (error.name, error.description or ""))
    if error.description and error.description != type(error).description:
        # Said by the code that refused (`abort(400, description=...)`): the more exact advice.
        advice = error.description
    return error_page(status, heading, advice)


def unexpected_error(error: InternalServerError) -> ResponseReturnValue:
    """An exception nobody handled: logged in full for the operator, a plain page for the
    person (never the traceback)."""
    original = getattr(error, "original_exception", None) or error
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=original)
    return error_page(500, *PAGES[500])


def request_too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    """A request over MAX_CONTENT_LENGTH: Werkzeug refuses it before anything reads it, so
    nothing is stored; the page says what the limit is and what to do."""
    limit_kb = current_app.config["MAX_CONTENT_LENGTH"] // 1024
    if wants_json():
        return json_error(413, f"The request is over {limit_kb:,} KB")
    return render_template("errors/413.html", limit_kb=limit_kb), 413


def init_app(app: Flask) -> None:
    """Register the shared error pages on `app`."""
    for status in PAGES:
        if status != 500:
            app.register_error_handler(status, http_error)
    app.register_error_handler(InternalServerError, unexpected_error)
    app.register_error_handler(RequestEntityTooLarge, request_too_large)
