"""Journals of runs: what a run asked, what each model call wrote, what each task returned.

`Agent(store=SQLiteRunStore("runs.sqlite3"))` writes a run's journal as it happens, so
`agent.resume(run_id)` can continue the run after the process died (see `parcall._run.journal`).
A `RunStore` has a few async methods on plain records; SQLite (the standard library) is the
default, one file on one machine.

Values may be pickled: open a journal only if you would unpickle its contents.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import anyio

from .._core.paths import data_file

__all__ = [
    "SCHEMA",
    "ModelCallRecord",
    "RunStore",
    "SQLiteRunStore",
    "SqlRunStore",
    "StoredRun",
    "TaskRecord",
    "default_journal_path",
]

RunStatus = Literal["running", "done", "failed"]


def default_journal_path() -> Path:
    """`$PARCALL_JOURNAL`, else `~/.local/share/parcall/journal.sqlite3` (what
    `parcall run --durable` and `parcall runs resume` use)."""
    return data_file("PARCALL_JOURNAL", "journal.sqlite3")


@dataclass(frozen=True, slots=True)
class StoredRun:
    """A journaled run. `meta` is what the caller chose to keep with it (the CLI keeps the
    options that rebuild its agent)."""

    id: str
    request: str
    started: float
    """Unix time the run first started."""
    status: RunStatus = "running"
    answer: str | None = None
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    history: tuple[dict[str, Any], ...] = ()
    """The conversation the run was given (`message_history`), as JSON-ready turns."""


@dataclass(frozen=True, slots=True)
class ModelCallRecord:
    """The `n`-th model call of a run (from 0): a digest of its request and its output."""

    n: int
    digest: str
    output: str
    """The output as JSON: a list of `{"text": ...}` and native tool-call pieces."""


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """A task that started (a tool with side effects) or finished with a value."""

    idx: int
    key: str
    """The call's identity: tool and arguments."""
    state: Literal["started", "done"]
    format: Literal["json", "pickle", ""] = ""
    payload: bytes = b""
    notes: tuple[str, ...] = ()


@runtime_checkable
class RunStore(Protocol):
    """Where journals are kept. Every write is durable when it returns."""

    async def begin(self, run: StoredRun) -> None:
        """Record a new run (an existing id is an error)."""
        ...

    async def get(self, run_id: str) -> StoredRun | None: ...

    async def runs(self, status: RunStatus | None = None, limit: int = 50) -> list[StoredRun]:
        """The latest runs first, optionally only those with `status`."""
        ...

    async def model_calls(self, run_id: str) -> list[ModelCallRecord]: ...

    async def put_model_call(self, run_id: str, record: ModelCallRecord) -> None:
        """Keep `record` as call `record.n`; calls after it no longer hold (they are dropped)."""
        ...

    async def tasks(self, run_id: str) -> dict[int, TaskRecord]: ...

    async def put_task(self, run_id: str, record: TaskRecord) -> None: ...

    async def finish(
        self, run_id: str, status: RunStatus, answer: str | None, error: str | None
    ) -> None: ...


SCHEMA = """
CREATE TABLE IF NOT EXISTS journal_runs (
    id TEXT PRIMARY KEY, request TEXT NOT NULL, started {real} NOT NULL, status TEXT NOT NULL,
    answer TEXT, error TEXT, meta TEXT NOT NULL, updated {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS journal_model_calls (
    run_id TEXT NOT NULL, n INTEGER NOT NULL, digest TEXT NOT NULL, output TEXT NOT NULL,
    PRIMARY KEY (run_id, n)
);
CREATE TABLE IF NOT EXISTS journal_tasks (
    run_id TEXT NOT NULL, idx INTEGER NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL,
    format TEXT NOT NULL, payload {blob} NOT NULL, notes TEXT NOT NULL,
    PRIMARY KEY (run_id, idx)
);
"""
"""The tables, for SQLite (`REAL`, `BLOB`) and PostgreSQL (`DOUBLE PRECISION`, `BYTEA`)."""

_RUN_COLUMNS = "id, request, started, status, answer, error, meta"
HISTORY_KEY = "parcall:message_history"
"""The key of the `meta` column under which a run's history is kept (no new column: journals
written before conversations existed read as they are)."""


