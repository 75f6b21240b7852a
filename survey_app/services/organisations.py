"""Organisations: import from CSV (upsert by code), the shipped reference data, and scopes."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import ColumnElement, func, or_, update
from sqlalchemy.orm import InstrumentedAttribute, aliased
from sqlmodel import Session, col, select

from survey_app.models import AuditAction, Organisation, OrgLevel
from survey_app.services import ServiceError
from survey_app.services.audit import COMMAND_LINE, Actor, record

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
    #: Rows of the file left out, such as practices it says have closed.
    skipped: int = 0


def parse_organisations_csv(
    text: str, source: str, max_rows: int = MAX_ORG_ROWS
) -> list[OrganisationRow]:
    """The rows of an organisations CSV (header `code,name,level,parent_code`).

    Refuses (ServiceError naming `source`, the row and the column) a wrong header, an empty code
    or name, an unknown level, a code given twice and more than `max_rows` rows.
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
        if len(rows) >= max_rows:
            raise ServiceError(
                f"{source}: more than {max_rows:,} rows, the most an import takes "
                "(MAX_IMPORT_ROWS); split the file"
            )
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
    session: Session,
    rows: Sequence[OrganisationRow],
    source: str,
    actor: Actor = COMMAND_LINE,
    parent_column: str = "parent_code",
) -> ImportCounts:
    """Create or update organisations by code, then commit with its audit event; all or
    nothing.

    Refuses (ServiceError naming the row and `parent_column`) a parent code that is neither in
    the file nor in the database, and a parent that is not at a wider level than its child.
    """
    existing = {org.code: org for org in session.exec(select(Organisation)).all()}
    levels = {code: org.level for code, org in existing.items()}
    levels.update({row.code: row.level for row in rows})
    for row in rows:
        if row.parent_code is None:
            if row.level != OrgLevel.REGION:
                raise ServiceError(
                    f"{source}, row {row.row_number}, column {parent_column}: is empty, but only a "
                    "region has no parent"
                )
            continue
        parent_level = levels.get(row.parent_code)
        if parent_level is None:
            raise ServiceError(
                f"{source}, row {row.row_number}, column {parent_column}: no organisation has code "
                f"{row.parent_code!r}"
            )
        if parent_level.rank >= row.level.rank:
            raise ServiceError(
                f"{source}, row {row.row_number}, column {parent_column}: "
                f"{row.level.with_article} cannot sit under {parent_level.with_article} "
                f"({row.parent_code})"
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
    record(
        session,
        AuditAction.ORGANISATIONS_IMPORTED,
        actor,
        target=source,
        details={"rows": len(rows), "created": created, "updated": updated, "unchanged": unchanged},
    )
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


def within(scope: Organisation) -> ColumnElement[bool]:
    """Return a SQL condition: the organisation is `scope` or lies under it. Refuses nothing."""
    ancestor: InstrumentedAttribute[int | None] = getattr(Organisation, scope.level.path_column)
    return ancestor == scope.id


def is_within(org: Organisation, scopes: Iterable[Organisation]) -> bool:
    """True when `org` is one of `scopes` or lies under one of them."""
    return any(org.path_id(scope.level) == scope.id for scope in scopes)


@dataclass(frozen=True, slots=True)
class OrganisationChoice:
    """An organisation as a respondent picks it from a list: plain values, which forms shared
    between requests may hold (an ORM object belongs to one request's session)."""

    id: int
    code: str
    name: str


def organisation_choices(session: Session, levels: Iterable[str]) -> tuple[OrganisationChoice, ...]:
    """The organisations at any of `levels`, ordered by name (then code)."""
    wanted = [OrgLevel(level) for level in levels]
    rows = session.exec(
        select(Organisation.id, Organisation.code, Organisation.name)
        .where(col(Organisation.level).in_(wanted))
        .order_by(Organisation.name, Organisation.code)
    ).all()
    return tuple(OrganisationChoice(*row) for row in rows)


def organisations_by_codes(session: Session, codes: Iterable[str]) -> list[Organisation]:
    """The organisations with `codes` (compared case-insensitively), in the order given.

    Refuses (ServiceError) naming every code no organisation has.
    """
    wanted = list(dict.fromkeys(code.strip().upper() for code in codes if code.strip()))
    found = session.exec(
        select(Organisation).where(func.upper(Organisation.code).in_(wanted))
    ).all()
    by_code = {org.code.upper(): org for org in found}
    unknown = [code for code in wanted if code not in by_code]
    if unknown:
        raise ServiceError(
            f"no organisation has the code{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}"
        )
    return [by_code[code] for code in wanted]


@dataclass(frozen=True, slots=True)
class OrganisationPage:
    """One page of a search: each organisation with its parent (None for a region)."""

    organisations: list[tuple[Organisation, Organisation | None]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search_organisations(
    session: Session,
    text: str | None = None,
    level: OrgLevel | None = None,
    page: int = 1,
    per_page: int = 50,
) -> OrganisationPage:
    """Organisations whose name or code contains `text` (any case), at `level` if given,
    ordered by name then code, `per_page` at a time; a page past the last gives the last."""
    parent = aliased(Organisation)
    conditions = []
    if text and text.strip():
        escaped = re.sub(r"([\\%_])", r"\\\1", text.strip().lower())
        pattern = f"%{escaped}%"
        conditions.append(
            or_(
                func.lower(Organisation.name).like(pattern, escape="\\"),
                func.lower(Organisation.code).like(pattern, escape="\\"),
            )
        )
    if level is not None:
        conditions.append(col(Organisation.level) == level)
    total = session.exec(select(func.count()).select_from(Organisation).where(*conditions)).one()
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    statement = (
        select(Organisation, parent)
        .outerjoin(parent, col(parent.id) == col(Organisation.parent_id))
        .where(*conditions)
        .order_by(col(Organisation.name), col(Organisation.code))
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return OrganisationPage(list(session.exec(statement).all()), total, page, per_page)


#: Header names a practice list may use, by what the column holds, in order of preference;
#: compared lower-case with every run of spaces, underscores and punctuation read as one space.
#: They are the headers of the NHS Organisation Data Service's CSV downloads (its practice
#: export and "epraccur" with its header row) and of a PCN membership list.
PRACTICE_LIST_HEADERS: dict[str, tuple[str, ...]] = {
    "code": (
        "organisation code",
        "organization code",
        "practice code",
        "partner organisation code",
        "ods code",
        "org code",
    ),
    "name": ("name", "organisation name", "organization name", "practice name", "partner name"),
    "parent": (
        "pcn code",
        "pcn",
        "parent organisation code",
        "parent organization code",
        "parent code",
        "commissioner",
        "commissioner code",
    ),
    "status": ("status code", "status"),
}
#: Status values of a practice that has closed: epraccur's code C, the ODS search's "Inactive".
CLOSED_PRACTICE_STATUSES = frozenset({"c", "closed", "inactive"})


@dataclass(frozen=True, slots=True)
class OrganisationFile:
    """An organisations file as read, before it is stored."""

    rows: list[OrganisationRow]
    #: The header of the column holding parent codes, so messages name it as the file does.
    parent_column: str = "parent_code"
    #: Practices left out because the file says they have closed.
    closed: int = 0


def _header_key(cell: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", cell.lower()).strip()


def read_organisation_file(
    text: str, source: str, max_rows: int = MAX_ORG_ROWS
) -> OrganisationFile:
    """The organisations in a CSV: the `code,name,level,parent_code` format when its first
    column is `code`, otherwise a practice list whose columns are found by header name
    (`PRACTICE_LIST_HEADERS`), every row a practice under the organisation in its parent column.

    Refuses (ServiceError naming `source`, the row and the column) what either format refuses.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None) or []
    if not header or _header_key(header[0]) == "code":
        return OrganisationFile(parse_organisations_csv(text, source, max_rows))
    keys = [_header_key(cell) for cell in header]
    found: dict[str, int] = {}
    for role, names in PRACTICE_LIST_HEADERS.items():
        for name in names:
            if name in keys:
                found[role] = keys.index(name)
                break
    if not {"code", "name", "parent"} <= set(found):
        raise ServiceError(
            f"{source}: the header must be {','.join(ORG_CSV_HEADER)}, or that of a practice "
            "list naming the practice's code (Organisation Code), its name (Name) and the code "
            "of the organisation it sits under (PCN Code, Parent Organisation Code or "
            f"Commissioner); found {','.join(cell.strip() for cell in header)}"
        )
    columns = {role: header[index].strip() for role, index in found.items()}
    rows: list[OrganisationRow] = []
    seen: dict[str, int] = {}
    closed = 0
    for row_number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) >= max_rows:
            raise ServiceError(f"{source}: more than {max_rows:,} rows; split the file")
        if len(cells) != len(header):
            raise ServiceError(
                f"{source}, row {row_number}: expected {len(header)} columns as in the header, "
                f"found {len(cells)}"
            )
        value = {role: cells[index].strip() for role, index in found.items()}
        if value.get("status", "").lower() in CLOSED_PRACTICE_STATUSES:
            closed += 1
            continue
        where = f"{source}, row {row_number}, column"
        code, name, parent_code = value["code"], value["name"], value["parent"]
        for role, limit in (("code", 20), ("name", 200), ("parent", 20)):
            if not value[role]:
                raise ServiceError(f"{where} {columns[role]}: is empty")
            if len(value[role]) > limit:
                raise ServiceError(f"{where} {columns[role]}: longer than {limit} characters")
        if code in seen:
            raise ServiceError(f"{where} {columns['code']}: {code!r} is also on row {seen[code]}")
        seen[code] = row_number
        rows.append(OrganisationRow(code, name, OrgLevel.PRACTICE, parent_code, row_number))
    return OrganisationFile(rows, columns["parent"], closed)


def import_organisation_file(
    session: Session,
    text: str,
    source: str,
    actor: Actor = COMMAND_LINE,
    max_rows: int = MAX_ORG_ROWS,
) -> ImportCounts:
    """Read an organisations CSV in either format (`read_organisation_file`) and store it
    (`import_organisations`), all or nothing; returns the counts, with the closed practices
    left out as `skipped`. Refuses (ServiceError naming the row and column) what they refuse,
    and a NUL character anywhere.
    """
    if "\x00" in text:
        # PostgreSQL cannot store it; only a broken export or a binary file holds one.
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ServiceError(f"{source}, row {line}: contains a NUL character (code 0)")
    organisation_file = read_organisation_file(text, source, max_rows)
    counts = import_organisations(
        session,
        organisation_file.rows,
        source,
        actor,
        parent_column=organisation_file.parent_column,
    )
    return replace(counts, skipped=organisation_file.closed)
