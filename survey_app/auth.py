"""Flask-Login wiring: how a signed-in user is loaded, and the role guard."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, abort, flash, jsonify, redirect, request, session
from flask_login import LoginManager, current_user, login_required, login_user
from flask_login.utils import login_url
from werkzeug.wrappers import Response as HttpResponse

from survey_app.db import get_session
from survey_app.models import Role, User

login_manager = LoginManager()
login_manager.login_view = "staff.login"
login_manager.login_message = "Sign in to see reports."
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"

#: The key of the session cookie that holds the user's session version at sign-in.
SESSION_VERSION_KEY = "session_version"


@login_manager.unauthorized_handler
def _sign_in_first() -> HttpResponse | tuple[HttpResponse, int]:
    """A signed-out visitor: the JSON API answers 401 (a script has no sign-in page to follow);
    any page redirects to the sign-in page, which brings them back here afterwards."""
    if request.path.startswith("/api/"):
        answer = jsonify(error="Sign in first: this API answers signed-in staff only.")
        return answer, 401
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(login_url(login_manager.login_view, next_url=request.full_path.rstrip("?")))


def sign_in(user: User) -> None:
    """Sign `user` in on this request's session cookie, with their session version: the
    cookie works until they sign out (anywhere) or are deactivated."""
    login_user(user)
    session[SESSION_VERSION_KEY] = user.session_version


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The signed-in user of a session cookie, read from the database on every request: none
    if deactivated, or if the cookie's session version is not the user's (they signed out,
    on any host, or were deactivated since), so a copied cookie stops working everywhere."""
    if not user_id.isdigit():
        return None
    user = get_session().get(User, int(user_id))
    if user is None or not user.active:
        return None
    if session.get(SESSION_VERSION_KEY) != user.session_version:
        return None
    return user


def staff_required(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A view decorator: signed in (else the sign-in page) with one of `roles` (else 403)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        @login_required
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorate


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
