"""Staff accounts: creation, sign-in and what each may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import update
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select

from survey_app.models import AuditAction, Organisation, Role, User, UserScope
from survey_app.services import ServiceError
from survey_app.services.audit import COMMAND_LINE, Actor, record

MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()
#: Verified against when the email is unknown, so an unknown account takes as long as a known one.
_DUMMY_HASH = _hasher.hash("no account has this password")


def create_user(
    session: Session,
    email: str,
    password: str,
    role: Role,
    scopes: Sequence[Organisation],
    actor: Actor = COMMAND_LINE,
) -> User:
    """A new user, committed with its audit event.

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
    # The relationship fills each scope's user_id when the user is flushed.
    user.scopes = [UserScope(organisation_id=org.id) for org in scopes]  # type: ignore[call-arg, arg-type]
    session.add(user)
    session.flush()
    record(
        session,
        AuditAction.USER_CREATED,
        actor,
        target=address,
        details={"role": role.value, "scopes": [org.code for org in scopes]},
    )
    session.commit()
    return user


def user_by_email(session: Session, email: str) -> User | None:
    """The user with this email (compared lower-case), or None."""
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def change_access(
    session: Session,
    user: User,
    role: Role,
    scopes: Sequence[Organisation],
    actor: Actor = COMMAND_LINE,
) -> User:
    """Give `user` the role `role` and exactly the scopes `scopes`, committed with its audit
    event; returns the user.

    Refuses (ServiceError) a lead without a scope, and a signed-in admin changing their own
    role (so that an administrator cannot lock themselves out).
    """
    if role == Role.LEAD and not scopes:
        raise ServiceError("a lead needs at least one --scope organisation")
    if actor.user_id is not None and actor.user_id == user.id and role != user.role:
        raise ServiceError("you cannot change your own role; another administrator can")
    before = {"role": user.role.value, "scopes": _scope_codes(session, user)}
    user.role = role
    # The relationship fills each scope's user_id when the user is flushed.
    user.scopes = [UserScope(organisation_id=org.id) for org in scopes]  # type: ignore[call-arg, arg-type]
    session.add(user)
    session.flush()
    after = {"role": role.value, "scopes": [org.code for org in scopes]}
    record(
        session,
        AuditAction.USER_ACCESS_CHANGED,
        actor,
        target=user.email,
        details={"before": before, "after": after},
    )
    session.commit()
    return user


def deactivate_user(session: Session, user: User, actor: Actor = COMMAND_LINE) -> User:
    """Stop `user` signing in (any session they have ends at its next request), committed
    with its audit event; returns the user. Refuses (ServiceError) a user already inactive,
    and a signed-in user deactivating themselves."""
    if not user.active:
        raise ServiceError(f"{user.email} is already deactivated")
    if actor.user_id is not None and actor.user_id == user.id:
        raise ServiceError("you cannot deactivate your own account; another administrator can")
    user.active = False
    session.add(user)
    end_sessions(session, user.id)
    record(session, AuditAction.USER_DEACTIVATED, actor, target=user.email)
    session.commit()
    return user


def end_sessions(session: Session, user_id: int | None) -> None:
    """End every session of user `user_id` on every host, in the caller's transaction: raise
    the session version each signed-in cookie must match (see `survey_app.auth`). An UPDATE of
    the stored value, so that two hosts ending sessions at once both count."""
    session.execute(
        update(User)
        .where(col(User.id) == user_id)
        .values(session_version=col(User.session_version) + 1)
    )


def reactivate_user(session: Session, user: User, actor: Actor = COMMAND_LINE) -> User:
    """Let a deactivated `user` sign in again with their password, committed with its audit
    event; returns the user. Refuses (ServiceError) a user who is active."""
    if user.active:
        raise ServiceError(f"{user.email} is already active")
    user.active = True
    session.add(user)
    record(session, AuditAction.USER_REACTIVATED, actor, target=user.email)
    session.commit()
    return user


def _scope_codes(session: Session, user: User) -> list[str]:
    ids = [scope.organisation_id for scope in user.scopes]
    statement = select(Organisation.code).where(col(Organisation.id).in_(ids))
    return sorted(session.exec(statement).all())


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
    return list(session.exec(select(Organisation).where(col(Organisation.id).in_(ids))).all())


@dataclass(frozen=True, slots=True)
class UserListing:
    user: User
    #: The organisations a lead sees everything under, by code; none for an admin.
    scopes: list[Organisation]


def list_users(session: Session) -> list[UserListing]:
    """Every user with their scopes (none for an admin), administrators first, then by
    email."""
    users = session.exec(select(User).options(selectinload(User.scopes))).all()  # type: ignore[arg-type]
    organisations = {
        org.id: org
        for org in session.exec(
            select(Organisation).join(UserScope, col(UserScope.organisation_id) == Organisation.id)
        ).all()
    }
    return [
        UserListing(
            user,
            []
            if user.is_admin
            else sorted(
                (organisations[scope.organisation_id] for scope in user.scopes),
                key=lambda org: org.code,
            ),
        )
        for user in sorted(users, key=lambda user: (not user.is_admin, user.email))
    ]


def user_listing(session: Session, user_id: int) -> UserListing | None:
    """The user with `user_id` and their scopes (none for an admin), or None."""
    user = session.get(User, user_id)
    if user is None:
        return None
    return UserListing(user, sorted(scope_organisations(session, user), key=lambda org: org.code))
