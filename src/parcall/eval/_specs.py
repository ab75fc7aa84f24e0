"""Benchmark tool specs as parcall tools: packaged data files, names plans can write, and
stub results that hold the fields later calls refer to."""

from __future__ import annotations

import gzip
import hashlib
import json
import keyword
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

__all__ = ["data_text", "param_name", "read_json", "read_jsonl", "tool_name"]

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
    """An argument name a plan can write as a keyword: Python keywords get a `_` suffix
    (`from` → `from_`)."""
    return f"{name}_" if keyword.iskeyword(name) else name


def placeholder(tool: str, path: str, arguments: Mapping[str, Any]) -> str:
    """A stub result string, distinct per tool, field and arguments (so it is traceable)."""
    digest = hashlib.sha1(
        json.dumps(arguments, sort_keys=True, default=str).encode("utf-8")
    ).hexdigest()[:6]
    return f"{tool}.{path}#{digest}"
