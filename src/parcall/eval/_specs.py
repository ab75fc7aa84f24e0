"""Benchmark tool specs as parcall tools: packaged data files, names plans can write, and
stub results that hold the fields later calls refer to."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import keyword
import re
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

from pydantic import BaseModel, ValidationError

from .._core.schema import model_from_schema

__all__ = [
    "admit",
    "data_text",
    "is_placeholder",
    "param_name",
    "placeholder",
    "read_json",
    "read_jsonl",
    "renamed_parameters",
    "tool_name",
]

_NOT_NAME = re.compile(r"\W")


def data_text(path: str) -> str:
    """A file under `parcall/eval/data/` as text; `.gz` files are decompressed."""
    resource = resources.files("parcall.eval").joinpath("data", *path.split("/"))
    raw = resource.read_bytes()
    return (gzip.decompress(raw) if path.endswith(".gz") else raw).decode("utf-8")


def read_json(path: str) -> Any:
    return json.loads(data_text(path))


def read_jsonl(path: str) -> list[Any]:
    return [json.loads(line) for line in data_text(path).splitlines() if line.strip()]


def tool_name(name: str) -> str:
    """A spec's function name as a tool name (an identifier): `spotify.play` → `spotify_play`,
    as BFCL does for APIs that allow no dots."""
    safe = _NOT_NAME.sub("_", name)
    return f"_{safe}" if not safe or safe[0].isdigit() else safe


def param_name(name: str) -> str:
    """An argument name a plan can write as a keyword and a tool can take: Python keywords
    get a `_` suffix (`from` → `from_`), and so do names with a leading underscore, which
    pydantic reserves (`_from` → `from_`)."""
    if name.startswith("_") and name.strip("_"):
        return f"{name.lstrip('_')}_"
    return f"{name}_" if keyword.iskeyword(name) else name


def renamed_parameters(
    parameters: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, str]]:
    """A JSON schema of arguments with `param_name` applied, and new name → spec name."""
    properties = parameters.get("properties") or {}
    names = {param_name(p): p for p in properties}
    schema = dict(parameters)
    if properties:
        schema["properties"] = {param_name(p): v for p, v in properties.items()}
    if parameters.get("required"):
        schema["required"] = [param_name(p) for p in parameters["required"]]
    return schema, names


_JSON_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array"}


def admit(schema: dict[str, Any], values: Iterable[Any]) -> dict[str, Any]:
    """A property schema, widened so every value in `values` validates: the declared type
    plus the values' own types (`"min_rating": "4"` for a number), else no type at all."""
    rejected = [v for v in values if not _valid(schema, v)]
    if not rejected:
        return schema
    declared = [schema["type"]] if "type" in schema else []
    kinds = [*declared, *(_JSON_TYPES.get(type(v), "object") for v in rejected)]
    widened = {**schema, "type": list(dict.fromkeys(kinds))}
    widened.pop("items", None)
    if all(_valid(widened, v) for v in rejected):
        return widened
    return {k: v for k, v in schema.items() if k not in ("type", "items")}


def _valid(schema: Mapping[str, Any], value: Any) -> bool:
    model = _checker(json.dumps(schema, sort_keys=True))
    try:
        model.model_validate({"x": value})
    except ValidationError:
        return False
    return True


@functools.lru_cache(maxsize=1024)
def _checker(schema: str) -> type[BaseModel]:
    # Building a pydantic model is slow; the same few property schemas recur everywhere.
    return model_from_schema("check", {"properties": {"x": json.loads(schema)}, "required": ["x"]})


_PLACEHOLDER = re.compile(r"\S#[0-9a-f]{6}(?:-\d+)?$")


def is_placeholder(text: str) -> bool:
    """Whether a string is one `placeholder` makes (so a copy of it can be traced)."""
    return bool(_PLACEHOLDER.search(text))


def placeholder(tool: str, path: str, arguments: Mapping[str, Any]) -> str:
    """A stub result string: the field's name and a digest of the tool and its arguments,
    so each call's values are distinct and a copy of one can be traced to its call."""
    key = json.dumps([tool, arguments], sort_keys=True, default=str)
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:6]
    return f"{path.rsplit('.', 1)[-1]}#{digest}"
