"""Staff accounts: creation, sign-in and what each may see."""

from __future__ import annotations

from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from survey_app.models import Organisation, Role, User, UserScope
from survey_app.services import ServiceError

MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()
#: Verified against when the email is unknown, so an unknown account takes as long as a known one.
_DUMMY_HASH = _hasher.hash("no account has this password")


def create_user(
    session: Session, email: str, password: str, role: Role, scopes: Sequence[Organisation]
) -> User:
    """A new user, committed.

    Refuses (ServiceError) an invalid or taken email, a password under 12 characters and a
    lead without a scope.
    """
    try:
        address = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ServiceError(f"{email!r} is not a valid email address: {exc}") from None
    if session.exec(select(User).where(User.email == address)).first() is not None:
        raise ServiceError(f"a user with email {address} already exists")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if role == Role.LEAD and not scopes:
        raise ServiceError("a lead needs at least one --scope organisation")
    user = User(email=address, password_hash=_hasher.hash(password), role=role)
    user.scopes = [UserScope(organisation_id=org.id) for org in scopes]  # type: ignore[arg-type]
    session.add(user)
    session.commit()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, or None (for every kind of failure)."""
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    return user


def scope_organisations(session: Session, user: User) -> list[Organisation]:
    """The organisations a user may see everything under; empty for an admin (who sees all)."""
    if user.role == Role.ADMIN:
        return []
    ids = [scope.organisation_id for scope in user.scopes]
    return list(session.exec(select(Organisation).where(Organisation.id.in_(ids))).all())  # type: ignore[union-attr]
