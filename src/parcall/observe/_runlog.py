"""Logged runs: an opt-in SQLite file of every run's request, answer, tokens and events.

`RunLog(path).record(result)` (or `record_events` for a run that failed) appends a run;
`list()` and `get(id)` read them back, and `parcall runs list|show|view` shows them.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._core.events import Event
from .._core.paths import data_file
from .._core.result import RunResult
from .._core.trace import event_to_dict

__all__ = ["LoggedRun", "RunLog", "default_log_path"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    request TEXT NOT NULL,
    answer TEXT,
    error TEXT,
    model TEXT NOT NULL,
    duration REAL NOT NULL,
    tasks INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    events TEXT NOT NULL
)
"""

COLUMNS = "id, started, request, answer, error, model, duration, tasks, input_tokens, output_tokens"
"""The columns of a `LoggedRun` without its events, in its fields' order."""


def default_log_path() -> Path:
    """`$PARCALL_RUNS_DB`, else `~/.local/share/parcall/runs.sqlite3`."""
    return data_file("PARCALL_RUNS_DB", "runs.sqlite3")


@dataclass(frozen=True, slots=True)
class LoggedRun:
    """One logged run; `events` are the trace's dicts (as `parcall trace` reads them)."""

    id: int
    started: float
    """Unix time the run was logged as started."""
    request: str
    answer: str | None
    error: str | None
    model: str
    duration: float
    tasks: int
    input_tokens: int
    output_tokens: int
    events: tuple[dict[str, Any], ...] = ()


class RunLog:
    """A SQLite file of runs. Each call opens its own connection, so a log may be shared by
    threads and processes (SQLite serialises the writes)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_log_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            yield db

    def record(self, result: RunResult, *, model: str = "", started: float | None = None) -> int:
        """Log a finished run; returns its id."""
        return self.record_events(
            result.events,
            request=result.request,
            model=model,
            duration=result.duration,
            started=started,
        )

    def record_events(
        self,
        events: Iterable[Event | Mapping[str, Any]],
        *,
        request: str,
        model: str = "",
        error: BaseException | str | None = None,
        duration: float | None = None,
        started: float | None = None,
    ) -> int:
        """Log a run from its events (e.g. one that failed: pass its `error`)."""
        rows = [e if isinstance(e, Mapping) else event_to_dict(e) for e in events]
        answer = next((str(r["answer"]) for r in reversed(rows) if r["kind"] == "answered"), None)
        calls = [r for r in rows if r["kind"] == "model_call_finished"]
        end = duration if duration is not None else max((r["time"] for r in rows), default=0.0)
        message = None if error is None else (str(error) or type(error).__name__)
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO runs (started, request, answer, error, model, duration, tasks, "
                "input_tokens, output_tokens, events) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    started if started is not None else time.time() - float(end),
                    request,
                    answer,
                    message,
                    model,
                    float(end),
                    sum(1 for r in rows if r["kind"] == "task_parsed"),
                    sum(int(r["usage"]["input_tokens"]) for r in calls),
                    sum(int(r["usage"]["output_tokens"]) for r in calls),
                    json.dumps(rows, default=str),
                ),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def list(self, *, limit: int = 50) -> list[LoggedRun]:
        """The newest runs first, without their events."""
        with self._connect() as db:
            found = db.execute(
                f"SELECT {COLUMNS} FROM runs ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [LoggedRun(*row) for row in found]

    def get(self, run_id: int) -> LoggedRun:
        """One run with its events; `KeyError` if there is none with this id."""
        with self._connect() as db:
            row = db.execute(
                f"SELECT {COLUMNS}, events FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
        if row is None:
            raise KeyError(f"no run {run_id} in {self.path}")
        return dataclasses.replace(LoggedRun(*row[:-1]), events=tuple(json.loads(row[-1])))
