"""Responses counted by organisation: the reports page's counts, and the response rates of a wave
by organisation for its dashboard."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from reports.disclosure import CellCounts, decide_withheld
from reports.suppression import check_min_n
from survey_app.models import (
    HeldSubmission,
    Invitation,
    Organisation,
    OrgLevel,
    Response,
    Survey,
    Wave,
)
from survey_app.models.ids import stored_id
from survey_app.reporting.disclosure import organisation_hierarchy, wave_disclosure
from survey_app.reporting.scope import scoped
from survey_app.services import responses as response_service

org_t = Organisation.__table__  # type: ignore[attr-defined]
response_t = Response.__table__  # type: ignore[attr-defined]
held_t = HeldSubmission.__table__  # type: ignore[attr-defined]


def breakdown_level(scope: Organisation | None) -> OrgLevel:
    """The level one step below `scope` (ICBs for England, practices for a PCN or practice)."""
    if scope is None:
        return OrgLevel.ICB
    levels = list(OrgLevel)
    return levels[min(scope.level.rank + 1, len(levels) - 1)]


def response_counts_by_organisation(
    session: Session,
    survey: Survey,
    scopes: Sequence[Organisation],
    min_n: int,
    wave: Wave,
) -> list[dict[str, object]]:
    """Responses to `wave` of `survey` under each scope (all England when `scopes` is empty),
    counted by the organisations one level below the scope:
    `{"scope", "level", "total", "rows": [{"code", "name", "responses", "withheld"}]}` per
    scope, rows in order of code.

    Each count is the responses cell of the wave's disclosure control
    (`survey_app.reporting.disclosure`), so it is withheld exactly where the report withholds
    it: from 1 to `min_n` - 1 ("fewer-than-k"), or where it would let such a count be worked
    out from the others ("secondary"). The rows are in order of code, not of size, so that
    where a withheld row sits says nothing of its count."""
    connection = session.connection()
    disclosure = wave_disclosure(connection, survey, wave, min_n)
    tables: list[dict[str, object]] = []
    each: Sequence[Organisation | None] = scopes or [None]
    for scope in each:
        level = breakdown_level(scope)
        child = org_t.alias("child")
        query = (
            scoped(
                sa.select(child.c.id, child.c.code, child.c.name, sa.func.count())
                .select_from(response_t)
                .join(org_t, org_t.c.id == response_t.c.organisation_id),
                wave,
                None,
            )
            .join(child, child.c.id == org_t.c[level.path_column])
            .group_by(child.c.id, child.c.code, child.c.name)
            .order_by(child.c.code)
        )
        if scope is not None:
            query = query.where(org_t.c[scope.level.path_column] == scope.id)
        found = connection.execute(query).all()
        states = disclosure.states(
            scope.id if scope is not None else None, [row[0] for row in found]
        )
        total = connection.execute(
            scoped(sa.select(sa.func.count()).select_from(response_t), wave, scope)
        ).scalar_one()
        rows = [
            {
                "code": code,
                "name": name,
                "responses": None if hidden else count,
                "withheld": None if not hidden else _reason(count, min_n),
            }
            for (_, code, name, count), hidden in zip(
                found, states.responses[1:].tolist(), strict=True
            )
        ]
        tables.append(
            {
                "scope": scope,
                "level": level,
                "total": None if states.responses[0] else total,
                "rows": rows,
            }
        )
    return tables


def _reason(count: int, min_n: int) -> Withheld:
    return Withheld.FEWER_THAN_K if count < min_n else Withheld.SECONDARY


# --- response rates of a wave's invitations -----------------------------------------------------

invitation_t = Invitation.__table__  # type: ignore[attr-defined]


class Withheld(enum.StrEnum):
    """Why a count of respondents is not shown."""

    #: From 1 to k - 1 answered: the count itself could identify them.
    FEWER_THAN_K = "fewer-than-k"
    #: Shown, it would let a withheld count be worked out by subtraction from the total.
    SECONDARY = "secondary"
    #: Responses from every route less the invitations answered, those through the open link,
    #: number from 1 to k - 1.
    OPEN_LINK_FEWER_THAN_K = "open-link-fewer-than-k"


@dataclass(frozen=True, slots=True)
class RateRow:
    """One organisation's invitations to a wave: `answered` is None when withheld."""

    #: None for the invitations in scope at no organisation of the breakdown's level.
    code: str | None
    name: str
    invited: int
    answered: int | None
    withheld: Withheld | None = None

    @property
    def rate(self) -> float | None:
        """Answered / invited, unrounded; None when the answered count is withheld or nobody
        was invited."""
        if self.answered is None or not self.invited:
            return None
        return self.answered / self.invited

    def as_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "invited": self.invited,
            "answered": self.answered,
            "rate": self.rate,
            "withheld": self.withheld.value if self.withheld else None,
        }


