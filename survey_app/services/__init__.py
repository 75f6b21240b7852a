"""The writes and queries that views and CLI commands share: each a plain function taking a
session and validated data, doing one transaction."""


class ServiceError(ValueError):
    """Input a service refuses; the message says what is wrong and where, for a person to read."""


class FieldError(ServiceError):
    """Input a service refuses because of one field: `field` names it (as the command line's
    option and the page's form know it) and `message` says what is wrong with it. Reads as
    "field: message", so the command line shows it as any other refusal."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
