"""What a page's address names, loaded once for its view or answered with 404: Flask-SQLAlchemy's
`first_or_404` for this project's services, which know nothing of requests."""

from __future__ import annotations

from flask import abort

from survey_app.db import get_session
from survey_app.models import Survey
from survey_app.services.surveys import survey_by_slug


def survey_or_404(slug: str, description: str | None = None) -> Survey:
    """The survey with `slug`, its whole definition loaded, in the request's session. Aborts
    with 404 when no survey has that slug, saying `description` if given (the staff API names
    the slug; the admin pages keep Werkzeug's own words)."""
    survey = survey_by_slug(get_session(), slug)
    if survey is None:
        abort(404, description=description)
    return survey
