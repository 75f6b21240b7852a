"""Organisations: import from CSV (upsert by code), the shipped reference data, and scopes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, col, select

from survey_app.models import Organisation, OrgLevel
from survey_app.services import ServiceError

REFERENCE_CSV = Path(__file__).resolve().parent.parent / "reference" / "icbs-2025.csv"
ORG_CSV_HEADER = ("code", "name", "level", "parent_code")
MAX_ORG_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class OrganisationRow:
    code: str
    name: str
    level: OrgLevel
    parent_code: str | None
    row_number: int


@dataclass(frozen=True, slots=True)
class ImportCounts:
    created: int
    updated: int
    unchanged: int


def parse_organisations_csv(text: str, source: str) -> list[OrganisationRow]:
    """The rows of an organisations CSV (header `code,name,level,parent_code`).

    Refuses (ServiceError naming `source`, the row and the column) a wrong header, an empty code
    or name, an unknown level and a code given twice.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None or tuple(cell.strip() for cell in header) != ORG_CSV_HEADER:
        raise ServiceError(
            f"{source}: the header must be {','.join(ORG_CSV_HEADER)}, "
            f"not {','.join(header or []) or 'empty'}"
        )
    rows: list[OrganisationRow] = []
    seen: dict[str, int] = {}
    for row_number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) >= MAX_ORG_ROWS:
            raise ServiceError(f"{source}: more than {MAX_ORG_ROWS} rows; split the file")
        if len(cells) != len(ORG_CSV_HEADER):
            raise ServiceError(
                f"{source}, row {row_number}: expected 4 columns, found {len(cells)}"
            )
        code, name, level, parent_code = (cell.strip() for cell in cells)
        if not code:
            raise ServiceError(f"{source}, row {row_number}, column code: is empty")
        if len(code) > 20:
            raise ServiceError(f"{source}, row {row_number}, column code: longer than 20")
        if not name:
            raise ServiceError(f"{source}, row {row_number}, column name: is empty")
        if len(name) > 200:
            raise ServiceError(f"{source}, row {row_number}, column name: longer than 200")
        try:
            org_level = OrgLevel(level.lower())
        except ValueError:
            raise ServiceError(
                f"{source}, row {row_number}, column level: {level!r} is not one of "
                f"{', '.join(level.value for level in OrgLevel)}"
            ) from None
        if code in seen:
            raise ServiceError(
                f"{source}, row {row_number}, column code: {code!r} is also on row {seen[code]}"
            )
        seen[code] = row_number
        rows.append(OrganisationRow(code, name, org_level, parent_code or None, row_number))
    return rows


def import_organisations(
    session: Session, rows: Sequence[OrganisationRow], source: str
) -> ImportCounts:
    """Create or update organisations by code, then commit; all or nothing.

    Refuses (ServiceError) a parent code that is neither in the file nor in the database, and a
    parent that is not at a wider level than its child.
    """
    existing = {org.code: org for org in session.exec(select(Organisation)).all()}
    levels = {code: org.level for code, org in existing.items()}
    levels.update({row.code: row.level for row in rows})
    for row in rows:
        if row.parent_code is None:
            if row.level != OrgLevel.REGION:
                raise ServiceError(
                    f"{source}, row {row.row_number}, column parent_code: is empty, but only a "
                    "region has no parent"
                )
            continue
        parent_level = levels.get(row.parent_code)
        if parent_level is None:
            raise ServiceError(
                f"{source}, row {row.row_number}, column parent_code: no organisation has code "
                f"{row.parent_code!r}"
            )
        if parent_level.rank >= row.level.rank:
            raise ServiceError(
                f"{source}, row {row.row_number}, column parent_code: a {row.level.value} cannot "
                f"sit under a {parent_level.value} ({row.parent_code})"
            )
    created = updated = unchanged = 0
    # Parents first, so every parent has an id when its children are written.
    for row in sorted(rows, key=lambda row: row.level.rank):
        parent_id = existing[row.parent_code].id if row.parent_code else None
        org = existing.get(row.code)
        if org is None:
            org = Organisation(code=row.code, name=row.name, level=row.level, parent_id=parent_id)
            created += 1
        elif (org.name, org.level, org.parent_id) == (row.name, row.level, parent_id):
            unchanged += 1
            continue
        else:
            org.name, org.level, org.parent_id = row.name, row.level, parent_id
            updated += 1
        session.add(org)
        session.flush()
        existing[row.code] = org
    _refresh_paths(session)
    session.commit()
    return ImportCounts(created, updated, unchanged)


def load_reference(session: Session) -> ImportCounts:
    """Load the shipped 7 regions and 42 ICBs (idempotent)."""
    text = REFERENCE_CSV.read_text(encoding="utf-8")
    return import_organisations(
        session, parse_organisations_csv(text, REFERENCE_CSV.name), "reference"
    )


def _refresh_paths(session: Session) -> None:
    """Recompute every organisation's ancestor-at-each-level columns from the parent links."""
    rows = session.exec(select(Organisation.id, Organisation.parent_id, Organisation.level)).all()
    parent_of = {org_id: parent_id for org_id, parent_id, _ in rows}
    level_of = {org_id: OrgLevel(level) for org_id, _, level in rows}
    current = {
        org.id: tuple(org.path_id(level) for level in OrgLevel)
        for org in session.exec(select(Organisation)).all()
    }
    for org_id in parent_of:
        path: dict[OrgLevel, int | None] = dict.fromkeys(OrgLevel)
        node: int | None = org_id
        while node is not None:
            path[level_of[node]] = node
            node = parent_of[node]
        values = tuple(path[level] for level in OrgLevel)
        if values != current[org_id]:
            session.exec(
                update(Organisation)
                .where(col(Organisation.id) == org_id)
                .values({level.path_column: path[level] for level in OrgLevel})
            )


def organisation_by_code(session: Session, code: str) -> Organisation | None:
    return session.exec(select(Organisation).where(Organisation.code == code)).first()


def within(scope: Organisation) -> object:
    """A SQL condition: the organisation is `scope` or lies under it."""
    return getattr(Organisation, scope.level.path_column) == scope.id


def is_within(org: Organisation, scopes: Iterable[Organisation]) -> bool:
    """True when `org` is one of `scopes` or lies under one of them."""
    return any(org.path_id(scope.level) == scope.id for scope in scopes)


def organisations_at_levels(session: Session, levels: Iterable[str]) -> list[Organisation]:
    """Organisations at any of `levels`, ordered by name."""
    wanted = [OrgLevel(level) for level in levels]
    return list(
        session.exec(
            select(Organisation)
            .where(col(Organisation.level).in_(wanted))
            .order_by(Organisation.name)
        ).all()
    )
