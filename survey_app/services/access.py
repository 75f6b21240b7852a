"""What a signed-in user may see: the scope of a report, checked against the user's scopes."""

from __future__ import annotations

from sqlalchemy import false, or_
from sqlmodel import Session, col, select

from survey_app.models import Organisation, OrgLevel, User
from survey_app.services import ServiceError
from survey_app.services.organisations import is_within, organisation_by_code, within
from survey_app.services.users import scope_organisations


class UnknownScope(ServiceError):
    """No organisation has the code asked for."""


class ScopeNotAllowed(ServiceError):
    """The organisation lies outside everything the user may see."""


def report_scope(session: Session, user: User, code: str | None) -> Organisation | None:
    """The organisation a report covers: `code`, or the user's own scope when no code is
    given (None, meaning all of England, for an admin).

    Refuses UnknownScope for a code no organisation has and ScopeNotAllowed for one outside
    the user's scopes.
    """
    own = scope_organisations(session, user)
    if not code:
        if user.is_admin:
            return None
        if not own:
            raise ScopeNotAllowed("your account has no organisation to report on")
        return sorted(own, key=lambda org: (org.level.rank, org.code))[0]
    organisation = organisation_by_code(session, code.strip())
    if organisation is None:
        raise UnknownScope(f"scope: no organisation has code {code!r}")
    if not user.is_admin and not is_within(organisation, own):
        raise ScopeNotAllowed(f"scope: {code} is outside what you may see")
    return organisation


def reportable_organisations(session: Session, user: User) -> list[Organisation]:
    """The organisations `user` may report on, above practice level, widest first then by
    name: everything for an admin, a lead's scopes and what lies under them."""
    levels = [OrgLevel.REGION, OrgLevel.ICB, OrgLevel.HUB, OrgLevel.PCN]
    statement = select(Organisation).where(col(Organisation.level).in_(levels))
    if not user.is_admin:
        own = scope_organisations(session, user)
        statement = statement.where(or_(*(within(scope) for scope in own)) if own else false())
    found = session.exec(statement).all()
    return sorted(found, key=lambda org: (org.level.rank, org.name))