@dataclass(frozen=True, slots=True)
class ResponseRates:
    """A wave's invitations in a scope, answered and not, by the organisations one level below
    the scope, with every count of respondents that could identify one withheld."""

    wave: Wave
    scope: Organisation | None
    level: OrgLevel
    suppression_min_n: int
    #: UTC, when the figures were read.
    as_of: datetime
    rows: list[RateRow]
    total: RateRow
    #: The wave's responses in scope from every route (the open link included), and the
    #: invited answers held to be released with others; None when withheld, for the reason in
    #: `responses_withheld`.
    responses: int | None
    responses_withheld: Withheld | None

    def as_json(self) -> dict[str, object]:
        """The figures as the JSON twin of the dashboard sends them."""
        scope = self.scope
        return {
            "survey": {"slug": self.wave.survey.slug, "title": self.wave.survey.title},
            "wave": {"number": self.wave.number, "name": self.wave.name},
            "scope": (
                {"code": scope.code, "name": scope.name, "level": scope.level.value}
                if scope
                else None
            ),
            "level": {"code": self.level.value, "label": self.level.label},
            "suppression_min_n": self.suppression_min_n,
            "as_of": self.as_of.isoformat(),
            "organisations": [row.as_json() for row in self.rows],
            "total": self.total.as_json(),
            "responses": self.responses,
            "responses_withheld": (
                self.responses_withheld.value if self.responses_withheld else None
            ),
        }


