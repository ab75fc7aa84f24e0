"""Argument models from JSON schemas: for tools described by a schema, not a signature
(MCP servers, OpenAPI operations, benchmark tool specs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model

__all__ = ["model_from_schema"]

_SCALARS: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "null": type(None),
}


def model_from_schema(name: str, schema: Mapping[str, Any]) -> type[BaseModel]:
    """A pydantic model for a JSON schema of `"type": "object"` (BFCL's `"dict"` too).

    Properties become fields (required ones without a default); unknown or loose types
    become `Any`, so a schema parcall does not fully understand still validates what it can.
    """
    properties: Mapping[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    fields: dict[str, Any] = {}
    for prop, spec in properties.items():
        if prop.startswith("_"):
            raise ValueError(
                f"tool {name!r}: argument {prop!r} starts with an underscore, which pydantic "
                "reserves; rename it (e.g. to "
                f"{(prop.lstrip('_') or 'arg') + '_'!r})"
            )
        spec = spec if isinstance(spec, Mapping) else {}
        annotation = _annotation(spec)
        description = spec.get("description")
        if prop in required:
            fields[prop] = (annotation, Field(..., description=description))
        else:
            default = spec.get("default")
            fields[prop] = (Optional[annotation], Field(default, description=description))  # noqa: UP045
    extra: Literal["allow", "forbid"] = (
        "allow" if schema.get("additionalProperties") is True else "forbid"
    )
    model: type[BaseModel] = create_model(
        f"{name}_arguments", __config__=ConfigDict(extra=extra), **fields
    )
    return model


def _annotation(spec: Mapping[str, Any]) -> Any:
    if (
        "enum" in spec
        and spec["enum"]
        and all(isinstance(v, (str, int, bool)) for v in spec["enum"])
    ):
        return Literal[tuple(spec["enum"])]
    kind = spec.get("type")
    if isinstance(kind, list):
        options = [_annotation({**spec, "type": k}) for k in kind]
        return Any if not options else _union(options)
    if kind in _SCALARS:
        return float | int if kind == "number" else _SCALARS[kind]
    if kind in ("float",):  # BFCL writes Python type names
        return float | int
    if kind in ("array", "tuple"):
        items = spec.get("items")
        return list[_annotation(items)] if isinstance(items, Mapping) else list[Any]  # type: ignore[misc]
    if kind in ("object", "dict"):
        return dict[str, Any]
    if "anyOf" in spec or "oneOf" in spec:
        options = [_annotation(s) for s in spec.get("anyOf", spec.get("oneOf", ()))]
        return _union(options) if options else Any
    return Any


def _union(options: list[Any]) -> Any:
    result = options[0]
    for option in options[1:]:
        result = result | option
    return result
