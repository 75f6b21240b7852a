"""What every command shares: clean failures, reading files, printing JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from flask import current_app

from survey_app.db import get_session
from survey_app.definitions import DefinitionError
from survey_app.models import InvalidTransition
from survey_app.services import ServiceError


def fails_cleanly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a person can fix into a message and exit status 1."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ServiceError, DefinitionError, InvalidTransition) as exc:
            get_session().rollback()
            raise click.ClickException(str(exc)) from None

    return run


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ServiceError(f"{path}: is not UTF-8 text") from None
    except OSError as exc:
        raise ServiceError(f"{path}: cannot be read: {exc.strerror}") from None


def read_import(path: Path) -> str:
    """The text of a CSV to import; refuses (ServiceError naming the file and the limit) a file
    over MAX_IMPORT_BYTES before reading any of it."""
    limit = current_app.config["MAX_IMPORT_BYTES"]
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ServiceError(f"{path}: cannot be read: {exc.strerror}") from None
    if size > limit:
        raise ServiceError(
            f"{path}: the file is {size:,} bytes, over the import limit of {limit:,} bytes "
            "(MAX_IMPORT_BYTES); split the file"
        )
    return read_text(path)


def echo_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False))