class SqlRunStore:
    """The journal's queries, on any database that runs them one at a time in a thread:
    a subclass gives `_run_sync` (one statement, its rows) and `_batch_sync` (statements in
    one transaction). Queries use `?` placeholders."""

    def _run_sync(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _batch_sync(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        raise NotImplementedError

    async def _do(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return await anyio.to_thread.run_sync(self._run_sync, sql, params)

    async def begin(self, run: StoredRun) -> None:
        if await self._do("SELECT 1 FROM journal_runs WHERE id = ?", run.id):
            raise ValueError(f"the journal already has a run {run.id!r}")
        await self._do(
            "INSERT INTO journal_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            run.id,
            run.request,
            run.started,
            run.status,
            run.answer,
            run.error,
            json.dumps({**run.meta, HISTORY_KEY: list(run.history)} if run.history else run.meta),
            time.time(),
        )

    async def get(self, run_id: str) -> StoredRun | None:
        rows = await self._do(f"SELECT {_RUN_COLUMNS} FROM journal_runs WHERE id = ?", run_id)
        return _run(rows[0]) if rows else None

    async def runs(self, status: RunStatus | None = None, limit: int = 50) -> list[StoredRun]:
        where, params = ("WHERE status = ?", (status,)) if status else ("", ())
        rows = await self._do(
            f"SELECT {_RUN_COLUMNS} FROM journal_runs {where} ORDER BY started DESC, id LIMIT ?",
            *params,
            limit,
        )
        return [_run(row) for row in rows]

    async def model_calls(self, run_id: str) -> list[ModelCallRecord]:
        rows = await self._do(
            "SELECT n, digest, output FROM journal_model_calls WHERE run_id = ? ORDER BY n",
            run_id,
        )
        return [ModelCallRecord(*row) for row in rows]

    async def put_model_call(self, run_id: str, record: ModelCallRecord) -> None:
        statements: list[tuple[str, Sequence[Any]]] = [
            ("DELETE FROM journal_model_calls WHERE run_id = ? AND n >= ?", (run_id, record.n)),
            (
                "INSERT INTO journal_model_calls VALUES (?, ?, ?, ?)",
                (run_id, record.n, record.digest, record.output),
            ),
            ("UPDATE journal_runs SET updated = ? WHERE id = ?", (time.time(), run_id)),
        ]
        await anyio.to_thread.run_sync(self._batch_sync, statements)

    async def tasks(self, run_id: str) -> dict[int, TaskRecord]:
        rows = await self._do(
            "SELECT idx, key, state, format, payload, notes FROM journal_tasks WHERE run_id = ?",
            run_id,
        )
        return {
            idx: TaskRecord(idx, key, state, fmt, bytes(payload), tuple(json.loads(notes)))
            for idx, key, state, fmt, payload, notes in rows
        }

    async def put_task(self, run_id: str, record: TaskRecord) -> None:
        await self._do(
            "INSERT INTO journal_tasks VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, idx) "
            "DO UPDATE SET key = excluded.key, state = excluded.state, "
            "format = excluded.format, payload = excluded.payload, notes = excluded.notes",
            run_id,
            record.idx,
            record.key,
            record.state,
            record.format,
            record.payload,
            json.dumps(list(record.notes)),
        )

    async def finish(
        self, run_id: str, status: RunStatus, answer: str | None, error: str | None
    ) -> None:
        await self._do(
            "UPDATE journal_runs SET status = ?, answer = ?, error = ?, updated = ? WHERE id = ?",
            status,
            answer,
            error,
            time.time(),
            run_id,
        )


class SQLiteRunStore(SqlRunStore):
    """Journals in one SQLite file (created with its folder if missing). Writes are committed
    before they return (WAL mode), so a process killed at any point loses nothing written."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA.format(real="REAL", blob="BLOB"))

    def __repr__(self) -> str:
        return f"SQLiteRunStore({str(self.path)!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run_sync(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _batch_sync(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    self._db.execute(sql, params)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")


def _run(row: Sequence[Any]) -> StoredRun:
    id_, request, started, status, answer, error, meta = row
    kept = json.loads(meta)
    history = tuple(kept.pop(HISTORY_KEY, ()))
    return StoredRun(id_, request, started, status, answer, error, kept, history)
