"""CSRF protection and the security headers every response carries."""

from __future__ import annotations

from typing import TypeVar

from flask import Flask, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as BaseResponse

from survey_app.errors import json_error, wants_json

csrf = CSRFProtect()
#: Counts live in RATELIMIT_STORAGE_URI: by default the Redis of REDIS_URL, which every process
#: and host shares, so a limit holds across the service; without Redis, memory:// per process.
limiter = Limiter(key_func=get_remote_address)

#: Failed sign-ins allowed per address, and per account whatever the address.
SIGN_IN_LIMIT_PER_ADDRESS = "10 per minute"
SIGN_IN_LIMIT_PER_ACCOUNT = "10 per 15 minutes"
#: Unknown or used invitation links tried per address: guessing tokens is hopeless (256 bits),
#: and this keeps anyone from trying.
TOKEN_LIMIT_PER_ADDRESS = "30 per minute"


def sign_in_account() -> str:
    """The rate-limit key of a sign-in attempt: the account it names."""
    return "account:" + (request.form.get("email") or "").strip().lower()


def failed_sign_in(response: Response) -> bool:
    """Only failed attempts count towards the sign-in limits."""
    return response.status_code != 303


def failed_token(response: Response) -> bool:
    """Only links that lead nowhere (404, 410) count towards the token limit."""
    return response.status_code in (404, 410)


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


Download = TypeVar("Download", bound=BaseResponse)

#: Blueprints whose every page is for signed-in staff.
STAFF_BLUEPRINTS = frozenset({"staff", "admin"})


def _add_security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.blueprint in STAFF_BLUEPRINTS:
        # Reports, exports and the admin pages hold figures and names for one account: no
        # shared cache or browser history may keep a copy once its user signs out.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def attachment(response: Download, filename: str) -> Download:
    """`response` as a download named `filename`, reduced to letters, digits, dots, hyphens and
    underscores: an organisation or survey code can hold quotes, semicolons or line breaks,
    and none of them may reach the header."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "-" for c in filename)
    response.headers["Content-Disposition"] = f'attachment; filename="{safe}"'
    return response


def _refuse_nul_characters() -> None:
    """Refuse (400, naming where it is) a request with a NUL character in its address, query
    or form: no browser sends one from what a person types, and PostgreSQL cannot store or
    even compare text holding one, so it would otherwise fail deep inside a query."""
    if "\x00" in request.path:
        abort(400, description="The address contains a NUL character (code 0).")
    for where, values in (("query parameter", request.args), ("form field", request.form)):
        for name, value in values.items(multi=True):
            if "\x00" in name or "\x00" in value:
                shown = name.replace("\x00", "\\0")
                abort(
                    400,
                    description=f"The {where} {shown} contains a NUL character (code 0), "
                    "which is not accepted.",
                )


def _csrf_failed(error: CSRFError) -> tuple[str, int]:
    return render_template("errors/csrf.html", reason=error.description), 400


def _too_many_requests(_error: RateLimitExceeded) -> ResponseReturnValue:
    if wants_json():
        return json_error(429, "Too many attempts", "Wait a few minutes, then try again.")
    return render_template("errors/too_many.html"), 429


def init_app(app: Flask) -> None:
    """Proxy handling, CSRF, rate limits and security headers for `app`."""
    if app.config["TRUSTED_PROXY_COUNT"]:
        # Behind a load balancer every request comes from the balancer's address: without
        # this, one rate-limit count would be shared by every respondent.
        hops = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    csrf.init_app(app)
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    app.before_request(_refuse_nul_characters)
    app.after_request(_add_security_headers)
    app.register_error_handler(CSRFError, _csrf_failed)
