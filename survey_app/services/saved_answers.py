"""Answers an invitee has given part-way through a survey, kept so the same link resumes it.

An open link keeps nothing between pages (the answers travel in the form itself). An invitation
also keeps them on the server, one `SavedAnswers` row per invitation, so that opening the link in
another browser, or after a restart, carries on where the invitee stopped. The row ties answers
to an invitation, so it lives only while the invitee is answering: `submit_response` deletes it
in the transaction that stores the response, and closing a wave deletes its wave's rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from survey_app.models import Invitation, SavedAnswers, Survey, SurveyStatus, Wave, stored_id
from survey_app.services.responses import utcnow


@dataclass(frozen=True, slots=True)
class Resumable:
    """Saved answers as read back: by form field name, and the first page not completed."""

    answers: dict[str, str]
    page: int
    saved_at: datetime


def save_answers(
    session: Session, invitation: Invitation, answers: Mapping[str, str], page: int
) -> bool:
    """Keep `answers` (form field name: value as sent) and `page`, the first page not yet
    completed, for `invitation`, replacing what it kept before; committed. Returns False,
    keeping nothing, when the invitation has been used.

    The invitation's row is locked first (a no-op UPDATE of an unused invitation), so a
    submission of the same link in another tab, which deletes the saved answers as it marks
    the invitation used, is wholly before or after this: never are answers saved again for a
    used invitation, where they would tie the stored response to it.
    """
    try:
        locked = session.exec(
            update(Invitation)
            .where(col(Invitation.id) == invitation.id, col(Invitation.used_at).is_(None))
            .values(used_at=None)
        )
        if locked.rowcount != 1:
            session.rollback()
            return False
        saved = session.exec(
            select(SavedAnswers).where(SavedAnswers.invitation_id == invitation.id)
        ).first()
        if saved is None:
            saved = SavedAnswers(
                invitation_id=stored_id(invitation), answers="{}", saved_at=utcnow()
            )
        saved.answers = json.dumps(dict(answers), ensure_ascii=False, separators=(",", ":"))
        saved.page = page
        saved.saved_at = utcnow()
        session.add(saved)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return True


def saved_answers_for(session: Session, invitation: Invitation) -> Resumable | None:
    """What `invitation` kept, or None if nothing. A row that does not hold a JSON object of
    texts (never written so) reads as nothing kept rather than failing the page."""
    saved = session.exec(
        select(SavedAnswers).where(SavedAnswers.invitation_id == invitation.id)
    ).first()
    if saved is None:
        return None
    try:
        answers = json.loads(saved.answers)
    except ValueError:
        return None
    if not isinstance(answers, dict):
        return None
    texts = {name: value for name, value in answers.items() if isinstance(value, str)}
    return Resumable(texts, max(saved.page, 0), saved.saved_at)


def discard_wave_saved_answers(session: Session, wave: Wave) -> int:
    """Delete the saved answers of `wave`'s invitations, in the session's transaction (not
    committed); returns how many. Once a wave closes its links no longer open, so what they
    kept can never be sent."""
    invitations = select(Invitation.id).where(Invitation.wave_id == wave.id)
    deleted = session.exec(
        delete(SavedAnswers).where(col(SavedAnswers.invitation_id).in_(invitations))
    )
    return deleted.rowcount


def discard_closed_waves_saved_answers(
    session: Session, now: datetime, survey: Survey | None = None
) -> int:
    """Delete the saved answers of invitations to every wave (of `survey`, or of every survey)
    closed at `now`, by hand or by its closing date, in the session's transaction (not
    committed); returns how many. A wave closed by its date has no moment of closing that
    could delete them, so `survey-app purge` does."""
    holding = (
        select(Invitation.wave_id)
        .join(SavedAnswers, col(SavedAnswers.invitation_id) == col(Invitation.id))
        .distinct()
    )
    statement = select(Wave).where(col(Wave.id).in_(holding))
    if survey is not None:
        statement = statement.where(Wave.survey_id == survey.id)
    return sum(
        discard_wave_saved_answers(session, wave)
        for wave in session.exec(statement).all()
        if wave.status_at(now) == SurveyStatus.CLOSED
    )
