"""The identity of a call: the same tool with equal arguments, or no identity at all; and
values as JSON text that reads back equal."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from .tool import Tool

__all__ = ["call_key", "dump_value", "load_value", "mergeable"]


class _Opaque(Exception):
    """An argument that has no exact, stable text form (so its call is never merged)."""


def call_key(tool: str, arguments: Mapping[str, Any]) -> str | None:
    """A stable key for a call, or None when an argument is not plain data.

    Types are kept apart (`1`, `1.0`, `True` and `"1"` differ; so do a list and a tuple),
    so two calls share a key only when a tool could not tell them apart.
    """
    try:
        text = json.dumps([tool, _tagged(dict(arguments))], separators=(",", ":"))
    except _Opaque:
        return None
    return f"{tool}:{hashlib.sha256(text.encode()).hexdigest()}"


def mergeable(tool: Tool) -> bool:
    """Whether calls of `tool` may be shared or cached: it is marked idempotent and does not
    act on the world (a call of a tool with `side_effects=True` is always made)."""
    return tool.idempotent and not tool.side_effects


def _tagged(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return ["int", str(value)]
    if isinstance(value, float):
        return ["float", repr(value) if math.isfinite(value) else str(value)]
    if isinstance(value, list):
        return ["list", [_tagged(v) for v in value]]
    if isinstance(value, tuple):
        return ["tuple", [_tagged(v) for v in value]]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise _Opaque
        return ["dict", sorted([k, _tagged(v)] for k, v in value.items())]
    raise _Opaque


def dump_value(value: Any) -> str | None:
    """A value as JSON text, or None if reading the text back would not give an equal value
    of the same types (tuples, non-string keys, objects): such values are not stored."""
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None
    return text if _same(json.loads(text), value) else None


def load_value(text: str) -> Any:
    return json.loads(text)


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)
