"""Forms of the staff pages."""

from __future__ import annotations

from collections.abc import Sequence

from wtforms import EmailField, PasswordField, SelectField
from wtforms.validators import DataRequired, Length

from forms.base import PageForm
from forms.choices import SelectChoice


class LoginForm(PageForm):
    email = EmailField(
        "Email address", validators=[DataRequired("Enter your email address"), Length(max=254)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password"), Length(max=1000)]
    )


class SignOutForm(PageForm):
    """Only its CSRF token: signing out is a POST that another site cannot forge."""


class ReportForm(PageForm):
    """Which report: scope, grouping and wave (choices set per user by `report_form`)."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    scope = SelectField("Organisation", validate_choice=False)
    by = SelectField("Compare groups by", validate_choice=False)
    wave = SelectField("Wave", validate_choice=False)


def report_form(
    *,
    scopes: Sequence[tuple[str, str]],
    groupings: Sequence[tuple[str, str]],
    waves: Sequence[tuple[str, str]],
    scope: str,
    by: str,
    wave: str,
) -> ReportForm:
    """The report form offering `scopes`, `groupings` (after "No comparison") and `waves`, each
    (value, label) in the order shown, with `scope`, `by` and `wave` selected. It refuses
    nothing: the report checks what it is asked for."""
    form = ReportForm(formdata=None)
    form.scope.choices = [SelectChoice(value, label) for value, label in scopes]
    form.scope.data = scope
    form.by.choices = [SelectChoice("", "No comparison")] + [
        SelectChoice(value, label) for value, label in groupings
    ]
    form.by.data = by
    form.wave.choices = [SelectChoice(value, label) for value, label in waves]
    form.wave.data = wave
    return form
