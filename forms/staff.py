"""Forms of the staff pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField(
        "Email address", validators=[DataRequired("Enter your email address"), Length(max=254)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password"), Length(max=1000)]
    )


class SignOutForm(FlaskForm):
    """Only its CSRF token: signing out is a POST that another site cannot forge."""


class ReportForm(FlaskForm):
    """Which report: survey, scope and grouping (choices set per user by the view)."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    survey = SelectField("Survey", validate_choice=True)
    scope = SelectField("Scope", validate_choice=True)
    by = SelectField("Compare by", validate_choice=True)
