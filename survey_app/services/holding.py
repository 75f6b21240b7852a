"""Invited answers to anonymous surveys, held and released into responses in shuffled batches.

A submission through an invitation is one transaction: it marks the invitation used. Were the
response written by that transaction too, the database would pair them for anyone who can read
it: on PostgreSQL both rows carry the transaction's id (`xmin`), the dead row versions keep it
after the invitee's address is cleared, and the WAL records the two writes together. So for an
anonymous survey the claim stores the answers as one sealed row (`HeldSubmission`: a random id,
the wave, the submission as JSON; no invitation, no time finer than the date), and a release
moves the held rows of a wave into `response` and `answer` together, at least `MIN_BATCH` at a
time, in an order drawn at random, in a transaction that touches no invitation. It then rewrites
the holding table on PostgreSQL (VACUUM FULL) so the deleted held rows, which alone pair the
claim's transaction with the release's, are gone, bytes and all. A response can then be tied
to its invitation no better than one of the batch it was released in.

A release is idempotent and safe to run at once from several processes: it deletes the held
rows it moves in the transaction that inserts their responses (PostgreSQL: rows another release
has locked are skipped, `FOR UPDATE SKIP LOCKED`), so each is moved exactly once, and a failure
leaves them held for the next release. Releases run after a claim once `MIN_BATCH` are held for
its wave, when a wave is closed or the next one started (whatever is left, however few), from
`survey-app responses release-held` and from `survey-app purge`.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from survey_app.models import HeldSubmission, Response, Survey, SurveyStatus, Wave, stored_id
from survey_app.questions import ParsedAnswer
from survey_app.services.response_rows import NewResponse, store_responses

#: The fewest held submissions a release moves together while their wave is open.
MIN_BATCH = 10

#: How long the rewrite after a release waits for the holding table before it settles for a
#: plain VACUUM: every submission waits behind it meanwhile.
VACUUM_LOCK_TIMEOUT = "1s"

#: Puts a batch in the order its responses are inserted, and so numbered: at random.
Shuffle = Callable[[list[NewResponse]], None]
_RANDOM = secrets.SystemRandom()

log = logging.getLogger(__name__)


def holds(survey: Survey, invited: bool) -> bool:
    """Whether a submission to `survey` is held before it becomes a response: an invited
    answer to an anonymous survey. An open-link answer has no invitation to be paired with, and
    a survey on the record (the ICB leaders') promises no anonymity."""
    return invited and survey.anonymous


def hold(session: Session, new: NewResponse, submission_key: str | None) -> HeldSubmission:
    """Add `new` to the session's transaction (not committed) as a held submission; returns it.
    Its id is random and its payload the response's columns and answers as JSON."""
    response = new.response
    payload = {
        "organisation_id": response.organisation_id,
        "submitted_at": response.submitted_at.isoformat(),
        "on_record": response.on_record,
        "likert_first_question_id": response.likert_first_question_id,
        "likert_values": response.likert_values,
        "answers": [
            [question_id, parsed.value, parsed.option_id, parsed.text]
            for question_id, parsed in new.answers.items()
        ],
    }
    held = HeldSubmission(
        id=secrets.token_hex(16),
        survey_id=response.survey_id,
        wave_id=response.wave_id,
        organisation_id=response.organisation_id,
        submission_key=submission_key,
        payload=json.dumps(payload, separators=(",", ":")),
    )
    session.add(held)
    return held


def held_with_key(session: Session, submission_key: str) -> HeldSubmission | None:
    """The held submission sent from the form page `submission_key`, or None."""
    return session.exec(
        select(HeldSubmission).where(HeldSubmission.submission_key == submission_key)
    ).first()


def held_count(session: Session, wave_id: int) -> int:
    """How many submissions to the wave `wave_id` are held, not yet responses."""
    return session.exec(
        select(func.count()).select_from(HeldSubmission).where(HeldSubmission.wave_id == wave_id)
    ).one()


def engine_of(session: Session) -> Engine:
    """The engine `session` works on, for a release's transactions of its own."""
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def release_when_due(engine: Engine, wave_id: int) -> int:
    """After a claim has committed: release the wave's held submissions if at least
    `MIN_BATCH` are held; returns how many were moved. The claim stands whatever happens here:
    a database that fails now leaves them held for the next release (logged, not raised)."""
    try:
        return move_held(engine, wave_id)
    except OperationalError as error:
        log.warning("held submissions not released now, kept for the next release: %s", error)
        return 0


def move_held(
    engine: Engine, wave_id: int, min_batch: int = MIN_BATCH, shuffle: Shuffle | None = None
) -> int:
    """Move the held submissions of the wave `wave_id` into responses and answers, in one new
    transaction that touches no invitation, inserted in the order `shuffle` puts them in (by
    default a random permutation from the system's random source), then vacuum the holding
    table (PostgreSQL). Returns how many were moved: all those held and not being moved by
    another release, or none if they are fewer than `min_batch` (pass 1 to move whatever is
    held, as closing a wave does)."""
    table: Any = HeldSubmission.__table__  # type: ignore[attr-defined]
    with Session(engine, expire_on_commit=False) as session:
        # Counted first, so a release with nothing to do takes no write lock (SQLite has one).
        if held_count(session, wave_id) < min_batch:
            return 0
        session.rollback()
        if engine.dialect.name == "sqlite":
            # Deleted held rows are overwritten in the file, not left in its free pages.
            session.connection().exec_driver_sql("PRAGMA secure_delete = ON")
        # Deleted first, in the transaction that inserts the responses: a row is moved by the
        # release that deleted it, once, or by none if that one fails. Rows another release
        # holds are skipped rather than waited for.
        chosen = (
            select(table.c.id).where(table.c.wave_id == wave_id).with_for_update(skip_locked=True)
        )
        taken = session.execute(
            delete(table)
            .where(table.c.id.in_(chosen.scalar_subquery()))
            .returning(table.c.id, table.c.survey_id, table.c.submission_key, table.c.payload)
        ).all()
        if not taken or len(taken) < min_batch:
            session.rollback()
            return 0
        # The order deletion returned them in is the order they were stored in: sorted by
        # their random ids first, so not even an identity shuffle would keep it.
        batch = [
            _released(row.survey_id, wave_id, row.submission_key, row.payload)
            for row in sorted(taken, key=lambda row: row.id)
        ]
        (shuffle or _RANDOM.shuffle)(batch)
        store_responses(session, batch)
        session.commit()
    vacuum_holding(engine)
    return len(batch)


def _released(
    survey_id: int, wave_id: int, submission_key: str | None, payload_json: str
) -> NewResponse:
    payload = json.loads(payload_json)
    response = Response(
        survey_id=survey_id,
        wave_id=wave_id,
        organisation_id=payload["organisation_id"],
        submitted_at=datetime.fromisoformat(payload["submitted_at"]),
        on_record=payload["on_record"],
        likert_first_question_id=payload["likert_first_question_id"],
        likert_values=payload["likert_values"],
        submission_key=submission_key,
    )
    answers = {
        question_id: ParsedAnswer(value=value, option_id=option_id, text=text)
        for question_id, value, option_id, text in payload["answers"]
    }
    return NewResponse(response, answers)


def vacuum_holding(engine: Engine) -> None:
    """On PostgreSQL, vacuum and then rewrite the holding table and the answers saved
    part-way: their deleted row versions are the only rows that carried both a claim's
    transaction id and the answers (a held row's `xmax` is the release's, which every response
    of its batch carries). VACUUM removes them, as soon as no transaction of this database
    still running began before the release; it leaves their bytes, headers included, in the
    pages' free space, so VACUUM FULL then copies what is left into new files. Both tables are
    small, so the rewrite is quick; should it have to wait over `VACUUM_LOCK_TIMEOUT` for a
    submission in progress, it is left to the next release and a warning logged. Does nothing
    on SQLite, whose deleted rows the release overwrites (`secure_delete`)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # A plain VACUUM first: VACUUM FULL alone keeps every row some transaction anywhere on
        # the server might still see, while VACUUM looks only at this database's.
        connection.exec_driver_sql("VACUUM heldsubmission, savedanswers")
        connection.exec_driver_sql(f"SET lock_timeout = '{VACUUM_LOCK_TIMEOUT}'")
        try:
            connection.exec_driver_sql("VACUUM FULL heldsubmission, savedanswers")
        except OperationalError as error:
            log.warning("held submissions' tables not rewritten now: %s", error)
        finally:
            connection.exec_driver_sql("RESET lock_timeout")


@dataclass(frozen=True, slots=True)
class Released:
    """What a release moved for one wave."""

    survey_slug: str
    wave_number: int
    moved: int
    #: Still held after the release (fewer than a batch, of a wave still open).
    still_held: int


def release_held(
    engine: Engine, session: Session, now: datetime, survey: Survey | None = None
) -> list[Released]:
    """Release the held submissions of every wave (of `survey`, or of every survey) that has
    any: all of them for a wave closed at `now` (by hand or by its closing date), batches of
    at least `MIN_BATCH` for a wave still open. Returns what was moved per wave, in survey and
    wave order. `survey-app responses release-held` and `survey-app purge` call it."""
    statement = (
        select(Wave, Survey.slug)
        .join(Survey, col(Survey.id) == Wave.survey_id)
        .where(col(Wave.id).in_(select(HeldSubmission.wave_id).distinct()))
        .order_by(col(Survey.slug), col(Wave.number))
    )
    if survey is not None:
        statement = statement.where(Wave.survey_id == survey.id)
    waves = [
        (stored_id(wave), wave.number, slug, wave.status_at(now) == SurveyStatus.CLOSED)
        for wave, slug in session.exec(statement).all()
    ]
    # Ends the reading transaction: it must not hold back the vacuum that follows each move.
    session.rollback()
    results = []
    for wave_id, number, slug, closed in waves:
        moved = move_held(engine, wave_id, min_batch=1 if closed else MIN_BATCH)
        with Session(engine) as counting:
            left = held_count(counting, wave_id)
        results.append(Released(slug, number, moved, left))
    return results


def release_wave(session: Session, wave: Wave) -> int:
    """Release every submission held for `wave`, however few, in a transaction of its own
    after the session's has committed: its close, or the start of the next wave. Returns how
    many were moved."""
    if held_count(session, stored_id(wave)) == 0:
        # Nothing to release: no connection of its own (the demo builds its waves inside one
        # transaction, which a second connection would wait for).
        return 0
    return move_held(engine_of(session), stored_id(wave), min_batch=1)
