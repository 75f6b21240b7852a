"""The audit log: who signed in, read which report, imported or changed what, and when."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


class AuditAction(enum.StrEnum):
    """What an audit event records. Stored as its value in a plain string column, so a new
    action needs no change to the schema."""

    SIGN_IN = "sign-in"
    SIGN_IN_FAILED = "sign-in-failed"
    SIGN_OUT = "sign-out"
    REPORT_VIEWED = "report-viewed"
    REPORT_DOWNLOADED = "report-downloaded"
    REPORT_EXPORTED = "report-exported"
    ORGANISATIONS_IMPORTED = "organisations-imported"
    RESPONSES_IMPORTED = "responses-imported"
    USER_CREATED = "user-created"
    USER_ACCESS_CHANGED = "user-access-changed"
    USER_DEACTIVATED = "user-deactivated"
    USER_REACTIVATED = "user-reactivated"
    SURVEY_LOADED = "survey-loaded"
    SURVEY_OPENED = "survey-opened"
    SURVEY_CLOSED = "survey-closed"
    SURVEY_DATES_SET = "survey-dates-set"
    WAVE_STARTED = "wave-started"
    RETENTION_SET = "retention-set"
    RESPONSES_PURGED = "responses-purged"
    RESPONSE_DELETED = "response-deleted"
    #: Invitations: details hold counts only, never an address.
    LEARNERS_INVITED = "learners-invited"
    INVITATION_LINKS_CREATED = "invitation-links-created"
    INVITATIONS_SENT = "invitations-sent"
    REMINDERS_SENT = "reminders-sent"

    @property
    def label(self) -> str:
        """The action as a person reads it: "Report downloaded"."""
        return self.value.replace("-", " ").capitalize()


class AuditEvent(SQLModel, table=True):
    """One thing that happened. Never holds a password or an answer."""

    id: int | None = Field(default=None, primary_key=True)
    #: UTC, to the microsecond.
    occurred_at: datetime = Field(index=True)
    #: The signed-in user who acted, if any; null for the command line and failed sign-ins.
    actor_user_id: int | None = Field(
        default=None, foreign_key="user.id", index=True, ondelete="SET NULL"
    )
    #: Who acted, as text that outlives the user row: an email, the email typed at a failed
    #: sign-in, or "cli".
    actor: str = Field(max_length=254)
    #: An `AuditAction` value.
    action: str = Field(max_length=40, index=True)
    #: What was acted on: a survey slug, a file name, a user's email.
    target: str = Field(default="", max_length=500)
    #: Further facts as JSON: a report's scope and format, a file's row counts.
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: The client address of a web request; null for the command line.
    remote_addr: str | None = Field(default=None, max_length=45)
