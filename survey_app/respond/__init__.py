"""The respondent's pages: the landing page, open-link and invitation forms, thank-you."""

from flask import Blueprint

bp = Blueprint("respond", __name__)

from survey_app.respond import routes  # noqa: E402,F401
