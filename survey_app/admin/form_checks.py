"""What the administrators' forms offer (roles, levels) and the checks of their organisation
codes against the database, which the forms themselves do not run."""

from __future__ import annotations

from sqlmodel import Session
from wtforms import Field

from forms.admin import UserAccessForm
from forms.base import add_error
from survey_app.models import Organisation, OrgLevel, Role
from survey_app.services import ServiceError
from survey_app.services.organisations import organisations_by_codes

#: The roles a user form offers, as (value, label).
ROLE_CHOICES: tuple[tuple[str, str], ...] = (
    (Role.LEAD.value, "Quality lead: reports for their organisations only"),
    (Role.ADMIN.value, "Administrator: every report, and these administration pages"),
)
#: The levels the organisation search offers, as (value, label).
LEVEL_CHOICES: tuple[tuple[str, str], ...] = tuple((level.value, level.label) for level in OrgLevel)


def scopes_named(session: Session, form: UserAccessForm) -> list[Organisation] | None:
    """The organisations a validated user form's codes name, in the order typed: none for a
    role that sees everything. None when the codes are at fault: the form's own error, or an
    unknown code, whose error (naming every such code) is added to the scopes field."""
    if not form.needs_scopes():
        return []
    if form.scopes.errors:
        return None
    try:
        return organisations_by_codes(session, form.scopes.codes())
    except ServiceError as exc:
        add_error(form.scopes, str(exc))
        return None


def organisation_named(session: Session, field: Field) -> Organisation | None:
    """The organisation whose code a validated `field` holds; None when the field is at fault
    or no organisation has the code, whose error is then added to the field."""
    if field.errors:
        return None
    try:
        return organisations_by_codes(session, [field.data])[0]
    except ServiceError as exc:
        add_error(field, str(exc))
        return None
