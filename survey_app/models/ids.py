"""The primary key of a stored row, for code that needs it as the int it then is."""

from typing import Protocol


class HasId(Protocol):
    """A table row with an integer primary key, None until the database assigns it."""

    @property
    def id(self) -> int | None: ...


def stored_id(row: HasId) -> int:
    """The primary key of `row`, which must have been stored (flushed or loaded); refuses
    (ValueError) a row the database has not yet given one."""
    if row.id is None:
        raise ValueError(f"this {type(row).__name__} has no id: it has not been stored")
    return row.id
