"""A capacity limiter that hands a freed slot to the waiting call of highest priority."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager

import anyio

__all__ = ["PriorityLimiter", "Waiter"]


class Waiter:
    """One call waiting for a slot; its priority is read again when `bump`ed."""

    __slots__ = ("event", "granted", "key", "priority", "version")

    def __init__(self, priority: Callable[[], float], key: Hashable = None) -> None:
        self.priority = priority
        self.key = key
        self.event = anyio.Event()
        self.granted = False
        self.version = 0


class PriorityLimiter:
    """At most `total` holders; a freed slot goes to the highest priority, then first come.

    A waiter's priority may rise while it waits (more of the plan is parsed below it):
    `bump(waiter)` files it again under its new priority, and the stale entry is skipped.
    `release(keep_for=key)` keeps the slot for a call that is about to ask for it (a task
    the releasing one's result makes ready), so a chain does not lose its slot in between.
    """

    def __init__(self, total: int) -> None:
        if total < 1:
            raise ValueError("a limit must be at least 1")
        self.total = total
        self.borrowed = 0
        self._heap: list[tuple[float, int, int, Waiter]] = []
        self._waiting = 0
        self._kept: set[Hashable] = set()
        self._order = itertools.count()

    @property
    def waiting(self) -> int:
        return self._waiting

    @asynccontextmanager
    async def hold(self, waiter: Waiter) -> AsyncIterator[None]:
        await self.acquire(waiter)
        try:
            yield
        finally:
            self.release()

    def top_priority(self) -> float | None:
        """The priority of the call that would get the next freed slot (None: nobody waits)."""
        while self._heap:
            priority, _, version, waiter = self._heap[0]
            if version == waiter.version:
                return -priority
            heapq.heappop(self._heap)
        return None

    def bump(self, waiter: Waiter) -> None:
        if waiter.granted or waiter.version <= 0:
            return  # not (or no longer) waiting
        waiter.version += 1
        self._push(waiter)

    def _push(self, waiter: Waiter) -> None:
        entry = (-waiter.priority(), next(self._order), waiter.version, waiter)
        heapq.heappush(self._heap, entry)

    async def acquire(self, waiter: Waiter) -> None:
        if waiter.key is not None and waiter.key in self._kept:
            self._kept.discard(waiter.key)
            return
        if self.borrowed < self.total and not self._waiting:
            self.borrowed += 1
            return
        waiter.version = 1
        self._waiting += 1
        self._push(waiter)
        try:
            await waiter.event.wait()
        except BaseException:
            if waiter.granted:
                self.release()  # the slot arrived with the cancellation: pass it on
            else:
                waiter.version = -1
                self._waiting -= 1
            raise

    def release(self, keep_for: Hashable = None) -> None:
        if keep_for is not None:
            self._kept.add(keep_for)
            return
        while self._heap:
            _, _, version, waiter = heapq.heappop(self._heap)
            if version != waiter.version:
                continue  # filed again under a newer priority, or gone
            waiter.granted = True
            self._waiting -= 1
            waiter.event.set()  # the slot passes straight to it
            return
        self.borrowed -= 1

    def forget(self, key: Hashable) -> None:
        """A kept slot's call will not come (it settled another way): free the slot."""
        if key in self._kept:
            self._kept.discard(key)
            self.release()
