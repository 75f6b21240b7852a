"""Pages for administrators only: organisations, users and surveys."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from survey_app.admin import invitations, routes  # noqa: E402,F401