def response_rates(
    session: Session, wave: Wave, scope: Organisation | None, min_n: int
) -> ResponseRates:
    """The invitations to `wave` under `scope` (None: England), invited and answered (used),
    by the organisations one level below the scope that have any (`breakdown_level`), plus
    the wave's responses in scope from every route, all counted by the database in one
    statement, so the figures are one snapshot however many invitations there are.

    An answered count from 1 to `min_n` - 1 is withheld (0 is shown), the scope's total
    included; when exactly one row is withheld and the total is shown, the next smallest
    non-zero row is withheld too (statistics.md's secondary suppression: a zero row withheld
    would reveal nothing). The responses from every route are withheld when they, or the
    part of them beyond the answered invitations, number from 1 to `min_n` - 1. Refuses
    (ValueError) a `min_n` below 1."""
    check_min_n(min_n)
    level = breakdown_level(scope)
    child = org_t.alias("child")
    by_organisation = (
        sa.select(
            sa.false().label("is_responses"),
            child.c.code,
            child.c.name,
            sa.func.count().label("invited"),
            sa.func.count(invitation_t.c.used_at).label("answered"),
        )
        .select_from(invitation_t)
        .join(org_t, org_t.c.id == invitation_t.c.organisation_id)
        # Outer: invitations in scope above the breakdown's level are counted in a row too.
        .outerjoin(child, child.c.id == org_t.c[level.path_column])
        .where(invitation_t.c.wave_id == wave.id)
        .group_by(child.c.code, child.c.name)
    )
    # The responses' count rides in the same statement (its `answered` column), so it and the
    # invitations answered are of one moment and their difference is what it seems.
    # The responses as the wave's reports count them (an open wave's daily snapshot), so the
    # disclosure decision they are checked against is of the same responses.
    responses: sa.Select[bool, None, None, Any, int] = scoped(
        sa.select(
            sa.true(),
            sa.null(),
            sa.null(),
            sa.literal_column("0"),
            sa.func.count(),
        ).select_from(response_t),
        wave,
        scope,
    )
    # Invited answers to an anonymous survey held until released in a batch (`holding`) have
    # been received, and their invitations count as answered: they count here too.
    held: sa.Select[bool, None, None, Any, int] = (
        sa.select(
            sa.true(),
            sa.null(),
            sa.null(),
            sa.literal_column("0"),
            sa.func.count(),
        )
        .select_from(held_t)
        .join(org_t, org_t.c.id == held_t.c.organisation_id)
        .where(held_t.c.wave_id == wave.id)
    )
    if scope is not None:
        in_scope = org_t.c[scope.level.path_column] == scope.id
        by_organisation = by_organisation.where(in_scope)
        held = held.where(in_scope)
    as_of = response_service.utcnow()
    counted = session.connection().execute(sa.union_all(by_organisation, responses, held)).all()
    all_routes = sum(row.answered for row in counted if row.is_responses)
    outside = f"Not in any {level.label.lower()}"
    # In code order, the ones at no organisation of the level last: the order that breaks
    # ties in secondary suppression.
    found = sorted(
        (
            (code, name or outside, int(invited), int(answered))
            for is_responses, code, name, invited, answered in counted
            if not is_responses
        ),
        key=lambda row: (row[0] is None, row[0] or ""),
    )
    total_answered = sum(row[3] for row in found)
    answered_states = _answered_states(
        session, wave, scope, [row[0] for row in found], [row[3] for row in found], min_n
    )
    total_withheld = answered_states[0]
    rows = [
        RateRow(code, name, invited, None, _reason(answered, min_n))
        if hidden
        else RateRow(code, name, invited, answered, None)
        for (code, name, invited, answered), hidden in zip(found, answered_states[1:], strict=True)
    ]
    rows.sort(key=lambda row: (row.code is None, row.name.casefold(), row.code or ""))
    total = RateRow(
        scope.code if scope else None,
        scope.name if scope else "England",
        sum(row[2] for row in found),
        None if total_withheld else total_answered,
        _reason(total_answered, min_n) if total_withheld else None,
    )
    responses_withheld = None
    scope_responses = wave_disclosure(session.connection(), wave.survey, wave, min_n).states(
        scope.id if scope is not None else None
    )
    # Held answers count among those received, so the count shown can exceed the reports'.
    if not total_withheld and 0 < all_routes - total_answered < min_n:
        responses_withheld = Withheld.OPEN_LINK_FEWER_THAN_K
    elif scope_responses.responses[0] or 0 < all_routes < min_n:
        responses_withheld = _reason(all_routes, min_n)
    return ResponseRates(
        wave=wave,
        scope=scope,
        level=level,
        suppression_min_n=min_n,
        as_of=as_of,
        rows=rows,
        total=total,
        responses=None if responses_withheld else all_routes,
        responses_withheld=responses_withheld,
    )


def _answered_states(
    session: Session,
    wave: Wave,
    scope: Organisation | None,
    codes: Sequence[str | None],
    answered: Sequence[int],
    min_n: int,
) -> list[bool]:
    """Whether the scope's answered count (first) and each row's (organisations by `codes`; None
    for the invitations above the breakdown's level) are withheld: invitations answered are a
    measure of their own, decided like the summary's cells over the whole organisation
    hierarchy (`reports.disclosure.decide_withheld`), so that no page less another reveals 1 to
    `min_n` - 1 of them. The row above the level is the scope less its rows: shown only where
    that difference is published anyway, or is 0."""
    connection = session.connection()
    hierarchy, node_of = organisation_hierarchy(connection)
    used = connection.execute(
        sa.select(invitation_t.c.organisation_id, sa.func.count())
        .where(invitation_t.c.wave_id == wave.id, invitation_t.c.used_at.is_not(None))
        .group_by(invitation_t.c.organisation_id)
    ).all()
    direct = np.zeros((len(node_of) + 1, 1), dtype=np.int64)
    for organisation_id, count in used:
        direct[node_of[organisation_id], 0] = count
    decided = decide_withheld(hierarchy, CellCounts(direct), min_n).totals[:, 0]
    node_of_code: dict[str, int] = {
        code: organisation_id
        for code, organisation_id in connection.execute(sa.select(org_t.c.code, org_t.c.id))
    }
    scope_hidden = bool(decided[0 if scope is None else node_of[stored_id(scope)]])
    rows = [None if code is None else bool(decided[node_of[node_of_code[code]]]) for code in codes]
    everything_else_shown = not scope_hidden and not any(hidden for hidden in rows if hidden)
    return [
        scope_hidden,
        *(
            (count > 0 and not everything_else_shown) if hidden is None else hidden
            for hidden, count in zip(rows, answered, strict=True)
        ),
    ]
