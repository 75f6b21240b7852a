"""Rendered PDF reports kept in the database by what they show, so every host serves them.

A report is named by the SHA-256 of its data fingerprint (the summary's canonical JSON), its
parameters and the software version (`report_key`): the same data and request give the same
name, so a report is rendered once however often and on whichever host it is downloaded, and
new responses give a new name. A row is `pending` while a worker renders it (claimed by one
conditional write, so two hosts asked at once start one render), then `ready` with the PDF or
`failed` with the reason. A PDF over `REPORT_MAX_BYTES` is refused; rows are deleted
`REPORT_KEEP_HOURS` after they were finished, whenever a report is stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from survey_app.models import StoredReport

#: A render pending longer than this belongs to a worker that died (killed, host lost): the
#: report may be asked for again.
STALE_AFTER = timedelta(minutes=10)

PENDING, READY, FAILED = "pending", "ready", "failed"


@dataclass(frozen=True, slots=True)
class ReportState:
    """Where a report stands: `ready`, `pending` (since `started_at`, UTC), `failed` (with the
    reason) or `missing`."""

    status: str
    started_at: datetime | None = None
    error: str | None = None
    size: int = 0

    def seconds_waited(self, now: datetime | None = None) -> int:
        """Whole seconds since the render started (0 when it has not)."""
        if self.started_at is None:
            return 0
        return max(0, int(((now or utcnow()) - self.started_at).total_seconds()))


def utcnow() -> datetime:
    """Now in UTC, naive, as the table stores it (SQLite keeps no time zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


def report_key(
    fingerprint: str,
    slug: str,
    scope: str | None,
    by: str | None,
    version: str,
    wave: Mapping[str, object] | None = None,
    figures_as_of: date | None = None,
) -> str:
    """The name of one report, of the wave `wave` names (the summary's ``{"number",
    "name"}``): two waves with the same figures are still two reports, each titled with its
    own wave; so are two days' snapshots of an open wave (`figures_as_of`), each dated on its
    cover."""
    wave_text = f"wave {wave['number']}: {wave['name']}" if wave else ""
    material = [fingerprint, slug, scope or "", by or "", version, wave_text]
    if figures_as_of is not None:
        material.append(f"figures as of {figures_as_of.isoformat()}")
    return hashlib.sha256("\n".join(material).encode("utf-8")).hexdigest()


def report_state(session: Session, key: str, now: datetime | None = None) -> ReportState:
    """The state of report `key` (a stale pending render counts as missing)."""
    row = session.exec(
        select(
            StoredReport.status, StoredReport.started_at, StoredReport.error, StoredReport.size
        ).where(StoredReport.key == key)
    ).first()
    if row is None:
        return ReportState("missing")
    status, started_at, error, size = row
    if status == PENDING and started_at < (now or utcnow()) - STALE_AFTER:
        return ReportState("missing")
    return ReportState(status, started_at=started_at, error=error or None, size=size)


def read_report(session: Session, key: str) -> bytes | None:
    """The PDF of report `key` if it is ready, else None."""
    return session.exec(
        select(StoredReport.pdf).where(StoredReport.key == key, StoredReport.status == READY)
    ).first()


def claim_render(
    session: Session, key: str, user_id: int | None, now: datetime | None = None
) -> bool:
    """Mark report `key` pending for `user_id`, committed, unless it is ready or another
    render of it is under way. True when this caller is the one to start its render: of two
    hosts asked at once, one is."""
    now = now or utcnow()
    values = {"key": key, "status": PENDING, "user_id": user_id, "started_at": now}
    values |= {"error": "", "size": 0}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING says whether a row was written (psycopg reports no row count for this).
    inserted = session.execute(
        insert(StoredReport)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(col(StoredReport.key))
    )
    claimed = inserted.first() is not None
    if not claimed:
        # A failed render, or one whose worker died, may be started again.
        retried = session.execute(
            update(StoredReport)
            .where(
                col(StoredReport.key) == key,
                or_(
                    col(StoredReport.status) == FAILED,
                    (col(StoredReport.status) == PENDING)
                    & (col(StoredReport.started_at) < now - STALE_AFTER),
                ),
            )
            .values(status=PENDING, user_id=user_id, started_at=now, error="", finished_at=None)
            .returning(col(StoredReport.key))
        )
        claimed = retried.first() is not None
    session.commit()
    return claimed


def renders_pending(session: Session, user_id: int | None, now: datetime | None = None) -> int:
    """How many renders `user_id` asked for are queued or running (stale ones aside)."""
    cutoff = (now or utcnow()) - STALE_AFTER
    return session.exec(
        select(func.count())
        .select_from(StoredReport)
        .where(
            StoredReport.user_id == user_id,
            StoredReport.status == PENDING,
            col(StoredReport.started_at) >= cutoff,
        )
    ).one()


def store_report(
    session: Session,
    key: str,
    pdf: bytes,
    *,
    max_bytes: int,
    keep: timedelta,
    now: datetime | None = None,
) -> bool:
    """Keep `pdf` as report `key`, committed, and delete reports finished more than `keep`
    ago. A PDF over `max_bytes` is not kept: the report is marked failed, saying so. True when
    it was kept."""
    now = now or utcnow()
    if len(pdf) > max_bytes:
        reason = (
            f"The report is {len(pdf) / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB a stored "
            "report may be (REPORT_MAX_BYTES); ask for a smaller scope or no grouping."
        )
        mark_failed(session, key, reason, now)
        return False
    row = session.get(StoredReport, key)
    if row is None:
        row = StoredReport(key=key, status=READY, started_at=now)
    row.status, row.pdf, row.size, row.error, row.finished_at = READY, pdf, len(pdf), "", now
    session.add(row)
    session.execute(
        delete(StoredReport).where(
            col(StoredReport.key) != key,
            or_(
                col(StoredReport.finished_at) < now - keep,
                col(StoredReport.started_at) < now - max(keep, STALE_AFTER),
            ),
        )
    )
    session.commit()
    return True


def mark_failed(session: Session, key: str, reason: str, now: datetime | None = None) -> None:
    """Report `key` could not be made, for `reason` (shown to whoever waits for it), committed."""
    now = now or utcnow()
    row = session.get(StoredReport, key) or StoredReport(key=key, status=FAILED, started_at=now)
    row.status, row.pdf, row.size, row.error, row.finished_at = FAILED, None, 0, reason, now
    session.add(row)
    session.commit()


def forget_reports(session: Session) -> int:
    """Delete every stored report, committed: after responses are deleted, a kept report may
    still show them. Returns how many were deleted; later downloads render afresh."""
    deleted = session.execute(delete(StoredReport))
    session.commit()
    return int(deleted.rowcount)  # type: ignore[attr-defined]
