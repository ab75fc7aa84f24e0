"""Durable runs: a run's journal is written as it happens, and replayed to resume the run.

With `Agent(store=...)` every model call's output and every finished task's value is
committed to the store the moment it exists. `Agent.resume(run_id)` runs the request again
against the journal: each model call whose request is the same as before is answered from
the journal (no model call), and each task whose call is the same as before takes its
journaled value (the tool is not called). Everything after the last journaled step runs for
real: the model call that was in flight is redone, tasks that were running run again — except
tasks of tools with `side_effects=True`, which are journaled as started before they run and,
if they never finished, are reported as an error for the joiner (and the user) to judge
rather than repeated.

Replay stops at the first model call whose request differs (other prompts, other tools, a
task that now returned something else): from there the run continues live.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import time
import uuid
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from .._core.call_key import call_key, dump_value, load_value
from .._core.errors import ParcallError, ToolError
from .._core.events import PassApplied
from .._core.history import Turn, dump_turns, history_argument
from .._core.observation import Observation
from .._core.tool import JournalMode
from ..models._base import ModelRequest, TextChunk, ToolCallChunk
from ..store._runs import ModelCallRecord, RunStatus, RunStore, StoredRun, TaskRecord
from .plan_pass import Call, PassContext, PassRun, Proceed

__all__ = ["Journal", "JournalError", "check_store"]

Chunk = TextChunk | ToolCallChunk
T = TypeVar("T")


class JournalError(ParcallError):
    """The run's journal could not be read or written."""


def check_store(store: object) -> RunStore | None:
    if store is None or isinstance(store, RunStore):
        return store
    raise TypeError(f"store: {store!r} is not a RunStore (see parcall.store.SQLiteRunStore)")


class Journal:
    """One run's journal: what the store held when the run (re)started, and a cursor."""

    def __init__(
        self,
        store: RunStore,
        run: StoredRun,
        calls: list[ModelCallRecord] | None = None,
        tasks: Mapping[int, TaskRecord] | None = None,
    ) -> None:
        self.store = store
        self.run = run
        self._calls = calls or []
        self._tasks = dict(tasks or {})
        self._n = 0
        self._replaying = bool(self._calls)
        self.replayed_calls = 0
        self.replayed_tasks = 0

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def history(self) -> tuple[Turn, ...]:
        """The conversation the run was given (`message_history`)."""
        return history_argument(self.run.history)

    @classmethod
    async def begin(
        cls,
        store: RunStore,
        request: str,
        run_id: str | None,
        meta: Mapping[str, Any] | None,
        history: Sequence[Turn] = (),
    ) -> Journal:
        run = StoredRun(
            run_id or uuid.uuid4().hex,
            request,
            time.time(),
            meta=dict(meta or {}),
            history=tuple(dump_turns(history)),
        )
        await _guard(store.begin(run), "start")
        return cls(store, run)

    @classmethod
    async def resume(cls, store: RunStore, run_id: str) -> Journal:
        run = await _guard(store.get(run_id), "read")
        if run is None:
            raise ValueError(f"the journal has no run {run_id!r}")
        calls = await _guard(store.model_calls(run_id), "read")
        tasks = await _guard(store.tasks(run_id), "read")
        return cls(store, run, calls, tasks)

    # --- model calls ----------------------------------------------------------------------

    def replay(self, request: ModelRequest) -> list[Chunk] | None:
        """The journaled output of this call, if the run made the same call before."""
        if not self._replaying:
            return None
        if self._n < len(self._calls) and self._calls[self._n].digest == digest(request):
            self._n += 1
            self.replayed_calls += 1
            return _load_chunks(self._calls[self._n - 1].output)
        self._replaying = False  # from here on the run differs from the journal
        return None

    async def record(self, request: ModelRequest, chunks: list[Chunk]) -> None:
        record = ModelCallRecord(self._n, digest(request), _dump_chunks(chunks))
        await _guard(self.store.put_model_call(self.run_id, record), "write")
        self._n += 1

    # --- tasks ----------------------------------------------------------------------------

    def task_pass(self, run: PassContext) -> PassRun:
        return _JournalRun(self, run)

    async def finish(self, status: RunStatus, answer: str | None, error: str | None) -> None:
        await _guard(self.store.finish(self.run_id, status, answer, error), "write")


