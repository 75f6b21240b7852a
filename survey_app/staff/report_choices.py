"""What the report form offers a user: the organisations they may see, the groupings of the
survey and its waves."""

from __future__ import annotations

from sqlmodel import Session

from forms.staff import ReportForm, report_form
from survey_app.models import OrgLevel, Survey, User
from survey_app.questions import kind_of
from survey_app.services.access import reportable_organisations


def report_form_for(
    session: Session,
    user: User,
    survey: Survey,
    *,
    scope_code: str | None,
    by: str | None,
    wave_number: int,
) -> ReportForm:
    """The report form for `user`, offering the organisations they may see (down to PCNs; all
    England first for an administrator), the groupings (each level, then the questions whose
    kind groups reports) and the waves of the survey (newest first), with the current report's
    choices (the scope's organisation code, None for England; the grouping; the wave's
    number) selected."""
    scopes = [
        (org.code, f"{org.name} ({org.level.label.lower()})")
        for org in reportable_organisations(session, user)
    ]
    if user.is_admin:
        scopes.insert(0, ("", "England"))
    groupings = [(level.value, f"{level.label}") for level in OrgLevel]
    groupings += [
        (question.code, f"Answer to: {question.text}")
        for question in survey.questions
        if kind_of(question.type).groups_reports
    ]
    return report_form(
        scopes=scopes,
        groupings=groupings,
        waves=[
            (str(wave.number), f"Wave {wave.number}: {wave.name}")
            for wave in reversed(survey.waves)
        ],
        scope=scope_code or "",
        by=by or "",
        wave=str(wave_number),
    )
