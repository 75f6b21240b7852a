"""Forms of the administrators' pages: organisations, users and surveys.

They run no query: the pages pass in the choices (roles, levels) and limits, and look the
organisation codes typed into a form up themselves, putting any error on the field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_wtf.file import FileField, FileRequired, FileSize
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
from forms.choices import SelectChoice

#: The time zone administrators enter and read dates in; the database keeps UTC.
UK_TIME = ZoneInfo("Europe/London")
#: The largest file an administrator may upload (MAX_CONTENT_LENGTH caps the whole request too).
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
LOCAL_TIME_FORMAT = "%Y-%m-%dT%H:%M"


def uk_time(moment: datetime | None) -> datetime | None:
    """A stored UTC time as UK clock time, or None."""
    return moment.astimezone(UK_TIME) if moment is not None else None


def _utc(local: datetime | None) -> datetime | None:
    """A UK clock time typed into a form as UTC, or None."""
    return local.replace(tzinfo=UK_TIME).astimezone(UTC) if local is not None else None


class OrganisationSearchForm(PageForm):
    """Which organisations to list: a GET form that changes nothing. It offers "Any level"
    and then `levels`, (value, label) pairs, as `OrganisationSearchForm(levels=...)`."""

    class Meta:
        csrf = False

    q = StringField("Name or code", validators=[Optional(), Length(max=200)])
    level = SelectField("Level", validators=[Optional()])

    def __init__(self, *args: Any, levels: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.level.choices = [SelectChoice("", "Any level")] + [
            SelectChoice(value, label) for value, label in levels
        ]


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
    """Organisation codes separated by commas or spaces."""

    def codes(self) -> list[str]:
        """The codes typed, in order; none when the field is empty."""
        return [code for code in re.split(r"[\s,;]+", self.data or "") if code]


class UserAccessForm(PageForm):
    """A user's role and, for a lead, the organisations they see everything under.

    Made as `UserAccessForm(roles=..., scoped_role=...)`: `roles` are the (value, label) pairs
    offered, `scoped_role` the one that needs organisation codes, and chosen unless the form
    says otherwise. Whether the codes name organisations is for the page to check.
    """

    role = RadioField("Role", validators=[DataRequired("Select a role")])
    scopes = ScopeCodesField(
        "Organisations this quality lead may see",
        description=(
            "Organisation codes separated by commas, for example QKS or H-EK. The lead sees "
            "each organisation and everything under it. Leave empty for an administrator."
        ),
        validators=[Length(max=2000)],
    )

    def __init__(
        self,
        *args: Any,
        roles: Sequence[tuple[str, str]],
        scoped_role: str,
        **kwargs: Any,
    ) -> None:
        # Given as the field's data, which a posted role replaces: its default, per form.
        kwargs.setdefault("role", scoped_role)
        super().__init__(*args, **kwargs)
        self.role.choices = [SelectChoice(value, label) for value, label in roles]
        self.scoped_role = scoped_role

    def validate_scopes(self, field: ScopeCodesField) -> None:
        if self.role.data == self.scoped_role and not field.codes():
            raise ValidationError("Enter at least one organisation code for a quality lead")

    def needs_scopes(self) -> bool:
        """Whether the role chosen sees only the organisations the codes name."""
        return self.role.data == self.scoped_role

    def fill_from(self, role: str, scope_codes: list[str]) -> None:
        """Show a user's current `role` and scopes (on a GET)."""
        self.role.data = role
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
    password = PasswordField("Password")

    def __init__(self, *args: Any, min_password_length: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A new list on this form's own field: the class's field is shared by every request.
        self.password.description = (
            f"At least {min_password_length} characters. Give it to the person yourself; "
            "it is not sent by email."
        )
        self.password.validators = [
            DataRequired("Enter a password"),
            Length(
                min=min_password_length,
                max=1000,
                message=f"The password must have at least {min_password_length} characters",
            ),
        ]

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
    )

    def __init__(self, *args: Any, max_name_length: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A new list on this form's own field: the class's field is shared by every request.
        self.name.validators = [
            Optional(),
            Length(
                max=max_name_length,
                message=f"Enter a name of at most {max_name_length} characters",
            ),
        ]

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
    """How many single-use links to make for one organisation, downloaded as CSV. Whether
    the code names an organisation is for the page to check."""

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
