"""Observations: settled tasks, and how their values are shown to the model."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import InvalidArgumentsError
from .plan import Ref, Template

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
    notes: tuple[str, ...] = ()
    """What the run did with the task's inputs that the model should know, e.g. that
    `$1.id` on a list of results took the first item's `id`."""
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    kind: Literal["observation"] = "observation"

    @classmethod
    def done(
        cls,
        idx: int,
        tool: str,
        args: dict[str, Any],
        value: Any,
        *,
        started_at: float | None,
        finished_at: float,
        attempts: int = 0,
        notes: tuple[str, ...] = (),
    ) -> Observation:
        """A task that gave `value`."""
        return cls(
            idx,
            tool,
            args,
            "done",
            value=value,
            started_at=started_at,
            finished_at=finished_at,
            attempts=attempts,
            notes=notes,
        )

    @classmethod
    def failed(
        cls,
        idx: int,
        tool: str,
        args: dict[str, Any],
        error: BaseException,
        *,
        finished_at: float,
        started_at: float | None = None,
        attempts: int = 0,
        notes: tuple[str, ...] = (),
    ) -> Observation:
        """A task that failed with `error` (kept, and named by its type)."""
        return cls(
            idx,
            tool,
            args,
            "failed",
            error=str(error) or type(error).__name__,
            error_type=type(error).__name__,
            started_at=started_at,
            finished_at=finished_at,
            attempts=attempts,
            notes=notes,
            exception=error,
        )

    @property
    def ok(self) -> bool:
        return self.status == "done"

    @property
    def duration(self) -> float | None:
        return None if self.started_at is None else self.finished_at - self.started_at

    def show(self, limit: int) -> str:
        """The text the model sees: the value or the error, truncated to `limit` characters,
        then the notes."""
        if self.ok:
            text = format_value(self.value, limit)
        else:
            text = truncate(f"ERROR ({self.error_type}): {self.error}", limit)
        return "".join([text, *(f"\n(note: {note})" for note in self.notes)])


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


def resolve(
    value: Any,
    results: Mapping[int, Any],
    fmt: Callable[[Any], str],
    notes: list[str] | None = None,
) -> Any:
    """Replace Refs by the typed results they name; Templates become formatted strings.

    A field taken from a list of results (`$1.id` where task 1 returned a list) is the first
    item's field, as public nested-call datasets write it; each such step adds a line to
    `notes` (when given) so the model can be told. An index (`$1[2].id`) is always exact.
    """
    if isinstance(value, Ref):
        return _follow(value, results[value.task], notes)
    if isinstance(value, Template):
        return "".join(
            p if isinstance(p, str) else fmt(_follow(p, results[p.task], notes))
            for p in value.parts
        )
    if isinstance(value, dict):
        return {k: resolve(v, results, fmt, notes) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, results, fmt, notes) for v in value]
    return value


def _follow(ref: Ref, value: Any, notes: list[str] | None = None) -> Any:
    for depth, item in enumerate(ref.path):
        if isinstance(item, str) and _is_list(value) and value:
            # `$1.id` on a list of results means the first result's id.
            first = value[0]
            if _has_field(first, item):
                if notes is not None:
                    where = str(Ref(ref.task, ref.path[:depth]))
                    count = len(value)
                    noun = "item" if count == 1 else "items"
                    notes.append(
                        f"{where} is a list of {count} {noun}; {ref} used the first item's "
                        f"{item!r} (write {Ref(ref.task, (*ref.path[:depth], 0, item))} "
                        "or another index to choose)"
                    )
                value = first
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


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def _has_field(value: Any, name: str) -> bool:
    if isinstance(value, Mapping):
        return name in value
    return not isinstance(value, (str, bytes, int, float, list, tuple)) and hasattr(value, name)


def path_hint(args: Mapping[str, Any], resolved: Mapping[str, Any], fields: list[str]) -> str:
    """For arguments that failed validation: which of them got a whole record or list from
    a `$N` where one part was likely meant, and how to take it (`$1` is a record with keys
    id, name: write `$1.id`)."""
    hints: list[str] = []
    for name in dict.fromkeys(fields):
        ref, value = args.get(name), resolved.get(name)
        if not isinstance(ref, Ref):
            continue
        keys = [k for k in value if isinstance(k, str)] if isinstance(value, Mapping) else []
        if keys:
            key = _likely_key(name, keys)
            part = Ref(ref.task, (*ref.path, key))
            hints.append(f"{ref} is a record with keys {', '.join(keys)}: write {part}")
        elif _is_list(value) and value:
            first = Ref(ref.task, (*ref.path, 0))
            hints.append(f"{ref} is a list: write {first} for its first item")
    return "; ".join(hints)


def _likely_key(field_name: str, keys: list[str]) -> str:
    """The key an argument most likely wanted: its own name, the key its name ends with
    (`user_id` → `id`), else the first."""
    lowered = field_name.lower()
    for key in keys:
        if key.lower() == lowered:
            return key
    ends = [k for k in keys if lowered.endswith(f"_{k.lower()}") or lowered.endswith(k.lower())]
    return max(ends, key=len) if ends else keys[0]