class _JournalRun(PassRun):
    """The outermost pass: answers a call from the journal, or journals what it returns."""

    def __init__(self, journal: Journal, run: PassContext) -> None:
        self._journal = journal
        self._run = run

    async def call(self, call: Call, proceed: Proceed) -> Observation:
        journal, task, tool = self._journal, call.task, call.tool
        key = call_key(tool.name, call.arguments) or f"{tool.name}:{task.idx}"
        before = journal._tasks.get(task.idx)
        now = self._run.clock()
        if before is not None and before.key == key:
            if before.state == "done":
                journal.replayed_tasks += 1
                self._run.emit(PassApplied("journal", task.idx, "value from the journal", (), now))
                return Observation.done(
                    task.idx,
                    task.tool,
                    call.arguments,
                    _load_value(before),
                    started_at=now,
                    finished_at=self._run.clock(),
                    notes=before.notes,
                )
            if tool.side_effects:
                error = ToolError(
                    f"{tool.name} was running when the run stopped and was not run again, "
                    "because it acts on the world: whether it took effect is unknown"
                )
                return Observation.failed(
                    task.idx, task.tool, call.arguments, error, finished_at=now
                )
        if tool.side_effects:
            started = TaskRecord(task.idx, key, "started")
            await _guard(journal.store.put_task(journal.run_id, started), "write")
        observation = await proceed(call)
        if observation.ok:
            stored = _dump_value(observation.value, tool.journal)
            if stored is not None:
                done = TaskRecord(task.idx, key, "done", stored[0], stored[1], observation.notes)
                await _guard(journal.store.put_task(journal.run_id, done), "write")
        return observation


def digest(request: ModelRequest) -> str:
    """What identifies a model call: its purpose, messages and token bound."""
    text = json.dumps(
        [
            request.purpose,
            [[m.role, m.content] for m in request.messages],
            request.max_tokens,
            [t.name for t in request.tools],
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _dump_chunks(chunks: list[Chunk]) -> str:
    out: list[dict[str, Any]] = []
    for chunk in chunks:
        if isinstance(chunk, TextChunk):
            if out and "text" in out[-1]:
                out[-1]["text"] += chunk.text
            else:
                out.append({"text": chunk.text})
        else:
            out.append(
                {"index": chunk.index, "id": chunk.id, "name": chunk.name, "args": chunk.arguments}
            )
    return json.dumps(out)


def _load_chunks(text: str) -> list[Chunk]:
    return [
        TextChunk(c["text"])
        if "text" in c
        else ToolCallChunk(c["index"], c["id"], c["name"], c["args"])
        for c in json.loads(text)
    ]


def _dump_value(value: Any, mode: JournalMode) -> tuple[Literal["json", "pickle"], bytes] | None:
    """As the tool's `journal` says: JSON when it reads back equal, else (`auto`) a pickle;
    None when the value is not kept (the task runs again on resume)."""
    if mode == "never":
        return None
    text = dump_value(value) if mode != "pickle" else None
    if text is not None:
        return "json", text.encode()
    if mode == "json":
        return None
    try:
        return "pickle", pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return None


def _load_value(record: TaskRecord) -> Any:
    if record.format == "json":
        return load_value(record.payload.decode())
    return pickle.loads(record.payload)


async def _guard(work: Awaitable[T], what: str) -> T:
    try:
        return await work
    except (ValueError, JournalError):
        raise
    except Exception as exc:
        raise JournalError(f"could not {what} the run journal: {exc}") from exc
