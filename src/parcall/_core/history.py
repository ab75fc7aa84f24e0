"""Conversations: the earlier turns a run is given (`run(q, message_history=...)`).

A `Turn` is one earlier run kept compactly: its request, its answer, and each task's call and
result as text. The planner is shown them above the new question, so "and how tall is the
other one?" can be resolved, and earlier results are read there, not fetched again. Turns
are frozen pydantic models with a `kind`, so a conversation is stored as JSON and read back
(`result.all_messages_json()`, `Turn.model_validate(...)`, or the plain dicts given to
`message_history`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from .observation import Observation, format_value, truncate

__all__ = ["Turn", "TurnTask", "dump_turns", "history_argument", "render_turns", "turn_of"]

RESULT_CHARS = 2000
"""How much of a task's result a turn keeps (the prompt shows less: `Prompts.history_chars`)."""
ARGUMENT_CHARS = 120


class TurnTask(BaseModel):
    """One task of an earlier turn: the call as the plan wrote it, its result as text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    call: str
    """`search(query="Eiffel Tower")`"""
    result: str
    """The value as the model was shown it, or the error."""
    ok: bool = True
    kind: Literal["task"] = "task"


class Turn(BaseModel):
    """One earlier request of a conversation, with its answer and the tasks that found it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request: str
    answer: str
    tasks: tuple[TurnTask, ...] = ()
    run_id: str | None = None
    kind: Literal["turn"] = "turn"


_TURNS = TypeAdapter(list[Turn])


def turn_of(
    request: str, answer: str, observations: Iterable[Observation], run_id: str | None
) -> Turn:
    """The turn a finished run adds to its conversation."""
    tasks = tuple(
        TurnTask(
            call=_call_text(o.tool, o.args),
            result=format_value(o.value, RESULT_CHARS)
            if o.ok
            else truncate(f"ERROR: {o.error}", RESULT_CHARS),
            ok=o.ok,
        )
        for o in observations
    )
    return Turn(request=request, answer=answer, tasks=tasks, run_id=run_id)


def history_argument(value: object) -> tuple[Turn, ...]:
    """`message_history` as turns: None, or a sequence of `Turn`s or their dicts (JSON read
    back); anything else is an error that names the item."""
    if value is None:
        return ()
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise TypeError(
            "message_history must be a list of Turns (result.all_messages()) or their dicts, "
            f"not {type(value).__name__}"
        )
    turns = []
    for i, item in enumerate(value):
        if isinstance(item, Turn):
            turns.append(item)
            continue
        try:
            turns.append(Turn.model_validate(item))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'item'}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(f"message_history[{i}] is not a Turn: {problems}") from None
    return tuple(turns)


def dump_turns(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    """Turns as JSON-ready dicts (what `history_argument` reads back)."""
    dumped: list[dict[str, Any]] = _TURNS.dump_python(list(turns), mode="json")
    return dumped


def render_turns(turns: Sequence[Turn], intro: str, chars: int) -> str:
    """The earlier turns as the planner reads them, each result cut to `chars` characters.
    The calls are not numbered: the new plan's `$N` name its own tasks only."""
    lines = [intro]
    for turn in turns:
        if turn.request:
            lines.append(f"Q: {turn.request}")
        for task in turn.tasks:
            lines.append(f"  {task.call} → {truncate(' '.join(task.result.split()), chars)}")
        if turn.answer:
            lines.append(f"A: {turn.answer}")
    return "\n".join(lines)


def _call_text(tool: str, args: Mapping[str, Any]) -> str:
    shown = ", ".join(f"{k}={_literal(v)}" for k, v in args.items())
    return f"{tool}({shown})"


def _literal(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return truncate(text, ARGUMENT_CHARS)
