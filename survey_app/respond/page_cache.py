"""What of a respondent's page is rendered once per process and shared: each page's blank
questions, and the open link's whole first page with its two per-visitor values left out.

Both are kept by form class (`form_classes.response_form_class`: one per revision of a survey's
definition and list of organisations), which names everything they depend on.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import render_template, request
from markupsafe import Markup, escape

from forms.respondent import FormPage, ResponseForm
from survey_app.models import Survey
from survey_app.process_cache import ProcessCache

#: Rendered blank questions by form class and page; see `blank_questions`.
_blank_questions_html: ProcessCache[Markup] = ProcessCache(limit=64)

#: The open link's first page as a visitor first gets it, by form class and the application's
#: root: its HTML before its CSRF token, between the token and the submission key, and after.
_first_pages: ProcessCache[tuple[str, str, str]] = ProcessCache(limit=16)


def blank_questions(survey: Survey, form: ResponseForm, page: FormPage) -> Markup:
    """The HTML of `page`'s questions with nothing filled in, rendered once per process for
    each form class (each version of the survey's definition and organisation list). NHS.UK's
    macros make the radios most of the cost of a form page, and every respondent gets the same
    ones; the CSRF token, the submission key and the answers carried from other pages are
    outside it."""
    return _blank_questions_html.get(  # type: ignore[return-value]
        (type(form), page.index),
        lambda: Markup(
            render_template("respond/_questions.html", survey=survey, form=form, page=page)
        ),
    )


def first_open_link_page(form: ResponseForm, render: Callable[[], str]) -> str:
    """The open link's first page with nothing answered, as `render` makes it: the same for
    every visitor who is not signed in apart from the form's CSRF token and submission key, so
    it is rendered once per process for each form class (each version of the definition and
    organisation list), and the two values are put into a copy. It is what most visitors to a
    national survey's link get; rendering it was the larger part of serving it. A page that
    does not hold each value exactly once is rendered afresh each time, never kept."""
    token = str(escape(form.csrf_token.current_token))
    submission_key = str(escape(form.submission_key.data))

    def split_page() -> tuple[str, str, str] | None:
        html = render()
        # Each value once, the token first: otherwise the page cannot be kept.
        if html.count(token) != 1 or html.count(submission_key) != 1:
            return None
        before, _, rest = html.partition(token)
        between, _, after = rest.partition(submission_key)
        return (before, between, after) if after else None

    parts = _first_pages.get((type(form), request.script_root), split_page)
    if parts is None:
        return render()
    before, between, after = parts
    return before + token + between + submission_key + after
