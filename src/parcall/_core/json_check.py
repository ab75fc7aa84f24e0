"""`StructuredDict(schema)`: an `output_type` given as a JSON schema, checked by it.

For a shape that arrives as data (an OpenAI `response_format`), not as a Python type. The
checks cover what structured outputs use: `type`, `properties`, `required`,
`additionalProperties`, `items`, `prefixItems`, `enum`, `const`, `anyOf`/`oneOf`/`allOf`,
`$ref` into `$defs`, and the bounds of strings, numbers and arrays (`pattern` too). Other
keywords are not checked.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import core_schema

__all__ = ["StructuredDict", "schema_errors"]

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}
_MAX_ERRORS = 5
_BOUNDS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}


def StructuredDict(
    json_schema: dict[str, Any], name: str | None = None, description: str | None = None
) -> type[dict[str, Any]]:
    """A type for `output_type=` whose values are JSON fitting `json_schema` (as pydantic-ai's
    `StructuredDict`): the joiner is shown the schema, a grammar is made from it, and an
    answer is checked against it."""
    if not isinstance(json_schema, dict):
        raise TypeError(f"StructuredDict: json_schema must be a dict, not {type(json_schema)}")
    schema = dict(json_schema)
    if name is not None:
        schema.setdefault("title", name)
    if description is not None:
        schema.setdefault("description", description)
    try:
        json.dumps(schema)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"StructuredDict: json_schema is not JSON: {exc}") from None

    def check(value: Any) -> Any:
        errors = schema_errors(value, schema)
        if errors:
            raise ValueError("; ".join(errors))
        return value

    class _Structured(dict[str, Any]):
        @classmethod
        def __get_pydantic_core_schema__(
            cls, source: Any, handler: GetCoreSchemaHandler
        ) -> core_schema.CoreSchema:
            return core_schema.no_info_after_validator_function(check, core_schema.any_schema())

        @classmethod
        def __get_pydantic_json_schema__(
            cls, core: core_schema.CoreSchema, handler: GetJsonSchemaHandler
        ) -> dict[str, Any]:
            # Inside another model's schema: its own `$ref`s would not resolve there.
            inlined: dict[str, Any] = _inline(schema, schema)
            return inlined

    _Structured.__parcall_schema__ = schema  # type: ignore[attr-defined]
    _Structured.__name__ = _Structured.__qualname__ = name or str(schema.get("title", "Structured"))
    return _Structured


def schema_errors(value: Any, schema: Any, root: Any = None, path: str = "") -> list[str]:
    """What in `value` does not fit `schema` (empty when it fits), each naming its place."""
    root = schema if root is None else root
    if not isinstance(schema, dict):
        return [] if schema is not False else [f"{path or 'the value'}: nothing is allowed here"]
    where = path or "the value"
    if "$ref" in schema:
        target = _ref(root, str(schema["$ref"]))
        if target is None:
            return []
        return schema_errors(value, target, root, path)
    if "const" in schema and value != schema["const"]:
        return [f"{where}: must be {json.dumps(schema['const'])}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: must be one of {', '.join(json.dumps(v) for v in schema['enum'])}"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            fits = [not schema_errors(value, s, root, path) for s in schema[key]]
            if not any(fits):
                return [f"{where}: fits none of the allowed shapes"]
    for sub in schema.get("allOf", []):
        errors = schema_errors(value, sub, root, path)
        if errors:
            return errors
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_is(value, k) for k in kinds):
            return [f"{where}: must be {' or '.join(map(str, kinds))}, not {_name(value)}"]
    if isinstance(value, dict):
        return _object(value, schema, root, path)
    if isinstance(value, list):
        return _array(value, schema, root, path)
    return _scalar(value, schema, where)


def _object(value: dict[str, Any], schema: dict[str, Any], root: Any, path: str) -> list[str]:
    errors = [
        f"{path + '.' if path else ''}{key}: required"
        for key in schema.get("required", [])
        if key not in value
    ]
    props: dict[str, Any] = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        place = f"{path}.{key}" if path else key
        if key in props:
            errors += schema_errors(item, props[key], root, place)
        elif extra is False:
            errors.append(f"{place}: not allowed (no such property)")
        elif isinstance(extra, dict):
            errors += schema_errors(item, extra, root, place)
    return errors[:_MAX_ERRORS]


def _array(value: list[Any], schema: dict[str, Any], root: Any, path: str) -> list[str]:
    where = path or "the value"
    errors = []
    if len(value) < schema.get("minItems", 0):
        errors.append(f"{where}: needs at least {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(f"{where}: takes at most {schema['maxItems']} items")
    first: list[Any] = schema.get("prefixItems", [])
    for n, item in enumerate(value):
        sub = first[n] if n < len(first) else schema.get("items", {})
        errors += schema_errors(item, sub, root, f"{path}[{n}]")
    return errors[:_MAX_ERRORS]


def _scalar(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return [f"{where}: shorter than {schema['minLength']} characters"]
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return [f"{where}: longer than {schema['maxLength']} characters"]
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and re.search(pattern, value) is None:
            return [f"{where}: does not match {pattern!r}"]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        for key, sign in _BOUNDS.items():
            bound = schema.get(key)
            if isinstance(bound, (int, float)) and not _holds(value, sign, bound):
                return [f"{where}: must be {sign} {bound}"]
    return []


def _holds(value: float, sign: str, bound: float) -> bool:
    return {">=": value >= bound, "<=": value <= bound, ">": value > bound, "<": value < bound}[
        sign
    ]


def _is(value: Any, kind: str) -> bool:
    if kind == "null":
        return value is None
    if isinstance(value, bool) and kind != "boolean":
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(kind, (object,)))


def _name(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _ref(root: Any, ref: str) -> Any:
    if not ref.startswith("#/"):
        return None
    node = root
    for part in ref[2:].split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _inline(node: Any, root: Any, depth: int = 0) -> Any:
    """`node` with every `$ref` replaced by what it names (a cycle ends in `{}`)."""
    if isinstance(node, list):
        return [_inline(v, root, depth) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = _ref(root, str(node["$ref"]))
        return {} if target is None or depth > 8 else _inline(target, root, depth + 1)
    defs = ("$defs", "definitions")
    return {k: _inline(v, root, depth) for k, v in node.items() if k not in defs}
