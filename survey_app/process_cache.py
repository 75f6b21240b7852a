"""What a process builds once and then shares between its requests: survey definitions, form
classes and rendered blank pages for the respondents' pages."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class ProcessCache(Generic[V]):
    """Values by key, each made by the first request that needs it and then read by every
    thread of the process, so a value must never be changed once made. Keys name everything a
    value depends on (a definition's revision, say), so a value is never stale, only unused;
    the cache is emptied when it holds `limit` of them. Two threads may both make a missing
    value: each gets its own, and one of them is kept."""

    def __init__(self, limit: int) -> None:
        self._values: dict[Hashable, V] = {}
        self._limit = limit

    def get(self, key: Hashable, make: Callable[[], V | None]) -> V | None:
        """The value kept for `key`, or `make()`'s, kept unless it is None (which tells that
        the value could not be made to share)."""
        value = self._values.get(key)
        if value is None:
            value = make()
            if value is None:
                return None
            if len(self._values) >= self._limit:
                self._values.clear()
            self._values[key] = value
        return value
