"""Forms of the administrators' pages: organisations, users and surveys."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask_wtf.file import FileField, FileRequired, FileSize
from sqlmodel import Session
from wtforms import (
    DateTimeLocalField,
    EmailField,
    Field,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from forms.base import PageForm
from survey_app.models import Organisation, OrgLevel, Role, User
from survey_app.services import ServiceError
from survey_app.services.organisations import organisations_by_codes
from survey_app.services.surveys import MAX_WAVE_NAME
from survey_app.services.users import MIN_PASSWORD_LENGTH

#: The time zone administrators enter and read dates in; the database keeps UTC.
UK_TIME = ZoneInfo("Europe/London")
#: The largest file an administrator may upload (MAX_CONTENT_LENGTH caps the whole request too).
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
LOCAL_TIME_FORMAT = "%Y-%m-%dT%H:%M"

ROLE_CHOICES = [
    SelectChoice(Role.LEAD.value, "Quality lead: reports for their organisations only"),
    SelectChoice(Role.ADMIN.value, "Administrator: every report, and these administration pages"),
]


def uk_time(moment: datetime | None) -> datetime | None:
    """A stored UTC time as UK clock time, or None."""
    return moment.astimezone(UK_TIME) if moment is not None else None


def _utc(local: datetime | None) -> datetime | None:
    """A UK clock time typed into a form as UTC, or None."""
    return local.replace(tzinfo=UK_TIME).astimezone(UTC) if local is not None else None


class OrganisationSearchForm(PageForm):
    """Which organisations to list: a GET form that changes nothing."""

    class Meta:
        csrf = False

    q = StringField("Name or code", validators=[Optional(), Length(max=200)])
    level = SelectField(
        "Level",
        choices=[SelectChoice("", "Any level")]
        + [SelectChoice(level.value, level.label) for level in OrgLevel],
        validators=[Optional()],
    )

    def chosen_level(self) -> OrgLevel | None:
        return OrgLevel(self.level.data) if self.level.data else None


class UploadForm(PageForm):
    """One file, up to 2 MB: an organisations CSV or a survey definition."""

    file = FileField(
        "File",
        validators=[
            FileRequired("Choose a file to upload"),
            FileSize(MAX_UPLOAD_BYTES, message="The file must be smaller than 2 MB"),
        ],
    )

    def file_bytes(self) -> tuple[bytes, str]:
        """The uploaded file's content and its name (without any folder); after `validate()`."""
        upload = self.file.data
        name = re.split(r"[\\/]", upload.filename or "upload")[-1] or "upload"
        return upload.read(), name


class CsvUploadForm(UploadForm):
    """A CSV file, read as UTF-8 text into `text` (named `filename`) when the form validates."""

    text: str = ""
    filename: str = ""

    def validate_file(self, _field: Field) -> None:
        raw, self.filename = self.file_bytes()
        try:
            self.text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(
                f"{self.filename} is not UTF-8 text. In Excel, save it as "
                "“CSV UTF-8 (comma delimited)”, then upload it again"
            ) from None


class ActionForm(PageForm):
    """Only its CSRF token: a button that changes something (open, close, deactivate...)."""


class ScopeCodesField(StringField):
    """Organisation codes separated by commas or spaces, read into the organisations they
    name (`organisations`) when the form validates."""

    organisations: list[Organisation]

    def codes(self) -> list[str]:
        return [code for code in re.split(r"[\s,;]+", self.data or "") if code]


class UserAccessForm(PageForm):
    """A user's role and, for a lead, the organisations they see everything under.

    `session` is needed to look the codes up: pass it as `UserAccessForm(session=...)`.
    """

    role = RadioField(
        "Role",
        choices=ROLE_CHOICES,
        validators=[DataRequired("Select a role")],
        default=Role.LEAD.value,
    )
    scopes = ScopeCodesField(
        "Organisations this quality lead may see",
        description=(
            "Organisation codes separated by commas, for example QKS or H-EK. The lead sees "
            "each organisation and everything under it. Leave empty for an administrator."
        ),
        validators=[Length(max=2000)],
    )

    def __init__(self, *args: object, session: Session, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._session = session
        self.scopes.organisations = []

    def validate_scopes(self, field: ScopeCodesField) -> None:
        if self.role.data != Role.LEAD.value:
            return
        codes = field.codes()
        if not codes:
            raise ValidationError("Enter at least one organisation code for a quality lead")
        try:
            field.organisations = organisations_by_codes(self._session, codes)
        except ServiceError as exc:
            raise ValidationError(str(exc)) from None

    def chosen_role(self) -> Role:
        return Role(self.role.data)

    def chosen_scopes(self) -> list[Organisation]:
        """The organisations the codes name; none for an administrator."""
        return self.scopes.organisations if self.chosen_role() == Role.LEAD else []

    def fill_from(self, user: User, scope_codes: list[str]) -> None:
        """Show `user`'s current role and scopes (on a GET)."""
        self.role.data = user.role.value
        self.scopes.data = ", ".join(scope_codes)


class UserCreateForm(UserAccessForm):
    email = EmailField(
        "Email address",
        validators=[
            DataRequired("Enter the email address"),
            Email("Enter an email address like name@nhs.net"),
            Length(max=254),
        ],
    )
    password = PasswordField(
        "Password",
        description=(
            f"At least {MIN_PASSWORD_LENGTH} characters. Give it to the person yourself; "
            "it is not sent by email."
        ),
        validators=[
            DataRequired("Enter a password"),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=1000,
                message=f"The password must have at least {MIN_PASSWORD_LENGTH} characters",
            ),
        ],
    )

    #: The order of the fields on the page, so the error summary follows it.
    field_order = ("email", "role", "scopes", "password")


