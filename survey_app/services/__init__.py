"""The writes and queries that views and CLI commands share: each a plain function taking a
session and validated data, doing one transaction."""


class ServiceError(ValueError):
    """Input a service refuses; the message says what is wrong and where, for a person to read."""
