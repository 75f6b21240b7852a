"""Pages for quality leads and admins: sign-in, reports, and the summary API."""

from flask import Blueprint

bp = Blueprint("staff", __name__)

from survey_app.staff import response_rates, routes  # noqa: E402,F401
