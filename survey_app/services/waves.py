"""A survey's waves: opening and closing the current one (forgetting its invitees' addresses),
setting its dates, starting the next, and listing them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from survey_app.models import (
    AuditAction,
    Invitation,
    Response,
    Survey,
    SurveyStatus,
    Wave,
    stored_id,
)
from survey_app.models.surveys import default_wave_name
from survey_app.services import FieldError, ServiceError
from survey_app.services import responses as response_service
from survey_app.services.audit import COMMAND_LINE, Actor, record
from survey_app.services.holding import release_wave
from survey_app.services.saved_answers import (
    discard_closed_waves_saved_answers,
    discard_wave_saved_answers,
)
from survey_app.services.surveys import MAX_WAVE_NAME


def open_survey(session: Session, survey: Survey, actor: Actor = COMMAND_LINE) -> Survey:
    """Open the current wave of `survey` for responses, committed with its audit event;
    returns the survey. Refuses (InvalidTransition) a wave already open, or past its closing
    date."""
    survey.current_wave.open(response_service.utcnow())
    return _status_changed(session, survey, AuditAction.SURVEY_OPENED, actor)


def close_survey(session: Session, survey: Survey, actor: Actor = COMMAND_LINE) -> Survey:
    """Close the current wave of `survey` to responses, and forget the addresses of its
    invitations and the answers its invitees saved part-way, committed with its audit event;
    then release its held submissions, however few (`holding`). Returns the survey. Refuses
    (InvalidTransition) a wave that is not open."""
    wave = survey.current_wave
    wave.close(response_service.utcnow())
    forget_wave_addresses(session, wave)
    discard_wave_saved_answers(session, wave)
    closed = _status_changed(session, survey, AuditAction.SURVEY_CLOSED, actor)
    # Its last invited answers, however few, become responses for its report.
    release_wave(session, wave)
    return closed


def _status_changed(session: Session, survey: Survey, action: AuditAction, actor: Actor) -> Survey:
    wave = survey.current_wave
    session.add(wave)
    record(session, action, actor, target=survey.slug, details={"wave": wave.number})
    session.commit()
    return survey


def forget_wave_addresses(session: Session, wave: Wave) -> int:
    """Clear the invitee addresses of `wave`'s invitations, in the session's transaction (not
    committed); returns how many were cleared. Addresses are kept only to send a wave's
    invitations and reminders, so only while it is open."""
    cleared = session.exec(
        update(Invitation)
        .where(col(Invitation.wave_id) == wave.id, col(Invitation.email).is_not(None))
        .values(email=None)
    )
    return cleared.rowcount


def forget_closed_wave_addresses(
    session: Session, now: datetime, survey: Survey | None = None, dry_run: bool = False
) -> int:
    """Clear the invitee addresses of every wave (of `survey`, or of every survey) closed at
    `now`, by hand or by its closing date, committed; returns how many addresses were cleared,
    or with `dry_run` would be, clearing none. `survey-app purge` calls it, since a wave closed
    by its date has no moment of closing that could clear them."""
    holding = select(Invitation.wave_id).where(col(Invitation.email).is_not(None)).distinct()
    statement = select(Wave).where(col(Wave.id).in_(holding))
    if survey is not None:
        statement = statement.where(Wave.survey_id == survey.id)
    closed = [
        wave for wave in session.exec(statement).all() if wave.status_at(now) == SurveyStatus.CLOSED
    ]
    if dry_run:
        return sum(_address_count(session, wave) for wave in closed)
    cleared = sum(forget_wave_addresses(session, wave) for wave in closed)
    # Answers saved part-way through a closed wave's links can never be sent: they go too.
    discard_closed_waves_saved_answers(session, now, survey)
    session.commit()
    return cleared


def _address_count(session: Session, wave: Wave) -> int:
    statement = select(func.count()).where(
        Invitation.wave_id == wave.id, col(Invitation.email).is_not(None)
    )
    return session.exec(statement).one()


def start_wave(
    session: Session,
    survey: Survey,
    name: str | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    actor: Actor = COMMAND_LINE,
) -> Wave:
    """Start the next wave of `survey` for a new period, committed with its audit event;
    returns it. The new wave is numbered one past the current one, named `name` (default
    "Wave N"), and waits as a draft to be opened by hand or by its opening date `opens_at`
    (UTC); `closes_at` closes it by itself. The addresses of the wave before are forgotten and
    its held submissions released.

    Refuses (FieldError, naming the field) a name over 120 characters and a closing date not
    after the opening date or already past; (ServiceError) a current wave not closed now, and
    a wave started by someone else at the same moment.
    """
    now = response_service.utcnow()
    current = survey.current_wave
    status = current.status_at(now)
    if status != SurveyStatus.CLOSED:
        raise ServiceError(
            f"{current.label} is {status.value}: close it before starting wave {current.number + 1}"
        )
    name = (name or "").strip()
    if len(name) > MAX_WAVE_NAME:
        raise FieldError("name", f"at most {MAX_WAVE_NAME} characters, not {len(name)}")
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise FieldError("closes", "the closing date must be after the opening date")
    if closes_at is not None and closes_at <= now:
        raise FieldError("closes", "the closing date must be in the future")
    wave = Wave(
        survey_id=stored_id(survey),
        number=current.number + 1,
        name=name or default_wave_name(current.number + 1),
        opens_at=opens_at,
        closes_at=closes_at,
        created_at=now,
    )
    survey.waves.append(wave)
    forget_wave_addresses(session, current)
    discard_wave_saved_answers(session, current)
    record(
        session,
        AuditAction.WAVE_STARTED,
        actor,
        target=survey.slug,
        details={
            "wave": wave.number,
            "name": wave.name,
            "opens_at": _iso(opens_at),
            "closes_at": _iso(closes_at),
        },
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ServiceError(
            f"wave {wave.number} of {survey.slug} was started by someone else at the same moment"
        ) from None
    # A wave closed by its date has had no close to release what it held.
    release_wave(session, current)
    return wave


@dataclass(frozen=True, slots=True)
class WaveListing:
    """A wave as the waves page and `waves list` show it."""

    wave: Wave
    #: What respondents meet now: the stored status as the opening and closing dates move it.
    status: SurveyStatus
    responses: int
    invitations: int


def wave_listing(session: Session, survey: Survey) -> list[WaveListing]:
    """Every wave of `survey`, by number, with its status now and its numbers of responses
    and invitations."""
    responses = dict(
        session.exec(
            select(Response.wave_id, func.count())
            .where(Response.survey_id == survey.id)
            .group_by(col(Response.wave_id))
        ).all()
    )
    invitations = dict(
        session.exec(
            select(Invitation.wave_id, func.count())
            .where(Invitation.survey_id == survey.id)
            .group_by(col(Invitation.wave_id))
        ).all()
    )
    now = response_service.utcnow()
    return [
        WaveListing(
            wave,
            wave.status_at(now),
            responses.get(stored_id(wave), 0),
            invitations.get(stored_id(wave), 0),
        )
        for wave in survey.waves
    ]


def list_waves(session: Session, survey: Survey) -> list[dict[str, object]]:
    """Every wave of `survey` as `{"number", "name", "status", "opens_at", "closes_at",
    "responses", "invitations"}`, by number; the status is the one respondents meet now and
    the dates are ISO 8601 UTC (None for no date)."""
    return [
        {
            "number": entry.wave.number,
            "name": entry.wave.name,
            "status": entry.status.value,
            "opens_at": _iso(entry.wave.opens_at),
            "closes_at": _iso(entry.wave.closes_at),
            "responses": entry.responses,
            "invitations": entry.invitations,
        }
        for entry in wave_listing(session, survey)
    ]


def set_survey_dates(
    session: Session,
    survey: Survey,
    opens_at: datetime | None,
    closes_at: datetime | None,
    actor: Actor = COMMAND_LINE,
) -> Survey:
    """Set when the current wave of `survey` opens and closes by itself (UTC; None for no
    date), committed with an audit event naming the dates before and after; returns the
    survey. An opening date still to come makes the wave wait for it, even one closed or open
    before. Refuses (ServiceError) a closing date not after the opening date.
    """
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise ServiceError("the closing date must be after the opening date")
    wave = survey.current_wave
    before = {"opens_at": _iso(wave.opens_at), "closes_at": _iso(wave.closes_at)}
    wave.opens_at, wave.closes_at = opens_at, closes_at
    if opens_at is not None and opens_at > response_service.utcnow():
        wave.status = SurveyStatus.DRAFT
        wave.closed_at = None
    session.add(wave)
    record(
        session,
        AuditAction.SURVEY_DATES_SET,
        actor,
        target=survey.slug,
        details={
            "wave": wave.number,
            "before": before,
            "after": {"opens_at": _iso(opens_at), "closes_at": _iso(closes_at)},
        },
    )
    session.commit()
    return survey


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
