"""Queries behind the reports page."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import Session

from survey_app.models import Organisation, OrgLevel, Response, Survey

org_t = Organisation.__table__  # type: ignore[attr-defined]
response_t = Response.__table__  # type: ignore[attr-defined]


def breakdown_level(scope: Organisation | None) -> OrgLevel:
    """The level one step below `scope` (ICBs for England, practices for a PCN or practice)."""
    if scope is None:
        return OrgLevel.ICB
    levels = list(OrgLevel)
    return levels[min(scope.level.rank + 1, len(levels) - 1)]


def response_counts_by_organisation(
    session: Session, slug: str, scopes: Sequence[Organisation]
) -> list[dict[str, object]]:
    """Responses to the survey under each scope (all England when `scopes` is empty), counted
    by the organisations one level below the scope: `{"scope", "level", "rows": [{"code",
    "name", "responses"}]}` per scope, largest first."""
    survey_id = (
        session.connection()
        .execute(
            sa.select(Survey.__table__.c.id).where(Survey.__table__.c.slug == slug)  # type: ignore[attr-defined]
        )
        .scalar_one()
    )
    tables = []
    for scope in scopes or [None]:
        level = breakdown_level(scope)
        child = org_t.alias("child")
        query = (
            sa.select(child.c.code, child.c.name, sa.func.count())
            .select_from(response_t)
            .join(org_t, org_t.c.id == response_t.c.organisation_id)
            .join(child, child.c.id == org_t.c[level.path_column])
            .where(response_t.c.survey_id == survey_id)
            .group_by(child.c.code, child.c.name)
            .order_by(sa.func.count().desc(), child.c.code)
        )
        if scope is not None:
            query = query.where(org_t.c[scope.level.path_column] == scope.id)
        rows = [
            {"code": code, "name": name, "responses": count}
            for code, name, count in session.connection().execute(query)
        ]
        tables.append({"scope": scope, "level": level, "rows": rows})
    return tables
