"""Commands for staff accounts and the audit log."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask.cli import with_appcontext

from survey_app.cli.common import echo_json, fails_cleanly
from survey_app.db import get_session
from survey_app.models import Role
from survey_app.services import ServiceError
from survey_app.services import audit as audit_service
from survey_app.services import organisations as org_service
from survey_app.services import users as user_service


@click.group("users")
def users_group() -> None:
    """Staff accounts."""


@users_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--scope", "scopes", multiple=True, help="Organisation code a lead may see.")
@click.option(
    "--password-stdin", is_flag=True, required=True, help="Read the password from standard input."
)
@with_appcontext
@fails_cleanly
def users_create(email: str, role: str, scopes: tuple[str, ...], password_stdin: bool) -> None:
    """Create a user; the password is read from standard input."""
    session = get_session()
    password = sys.stdin.readline().rstrip("\r\n")
    organisations = _scope_organisations(session, scopes)
    user = user_service.create_user(session, email, password, Role(role), organisations)
    click.echo(f"created {user.role.value} {user.email}")


def _scope_organisations(session: Any, codes: tuple[str, ...]) -> list[Any]:
    """The organisations named by --scope codes; refuses (ServiceError) an unknown code."""
    organisations = []
    for code in codes:
        organisation = org_service.organisation_by_code(session, code)
        if organisation is None:
            raise ServiceError(f"--scope: no organisation has code {code!r}")
        organisations.append(organisation)
    return organisations


def _require_user(session: Any, email: str) -> Any:
    user = user_service.user_by_email(session, email)
    if user is None:
        raise ServiceError(f"no user has the email {email!r}")
    return user


@users_group.command("set-access")
@click.argument("email")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--scope", "scopes", multiple=True, help="Organisation code a lead may see.")
@with_appcontext
@fails_cleanly
def users_set_access(email: str, role: str, scopes: tuple[str, ...]) -> None:
    """Give a user a role and exactly the scopes named (replacing the ones they had)."""
    session = get_session()
    user = _require_user(session, email)
    user_service.change_access(session, user, Role(role), _scope_organisations(session, scopes))
    click.echo(f"{user.email}: {role}" + (f" of {', '.join(scopes)}" if scopes else ""))


@users_group.command("deactivate")
@click.argument("email")
@with_appcontext
@fails_cleanly
def users_deactivate(email: str) -> None:
    """Stop a user signing in; a session they have open ends at its next request."""
    session = get_session()
    user = user_service.deactivate_user(session, _require_user(session, email))
    click.echo(f"{user.email}: deactivated")


@click.group("audit")
def audit_group() -> None:
    """The audit log of sign-ins, reports read, imports and changes."""


@audit_group.command("list")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--action", default=None, help="Only this action, e.g. sign-in-failed.")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text")
@with_appcontext
@fails_cleanly
def audit_list(limit: int, action: str | None, fmt: str) -> None:
    """The newest audit events first."""
    events = audit_service.list_events(
        get_session(), audit_service.parse_action(action), limit=limit
    )
    if fmt == "json":
        echo_json([audit_service.event_as_dict(event) for event in events])
        return
    for event in events:
        click.echo(
            f"{event.occurred_at:%Y-%m-%d %H:%M:%S}Z  {event.action:<22} {event.actor:<30} "
            f"{event.target}  {audit_service.describe_details(event.details)}"
            + (f"  from {event.remote_addr}" if event.remote_addr else "")
        )
