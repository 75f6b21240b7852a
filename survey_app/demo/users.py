"""The demo's sign-ins: an admin, and a quality lead for Kent and Medway ICB."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlmodel import Session

from survey_app.models import Role
from survey_app.services.organisations import organisation_by_code
from survey_app.services.users import create_user


class DemoLogin(NamedTuple):
    """A demo sign-in, with the scope shown beside it."""

    email: str
    password: str
    role: Role
    scope: str


#: The demo sign-ins; the passwords are public, so a demo database must never hold real data.
DEMO_USERS: list[DemoLogin] = [
    DemoLogin("admin@demo.example", "demo-admin-password", Role.ADMIN, "every organisation"),
    DemoLogin(
        "lead@demo.example",
        "demo-lead-password",
        Role.LEAD,
        "QKS NHS Kent and Medway Integrated Care Board",
    ),
]
_LEAD_SCOPES = {"lead@demo.example": ("QKS",)}


def login_lines(users: Sequence[DemoLogin]) -> list[str]:
    """The demo sign-ins as lines of text for the command line."""
    return [
        "Demo sign-ins at http://127.0.0.1:5000/login (the passwords are public: never put "
        "real data here):",
        *(
            f"  {login.role.value:<6} {login.email:<20} password {login.password}  ({login.scope})"
            for login in users
        ),
    ]


def add_users(session: Session) -> None:
    """Create the `DEMO_USERS`, the lead scoped to Kent and Medway ICB (whose organisations
    must be stored already); refuses what `create_user` refuses, an address already taken."""
    for login in DEMO_USERS:
        codes = _LEAD_SCOPES.get(login.email, ())
        scopes = [org for org in (organisation_by_code(session, code) for code in codes) if org]
        create_user(session, login.email, login.password, login.role, scopes)
