"""Forms of the staff pages."""

from __future__ import annotations

from sqlmodel import Session
from wtforms import EmailField, PasswordField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from forms.base import PageForm
from survey_app.models import OrgLevel, QuestionType, Survey, User
from survey_app.services.access import reportable_organisations


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


def report_form(session: Session, user: User, survey: Survey, summary: dict) -> ReportForm:
    """The report form for `user`, offering the organisations they may see (down to PCNs),
    the groupings and the waves of the survey (newest first), with the current report's
    choices selected."""
    form = ReportForm(formdata=None)
    scopes = [
        SelectChoice(org.code, f"{org.name} ({org.level.label.lower()})")
        for org in reportable_organisations(session, user)
    ]
    if user.is_admin:
        scopes.insert(0, SelectChoice("", "England"))
    form.scope.choices = scopes
    form.scope.data = summary["scope"]["code"] if summary["scope"] else ""
    groupings = [SelectChoice("", "No comparison")]
    groupings += [SelectChoice(level.value, f"{level.label}") for level in OrgLevel]
    groupings += [
        SelectChoice(q.code, f"Answer to: {q.text}")
        for q in survey.questions
        if q.type == QuestionType.CHOICE
    ]
    form.by.choices = groupings
    form.by.data = summary["by"] or ""
    form.wave.choices = [
        SelectChoice(str(wave.number), f"Wave {wave.number}: {wave.name}")
        for wave in reversed(survey.waves)
    ]
    form.wave.data = str(summary["wave"]["number"])
    return form
