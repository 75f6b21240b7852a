"""Sending email through the SMTP server the settings name (MAIL_* in `survey_app.config`).

Only the standard library: `smtplib` for the connection, `email` for the messages. Errors are
reported without any recipient's address, because their messages go to pages, the command line
and logs; a server's reply is quoted with every address in it blanked out.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

from survey_app.services import ServiceError

#: Anything shaped like an address in a server's reply, blanked out before the reply is shown.
_ADDRESS_PATTERN = re.compile(r"<?[^\s<>@]+@[^\s<>@]+>?")


class MailError(ServiceError):
    """The mail server could not be reached, refused to let us send, or stopped part-way.

    The message names the server and its reply, never a recipient's address.
    """


class RecipientRefused(Exception):
    """The server refused this one recipient; other messages may still go through."""


@dataclass(frozen=True, slots=True)
class MailSettings:
    """Where and how to send, from the MAIL_* settings."""

    server: str | None
    port: int
    use_starttls: bool
    use_ssl: bool
    username: str | None
    password: str | None
    sender: str | None
    timeout: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings:
        """The settings of an application's `config` (MAIL_SERVER, MAIL_PORT, ...)."""
        return cls(
            server=config.get("MAIL_SERVER"),
            port=int(config.get("MAIL_PORT") or 25),
            use_starttls=bool(config.get("MAIL_USE_STARTTLS")),
            use_ssl=bool(config.get("MAIL_USE_SSL")),
            username=config.get("MAIL_USERNAME"),
            password=config.get("MAIL_PASSWORD"),
            sender=config.get("MAIL_SENDER"),
            timeout=float(config.get("MAIL_TIMEOUT") or 30),
        )

    @property
    def sender_name(self) -> str:
        """The display name of MAIL_SENDER ("Kent Training Hub"), or "" if it has none."""
        return parseaddr(self.sender or "")[0]

    def problem(self) -> str | None:
        """Why nothing can be sent with these settings, or None when they are complete."""
        missing = [
            name
            for name, value in (("MAIL_SERVER", self.server), ("MAIL_SENDER", self.sender))
            if not value
        ]
        if missing:
            return (
                f"Email is not set up: set {' and '.join(missing)} in the server's environment "
                "(see docs/deployment.md)"
            )
        if "@" not in parseaddr(self.sender or "")[1]:
            return f"MAIL_SENDER must be an address such as surveys@hub.nhs.uk, not {self.sender!r}"
        return None

    @property
    def where(self) -> str:
        return f"{self.server}:{self.port}"


def compose(
    settings: MailSettings, to: str, subject: str, text: str, html: str | None = None
) -> EmailMessage:
    """A message from MAIL_SENDER to one address: `text` as plain text, with `html` as the
    alternative when given."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = Address(addr_spec=to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(settings.sender or "")[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    # RFC 3834: out-of-office replies should not answer a message a program sent.
    message["Auto-Submitted"] = "auto-generated"
    # Plain ASCII goes as it is, so that a long link is never broken across lines by
    # quoted-printable soft line breaks in a mail client that shows the raw text.
    message.set_content(text, cte="7bit" if text.isascii() else "quoted-printable")
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def blank_addresses(text: str) -> str:
    """`text` with every email address replaced by "[address]"."""
    return _ADDRESS_PATTERN.sub("[address]", text)


class MailConnection:
    """An open, signed-in SMTP session: `send` one message at a time."""

    def __init__(self, smtp: smtplib.SMTP, settings: MailSettings) -> None:
        self._smtp = smtp
        self._settings = settings

    def send(self, message: EmailMessage) -> None:
        """Hand `message` to the server.

        Refuses RecipientRefused when the server will not take its one recipient (the session
        goes on), and MailError for anything else: the server stopped answering or refused
        the message, after which nothing more can be sent on this connection.
        """
        try:
            self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            (code, _message), *_ = exc.recipients.values()
            raise RecipientRefused(f"refused by the mail server ({code})") from None
        except smtplib.SMTPResponseException as exc:
            raise MailError(
                f"the mail server {self._settings.where} refused a message: {_reply(exc)}"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(
                f"the connection to the mail server {self._settings.where} failed: {_failure(exc)}"
            ) from None


@contextmanager
def connect(settings: MailSettings) -> Iterator[MailConnection]:
    """An SMTP session with the server of `settings`, over TLS as they say, signed in when
    they carry a user name; closed on leaving the block.

    Refuses MailError when the settings are incomplete (`MailSettings.problem`), the server
    cannot be reached, has no STARTTLS when it is required, or refuses the sign-in.
    """
    problem = settings.problem()
    if problem:
        raise MailError(problem)
    context = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if settings.use_ssl:
            smtp = smtplib.SMTP_SSL(
                settings.server or "", settings.port, timeout=settings.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.server or "", settings.port, timeout=settings.timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(
            f"could not connect to the mail server {settings.where}: {_failure(exc)}"
        ) from None
    try:
        try:
            smtp.ehlo()
            if settings.use_starttls:
                if not smtp.has_extn("starttls"):
                    raise MailError(
                        f"the mail server {settings.where} does not offer STARTTLS; set "
                        "MAIL_USE_SSL=true for a server that speaks TLS from the start, or "
                        "MAIL_USE_STARTTLS=false only for a relay on a trusted network"
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings.username:
                smtp.login(settings.username, settings.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(
                f"the mail server {settings.where} refused the sign-in of MAIL_USERNAME: "
                f"{_reply(exc)}"
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise MailError(
                f"the mail server {settings.where} refused to start: {_reply(exc)}"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(
                f"the mail server {settings.where} failed while starting: {_failure(exc)}"
            ) from None
        yield MailConnection(smtp, settings)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
    return blank_addresses(f"{exc.smtp_code} {text}".strip())


def _failure(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "no answer in time (MAIL_TIMEOUT)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the server closed the connection"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return blank_addresses(str(exc)) or type(exc).__name__
