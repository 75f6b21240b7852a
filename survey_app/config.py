"""Configuration read from the environment.

`Config` is what production and `make run` use; `TestConfig` is what the test suite uses. Every
setting has one name, the environment variable that sets it.
"""

from __future__ import annotations

import os
from pathlib import Path

from limits import parse_many

#: The project's top folder: `instance/` (the default SQLite database) lives below it.
#: The software version, printed in reports and part of a rendered report's name.
VERSION = "0.1.0"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_PATH = PROJECT_ROOT / "instance"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


def _int_setting(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}")
    return value


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _bool_setting(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _rate_limit_setting(name: str, default: str) -> str:
    """A rate limit in Flask-Limiter's words ("50 per hour;200 per day"), each part allowing at
    least one; refused with a message naming `name` otherwise."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    example = f"for example {default!r}"
    try:
        parsed = parse_many(raw)
    except ValueError:
        raise ConfigError(
            f"{name} must be one or more limits such as '50 per hour', separated by ';' "
            f"({example}), not {raw!r}"
        ) from None
    if not parsed or any(limit.amount < 1 for limit in parsed):
        raise ConfigError(f"{name} must allow at least 1 in each period ({example}), not {raw!r}")
    return raw.strip()


_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def _redis_url_setting(name: str) -> str | None:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return None
    if not raw.startswith(_REDIS_SCHEMES):
        raise ConfigError(
            f"{name} must start with redis://, rediss:// or unix:// "
            f"(e.g. redis://redis.internal:6379/0), not {raw[:40]!r}"
        )
    return raw


#: What reports of an open wave count: responses sent before today (daily), or every one.
REPORT_SNAPSHOTS = ("daily", "live")


def _choice_setting(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    if raw.strip().lower() not in choices:
        raise ConfigError(f"{name} must be {' or '.join(choices)}, not {raw!r}")
    return raw.strip().lower()


def default_database_url() -> str:
    """The SQLite database under the instance folder."""
    return f"sqlite:///{INSTANCE_PATH / 'survey.db'}"


class Config:
    """Settings from the environment. `SECRET_KEY` is required outside development."""

    def __init__(self) -> None:
        self.DATABASE_URL: str = os.environ.get("DATABASE_URL") or default_database_url()
        self.SECRET_KEY: str | None = os.environ.get("SECRET_KEY") or None
        #: Minimum cell size k of the statistics: figures from fewer answers are suppressed.
        self.SUPPRESSION_MIN_N: int = _int_setting("SUPPRESSION_MIN_N", 5, minimum=1)
        #: The longest free-text answer accepted, in characters.
        self.MAX_TEXT_ANSWER: int = _int_setting("MAX_TEXT_ANSWER", 5000, minimum=1)
        self.MAX_CONTENT_LENGTH: int = _int_setting("MAX_CONTENT_LENGTH", 2 * 1024 * 1024, 1024)
        #: The most data rows a CSV import (organisations or responses) may hold.
        self.MAX_IMPORT_ROWS: int = _int_setting("MAX_IMPORT_ROWS", 200_000, minimum=1)
        #: The largest CSV file an import reads, in bytes.
        self.MAX_IMPORT_BYTES: int = _int_setting(
            "MAX_IMPORT_BYTES", 64 * 1024 * 1024, minimum=1024
        )
        self.DEVELOPMENT: bool = os.environ.get("FLASK_DEBUG") == "1" or (
            os.environ.get("SURVEY_APP_ENV", "production") == "development"
        )
        self.TESTING: bool = False
        self.WTF_CSRF_TIME_LIMIT: int | None = None
        self.SESSION_COOKIE_HTTPONLY: bool = True
        self.SESSION_COOKIE_SAMESITE: str = "Lax"
        self.SESSION_COOKIE_SECURE: bool = not self.DEVELOPMENT
        self.REMEMBER_COOKIE_HTTPONLY: bool = True
        self.RATELIMIT_ENABLED: bool = os.environ.get("RATELIMIT_ENABLED", "true") != "false"
        #: The Redis that several processes and hosts share: rate-limit counts and the report
        #: queue live there. None (unset): each process counts for itself and renders reports
        #: in process, as `make run` does.
        self.REDIS_URL: str | None = _redis_url_setting("REDIS_URL")
        self.RATELIMIT_STORAGE_URI: str = (
            os.environ.get("RATELIMIT_STORAGE_URI") or self.REDIS_URL or "memory://"
        )
        self.RATELIMIT_HEADERS_ENABLED: bool = True
        #: How many proxies in front of the app (TLS terminator, load balancer) each append
        #: the address they received from to X-Forwarded-For: the client's address, which rate
        #: limits count by, is read that many entries from the end. 0 trusts no such header.
        self.TRUSTED_PROXY_COUNT: int = _int_setting("TRUSTED_PROXY_COUNT", 0, minimum=0)
        #: Reports over this many responses are built in the background, with a progress page
        #: (without Redis; with it, every report is rendered by a worker).
        self.REPORT_BACKGROUND_MIN_RESPONSES: int = _int_setting(
            "REPORT_BACKGROUND_MIN_RESPONSES", 5000, minimum=0
        )
        #: The largest rendered PDF kept in the database, in bytes.
        self.REPORT_MAX_BYTES: int = _int_setting("REPORT_MAX_BYTES", 20_000_000, minimum=100_000)
        #: Stored reports are deleted this many hours after they were rendered.
        self.REPORT_KEEP_HOURS: int = _int_setting("REPORT_KEEP_HOURS", 24, minimum=1)
        #: Renders one user may have queued or running at once; more are refused until one ends.
        self.REPORT_RENDERS_PER_USER: int = _int_setting("REPORT_RENDERS_PER_USER", 2, minimum=1)
        #: Seconds a worker may spend on one report before the job is stopped.
        self.REPORT_JOB_TIMEOUT: int = _int_setting("REPORT_JOB_TIMEOUT", 600, minimum=10)
        #: The address invitation links start with, e.g. https://survey.example.nhs.uk
        self.PUBLIC_URL: str = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")
        self._read_mail_settings()
        self._read_padding_defences()

    def _read_padding_defences(self) -> None:
        """What stops someone padding a small practice with open-link answers of known values
        and subtracting them (docs/data-protection.md, "Padding")."""
        #: Answers sent through a survey's open link from one address: enough for a room of
        #: learners behind one NAT (a cohort of 30 on a practice's Wi-Fi) in the same hour.
        self.OPEN_LINK_LIMIT_PER_CLIENT: str = _rate_limit_setting(
            "OPEN_LINK_LIMIT_PER_CLIENT", "50 per hour;200 per day"
        )
        #: Answers sent through a survey's open link from every address together.
        self.OPEN_LINK_LIMIT_PER_SURVEY: str = _rate_limit_setting(
            "OPEN_LINK_LIMIT_PER_SURVEY", "500 per hour"
        )
        #: daily: reports of an open wave count responses sent before today (UTC), so their
        #: figures move once a day, not with each answer; live: every response so far.
        self.REPORT_SNAPSHOT: str = _choice_setting("REPORT_SNAPSHOT", "daily", REPORT_SNAPSHOTS)

    def _read_mail_settings(self) -> None:
        """The SMTP server invitations and reminders are sent through. Without MAIL_SERVER and
        MAIL_SENDER nothing can be sent; the rest of the application works without them."""
        self.MAIL_SERVER: str | None = os.environ.get("MAIL_SERVER") or None
        #: Implicit TLS from the first byte (port 465); otherwise STARTTLS unless turned off.
        self.MAIL_USE_SSL: bool = _bool_setting("MAIL_USE_SSL", False)
        #: On by default so that the password and the learners' addresses never cross the
        #: network in clear; turn it off only for a relay on the same host or trusted network.
        self.MAIL_USE_STARTTLS: bool = _bool_setting("MAIL_USE_STARTTLS", not self.MAIL_USE_SSL)
        if self.MAIL_USE_SSL and self.MAIL_USE_STARTTLS:
            raise ConfigError(
                "MAIL_USE_SSL and MAIL_USE_STARTTLS are both true; choose one (SSL for port "
                "465, STARTTLS for port 587)"
            )
        default_port = 465 if self.MAIL_USE_SSL else 587 if self.MAIL_USE_STARTTLS else 25
        self.MAIL_PORT: int = _int_setting("MAIL_PORT", default_port, minimum=1)
        self.MAIL_USERNAME: str | None = os.environ.get("MAIL_USERNAME") or None
        self.MAIL_PASSWORD: str | None = os.environ.get("MAIL_PASSWORD") or None
        if bool(self.MAIL_USERNAME) != bool(self.MAIL_PASSWORD):
            raise ConfigError("MAIL_USERNAME and MAIL_PASSWORD must be set together, or neither")
        #: The From of every message, e.g. "Kent and Medway Training Hub <surveys@hub.nhs.uk>".
        self.MAIL_SENDER: str | None = os.environ.get("MAIL_SENDER") or None
        #: Seconds to wait for the mail server before giving up.
        self.MAIL_TIMEOUT: int = _int_setting("MAIL_TIMEOUT", 30, minimum=1)

    def check(self) -> None:
        """Refuse to start without what production needs; raises ConfigError naming it."""
        if not self.SECRET_KEY:
            raise ConfigError(
                "SECRET_KEY is not set. Set it to a long random string in the environment "
                "(for example: python -c 'import secrets; print(secrets.token_hex(32))'); "
                "`make run` generates one into instance/secret_key."
            )

    def as_mapping(self) -> dict[str, object]:
        """The settings as a dict for `app.config.from_mapping`."""
        return {name: value for name, value in vars(self).items() if name.isupper()}


class TestConfig(Config):
    """A throwaway database (or TEST_DATABASE_URL) and a fixed secret."""

    def __init__(self, database_url: str | None = None) -> None:
        super().__init__()
        self.DATABASE_URL = database_url or os.environ.get("TEST_DATABASE_URL") or "sqlite://"
        self.SECRET_KEY = "test-secret-key-not-for-production"
        self.TESTING = True
        self.SESSION_COOKIE_SECURE = False
        self.SUPPRESSION_MIN_N = 5
        # The tests that check rate limits turn them on for themselves; those that need Redis
        # (TEST_REDIS_URL) set it themselves, so the environment's never leaks into the others.
        self.RATELIMIT_ENABLED = False
        # Most tests send answers and read the report at once; the snapshot's tests ask for it.
        self.REPORT_SNAPSHOT = "live"
        self.REDIS_URL = None
        self.RATELIMIT_STORAGE_URI = "memory://"