class SurveyDatesForm(PageForm):
    """When a survey opens and closes by itself, in UK time."""

    opens_at = DateTimeLocalField("Opens at", format=LOCAL_TIME_FORMAT, validators=[Optional()])
    closes_at = DateTimeLocalField("Closes at", format=LOCAL_TIME_FORMAT, validators=[Optional()])

    def validate_closes_at(self, field: Field) -> None:
        if self.opens_at.data and field.data and field.data <= self.opens_at.data:
            raise ValidationError("The closing time must be after the opening time")

    def opens_at_utc(self) -> datetime | None:
        return _utc(self.opens_at.data)

    def closes_at_utc(self) -> datetime | None:
        return _utc(self.closes_at.data)

    def fill_from(self, opens_at: datetime | None, closes_at: datetime | None) -> None:
        """Show stored UTC times as UK clock times (on a GET)."""
        self.opens_at.data = _minutes(uk_time(opens_at))
        self.closes_at.data = _minutes(uk_time(closes_at))


class WaveStartForm(SurveyDatesForm):
    """A survey's next wave: its name and, if wanted, when it opens and closes by itself (UK
    time). Shown beside the dates form, so made with a prefix that keeps the ids apart."""

    name = StringField(
        "Name of the new wave",
        description='For example "2026/27 rotation 1". Leave empty to call it "Wave N".',
        validators=[
            Optional(),
            Length(
                max=MAX_WAVE_NAME, message=f"Enter a name of at most {MAX_WAVE_NAME} characters"
            ),
        ],
    )

    #: The order of the fields on the page, so the error summary follows it.
    field_order = ("name", "opens_at", "closes_at")


def _minutes(moment: datetime | None) -> datetime | None:
    """A time without seconds or zone, as the datetime-local input shows it."""
    if moment is None:
        return None
    return moment.replace(second=0, microsecond=0, tzinfo=None)


def error_list(form: PageForm, order: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(field id, first message) of every field at fault, in `order` and then page order, for
    the error summary."""
    # Short names: a form made with a prefix keys its fields without it.
    names = list(order) + [field.short_name for field in form if field.short_name not in order]
    return [(form[name].id, form[name].errors[0]) for name in names if form[name].errors]


#: The most links one download from the invitations page makes (the command line, 100,000).
MAX_LINKS_PER_DOWNLOAD = 10_000


class InvitationLinksForm(PageForm):
    """How many single-use links to make for one organisation, downloaded as CSV.

    `session` is needed to look the code up: pass it as `InvitationLinksForm(session=...)`.
    The organisation found is `organisation` once the form validates.
    """

    org_code = StringField(
        "Organisation code",
        description="The organisation the answers given through the links will be about.",
        validators=[
            DataRequired("Enter the code of the organisation the links are for"),
            Length(max=20, message="An organisation code has at most 20 characters"),
        ],
    )
    count = IntegerField(
        "How many links",
        validators=[
            InputRequired("Enter how many links to make"),
            NumberRange(
                1,
                MAX_LINKS_PER_DOWNLOAD,
                message=f"Enter a number of links from 1 to {MAX_LINKS_PER_DOWNLOAD:,}",
            ),
        ],
    )

    def __init__(self, *args: object, session: Session, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._session = session
        self.organisation: Organisation | None = None

    def validate_org_code(self, field: Field) -> None:
        try:
            self.organisation = organisations_by_codes(self._session, [field.data])[0]
        except ServiceError as exc:
            raise ValidationError(str(exc)) from None
