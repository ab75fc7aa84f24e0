"""A store in an SQLite file (standard library): caches that outlive the process."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import anyio

from ._base import check_ttl

__all__ = ["SQLiteStore"]


class SQLiteStore:
    """Values in an SQLite table; expired ones are never returned and are deleted when read.

    Queries run in a worker thread, so a slow disk does not stall the event loop.
    `clock` (wall-clock seconds) is for tests.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        table: str = "parcall_store",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not table.isidentifier():
            raise ValueError(f"table must be an identifier, not {table!r}")
        self.path = Path(path)
        self._table = table
        self._clock = clock
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(self.path), check_same_thread=False)
            with self._db:
                self._db.execute(
                    f"CREATE TABLE IF NOT EXISTS {table} "
                    "(key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL)"
                )
        except sqlite3.Error as exc:
            raise ValueError(f"cannot open the SQLite store {self.path}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    async def get(self, key: str) -> str | None:
        return await anyio.to_thread.run_sync(self._get, key)

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        check_ttl(ttl)
        expires = None if ttl is None else self._clock() + ttl
        await anyio.to_thread.run_sync(self._set, key, value, expires)

    def _get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT value, expires FROM {self._table} WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            value, expires = row
            if expires is not None and self._clock() >= expires:
                with self._db:
                    self._db.execute(f"DELETE FROM {self._table} WHERE key = ?", (key,))
                return None
            return str(value)

    def _set(self, key: str, value: str, expires: float | None) -> None:
        with self._lock, self._db:
            self._db.execute(
                f"INSERT OR REPLACE INTO {self._table} (key, value, expires) VALUES (?, ?, ?)",
                (key, value, expires),
            )
