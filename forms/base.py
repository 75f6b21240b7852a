"""The base of every form in the project: it reads an HTML form's fields and nothing else."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict
from wtforms import Field

_POSTED = object()
_SUBMIT_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def posted_fields() -> ImmutableMultiDict[str, Any] | CombinedMultiDict[str, Any] | None:
    """Return the fields (and files) of the form posted with this request, or None if none were.

    Unlike Flask-WTF's default it never reads a JSON body: a browser never sends one to these
    pages, and a JSON body that is not an object (``0``, ``[1]``) fails inside WTForms.
    """
    if not has_request_context() or request.method not in _SUBMIT_METHODS:
        return None
    if request.files:
        return CombinedMultiDict((request.files, request.form))
    return request.form or None


def add_error(field: Field, message: str) -> None:
    """Add `message` to the errors of `field`, which its form has validated (validation gives
    each field a list of errors; before it, there is none to add to)."""
    if not isinstance(field.errors, list):
        raise TypeError(f"field {field.name!r} has not been validated, so takes no error")
    field.errors.append(message)


class PageForm(FlaskForm):
    """A Flask-WTF form filled from a browser's form post (see `posted_fields`) unless given data.

    A JSON post is therefore a form with no answers, refused by validation with the usual
    messages, not a server error.
    """

    def __init__(self, formdata: Any = _POSTED, **kwargs: Any) -> None:
        super().__init__(formdata=posted_fields() if formdata is _POSTED else formdata, **kwargs)
