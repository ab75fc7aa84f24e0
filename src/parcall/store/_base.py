"""The one protocol every store implements: text values under text keys, with a lifetime."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["MemoryStore", "Store", "check_ttl"]


@runtime_checkable
class Store(Protocol):
    """Where caches keep what they learn. `ttl` is in seconds; None keeps a value forever."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl: float | None = None) -> None: ...


def check_ttl(ttl: float | None) -> float | None:
    if ttl is not None and not ttl > 0:
        raise ValueError(f"ttl must be a positive number of seconds or None, not {ttl!r}")
    return ttl


class MemoryStore:
    """A dict in this process (the default). `clock` is for tests; `max_entries` bounds it,
    dropping the oldest entries first."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_entries: int | None = 100_000
    ) -> None:
        if max_entries is not None and max_entries < 1:
            raise ValueError("max_entries must be at least 1 (or None for no bound)")
        self._clock = clock
        self._max = max_entries
        self._items: dict[str, tuple[float | None, str]] = {}

    def __len__(self) -> int:
        return len(self._items)

    async def get(self, key: str) -> str | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires is not None and self._clock() >= expires:
            del self._items[key]
            return None
        return value

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        check_ttl(ttl)
        self._items.pop(key, None)
        self._items[key] = (None if ttl is None else self._clock() + ttl, value)
        if self._max is not None and len(self._items) > self._max:
            del self._items[next(iter(self._items))]
