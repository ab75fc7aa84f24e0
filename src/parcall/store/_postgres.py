"""Journals of runs in PostgreSQL (`pip install 'parcall[postgres]'`): one journal shared by
several processes, e.g. `parcall serve` replicas behind a load balancer, so that any of
them can resume a run another one started."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from .._core.extras import require
from ._runs import SCHEMA, SqlRunStore

__all__ = ["PostgresRunStore"]


class PostgresRunStore(SqlRunStore):
    """Journals in the PostgreSQL database at `dsn` (`postgresql://user@host/db`, or
    libpq's `host=... dbname=...`); the tables are created if missing. Each write is
    committed before it returns. Uses psycopg 3 (its blocking API, in a worker thread, so
    the store works under asyncio and trio alike)."""

    def __init__(self, dsn: str) -> None:
        psycopg = require("psycopg", needed_for="PostgresRunStore")
        self.dsn = dsn
        self._lock = threading.Lock()
        try:
            self._db = psycopg.connect(dsn, autocommit=True)
        except psycopg.Error as exc:
            raise ValueError(f"cannot connect to PostgreSQL at {dsn!r}: {exc}") from None
        with self._lock, self._db.cursor() as cur:
            cur.execute(SCHEMA.format(real="DOUBLE PRECISION", blob="BYTEA"))

    def __repr__(self) -> str:
        return f"PostgresRunStore({self.dsn!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run_sync(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._lock, self._db.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params)
            return list(cur.fetchall()) if cur.description else []

    def _batch_sync(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        with self._lock, self._db.transaction(), self._db.cursor() as cur:
            for sql, params in statements:
                cur.execute(sql.replace("?", "%s"), params)
