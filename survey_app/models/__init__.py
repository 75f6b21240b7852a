"""SQLModel tables, one module per aggregate."""

from survey_app.models.audit import AuditAction, AuditEvent
from survey_app.models.ids import stored_id
from survey_app.models.organisations import Organisation, OrgLevel
from survey_app.models.responses import (
    Answer,
    HeldSubmission,
    Invitation,
    Response,
    SavedAnswers,
)
from survey_app.models.stored_reports import StoredReport
from survey_app.models.surveys import (
    ChoiceOption,
    InvalidTransition,
    Question,
    QuestionType,
    ScalePoint,
    Survey,
    SurveyStatus,
    TextTheme,
    Theme,
    Wave,
)
from survey_app.models.users import Role, User, UserScope

__all__ = [
    "Answer",
    "AuditAction",
    "AuditEvent",
    "ChoiceOption",
    "HeldSubmission",
    "InvalidTransition",
    "Invitation",
    "OrgLevel",
    "Organisation",
    "Question",
    "QuestionType",
    "Response",
    "Role",
    "SavedAnswers",
    "ScalePoint",
    "StoredReport",
    "Survey",
    "SurveyStatus",
    "TextTheme",
    "Theme",
    "User",
    "UserScope",
    "Wave",
    "stored_id",
]
