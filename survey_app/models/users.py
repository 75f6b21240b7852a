"""Staff who sign in: admins, and quality leads scoped to organisations."""

import enum

from sqlalchemy import Column, Integer, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel


class Role(enum.StrEnum):
    ADMIN = "admin"
    LEAD = "lead"


class UserScope(SQLModel, table=True):
    """An organisation a lead may see, with everything under it."""

    __table_args__ = (UniqueConstraint("user_id", "organisation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id")


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    #: Stored lower-case; sign-in compares lower-case.
    email: str = Field(max_length=254, unique=True, index=True)
    #: An Argon2id hash (memory-hard), never the password.
    password_hash: str = Field(max_length=200)
    role: Role = Field(max_length=10)
    active: bool = True
    #: Kept in the session cookie at sign-in; raising it (sign-out, deactivation) ends every
    #: session of this user on every host, however many cookies were copied before.
    session_version: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, default=0, server_default="0")
    )

    scopes: list["UserScope"] = Relationship(
        sa_relationship_kwargs={"cascade": "all, delete-orphan"}
    )

    # Flask-Login's user protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN
