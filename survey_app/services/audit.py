"""The audit log: one `record` for every event, and the listing admins read.

`record` adds the event to the session without committing, so an event describing a change is
committed by the same transaction as the change and is never stored for a change that failed.
An event with no change of its own (a sign-in, a report download) is committed by its caller.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from survey_app.models import AuditAction, AuditEvent, User
from survey_app.services import ServiceError

#: The longest actor text kept: an email address's limit. A failed sign-in stores what was
#: typed in the email box, cut to this length.
MAX_ACTOR_LENGTH = 254
MAX_TARGET_LENGTH = 500


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something: a signed-in user (with the address of their request), or a process
    named by text such as "cli"."""

    name: str
    user_id: int | None = None
    remote_addr: str | None = None

    @classmethod
    def of_user(cls, user: User, remote_addr: str | None = None) -> Actor:
        """The signed-in `user`, acting from `remote_addr`."""
        return cls(name=user.email, user_id=user.id, remote_addr=remote_addr)


#: Whoever runs `survey-app` on the server: the command line has no signed-in user.
COMMAND_LINE = Actor(name="cli")


def record(
    session: Session,
    action: AuditAction,
    actor: Actor,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to `session` (not committed: the caller's commit stores it together
    with the change it describes); returns the event.

    Refuses (ServiceError) an action that is not an `AuditAction`. `details` must be JSON
    values and must never hold a password or an answer's text.
    """
    if not isinstance(action, AuditAction):
        raise ServiceError(f"{action!r} is not an audit action")
    event = AuditEvent(
        occurred_at=datetime.now(UTC),
        actor_user_id=actor.user_id,
        actor=actor.name[:MAX_ACTOR_LENGTH],
        action=action.value,
        target=target[:MAX_TARGET_LENGTH],
        details=details or {},
        remote_addr=actor.remote_addr,
    )
    session.add(event)
    return event


def list_events(
    session: Session, action: AuditAction | None = None, limit: int = 50, offset: int = 0
) -> list[AuditEvent]:
    """Events newest first, `limit` of them after skipping `offset`, of one action or all."""
    statement = select(AuditEvent).order_by(
        col(AuditEvent.occurred_at).desc(), col(AuditEvent.id).desc()
    )
    if action is not None:
        statement = statement.where(AuditEvent.action == action.value)
    return list(session.exec(statement.offset(offset).limit(limit)).all())


def count_events(session: Session, action: AuditAction | None = None) -> int:
    """How many events there are of one action, or of all."""
    statement = select(func.count()).select_from(AuditEvent)
    if action is not None:
        statement = statement.where(AuditEvent.action == action.value)
    return session.exec(statement).one()


def parse_action(raw: str | None) -> AuditAction | None:
    """The action named by `raw` (its value, e.g. "sign-in"), None for empty; refuses
    (ServiceError) any other text, naming the actions there are."""
    if not raw:
        return None
    try:
        return AuditAction(raw)
    except ValueError:
        raise ServiceError(
            f"{raw!r} is not an audit action; the actions are "
            f"{', '.join(action.value for action in AuditAction)}"
        ) from None


def event_as_dict(event: AuditEvent) -> dict[str, Any]:
    """An event as JSON values, for `survey-app audit list --format json`."""
    return {
        "id": event.id,
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor,
        "actor_user_id": event.actor_user_id,
        "action": event.action,
        "target": event.target,
        "details": event.details,
        "remote_addr": event.remote_addr,
    }


def describe_details(details: dict[str, Any]) -> str:
    """An event's details as one line a person reads: "format: pdf; scope: QKS"."""
    return "; ".join(
        f"{key.replace('_', ' ')}: {_detail_text(value)}" for key, value in details.items()
    )


def _detail_text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
