"""Traces: events as JSON lines, readable by `parcall trace` and any JSON tool."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from .events import Event
from .observation import format_value

__all__ = ["TraceWriter", "event_to_dict", "write_trace"]

VALUE_CHARS = 10_000


def event_to_dict(event: Event | object, *, value_chars: int = VALUE_CHARS) -> dict[str, Any]:
    """A JSON-safe dict of an event (or any of parcall's records); values become text."""
    result: dict[str, Any] = _jsonable(event, value_chars)
    return result


def _jsonable(value: Any, limit: int) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            if f.name == "exception":
                continue
            item = getattr(value, f.name)
            if f.name == "value":
                out[f.name] = None if item is None else format_value(item, limit)
            else:
                out[f.name] = _jsonable(item, limit)
        if hasattr(value, "kind") and "kind" in out:
            out = {"kind": out.pop("kind"), **out}
        return out
    if isinstance(value, dict):
        return {str(k): _jsonable(v, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, limit) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return format_value(value, limit)


class TraceWriter:
    """Writes each event as one JSON line as it happens (so a crash keeps what came before)."""

    def __init__(self, stream: IO[str], *, value_chars: int = VALUE_CHARS) -> None:
        self._stream = stream
        self._value_chars = value_chars

    def __call__(self, event: Event) -> None:
        line = json.dumps(event_to_dict(event, value_chars=self._value_chars), default=str)
        self._stream.write(line + "\n")
        self._stream.flush()


def write_trace(events: Iterable[Event], path: str | Path) -> None:
    with open(path, "w", encoding="utf-8") as stream:
        writer = TraceWriter(stream)
        for event in events:
            writer(event)
