"""Observations: settled tasks, and how their values are shown to the model."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ._errors import InvalidArgumentsError
from ._plan import Ref, Template

__all__ = ["Observation", "format_value", "resolve"]


@dataclass(frozen=True, slots=True)
class Observation:
    """A settled task: its value (kept as the typed Python object) or its error.

    Times are seconds since the run started. `started_at` is None for a task that never
    ran (its arguments were invalid, or a dependency failed).
    """

    idx: int
    tool: str
    args: dict[str, Any]
    status: Literal["done", "failed"]
    value: Any = None
    error: str | None = None
    error_type: str | None = None
    started_at: float | None = None
    finished_at: float = 0.0
    attempts: int = 0
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    kind: Literal["observation"] = "observation"

    @property
    def ok(self) -> bool:
        return self.status == "done"

    @property
    def duration(self) -> float | None:
        return None if self.started_at is None else self.finished_at - self.started_at

    def show(self, limit: int) -> str:
        """The text the model sees: the value or the error, truncated to `limit` characters."""
        if self.ok:
            return format_value(self.value, limit)
        return truncate(f"ERROR ({self.error_type}): {self.error}", limit)


def format_value(value: Any, limit: int = 2000) -> str:
    """Text for a model: strings as they are, JSON-able data as JSON, anything else via str."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (dict, list, tuple, int, float, bool)) or value is None:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = str(value)
    else:
        text = str(value)
    return truncate(text, limit)


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [truncated: {len(text) - limit:,} more characters]"


def resolve(value: Any, results: Mapping[int, Any], fmt: Callable[[Any], str]) -> Any:
    """Replace Refs by the typed results they name; Templates become formatted strings."""
    if isinstance(value, Ref):
        return _follow(value, results[value.task])
    if isinstance(value, Template):
        return "".join(
            p if isinstance(p, str) else fmt(_follow(p, results[p.task])) for p in value.parts
        )
    if isinstance(value, dict):
        return {k: resolve(v, results, fmt) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, results, fmt) for v in value]
    return value


def _follow(ref: Ref, value: Any) -> Any:
    for item in ref.path:
        try:
            if isinstance(value, Mapping) or isinstance(item, int):
                value = value[item]
            else:
                value = getattr(value, item)
        except (KeyError, IndexError, AttributeError, TypeError) as exc:
            raise InvalidArgumentsError(
                f"{ref} cannot be resolved: {type(value).__name__} has no {item!r} ({exc})"
            ) from None
    return value
