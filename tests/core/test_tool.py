"""Tools from typed functions: schema, docstrings, policy, validation."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import ValidationError

from parcall import Tool, tool


@tool(timeout=3, retries=2, max_concurrency=4)
async def search(query: str, k: int = 3, mode: Literal["fast", "exact"] = "fast") -> list[str]:
    """Search the encyclopedia.

    Longer description that the summary keeps.

    Args:
        query: what to look for,
            continued on a second line.
        k: how many results.
        mode: how to search.

    Returns:
        Paragraphs.
    """
    return [query] * k


def test_schema_and_descriptions_come_from_signature_and_docstring() -> None:
    schema = search.json_schema()
    assert schema["required"] == ["query"]
    props = schema["properties"]
    assert props["query"]["description"] == "what to look for, continued on a second line."
    assert props["k"]["default"] == 3
    assert props["mode"]["enum"] == ["fast", "exact"]
    assert search.description.startswith("Search the encyclopedia.")
    assert "Longer description" in search.description
    assert search.signature() == (
        "search(query: str, k: int = 3, mode: Literal['fast', 'exact'] = 'fast') -> list[str]"
    )


def test_policy_is_kept() -> None:
    assert (search.timeout, search.retries, search.max_concurrency) == (3, 2, 4)
    assert search.is_async


def test_validation_coerces_and_rejects() -> None:
    assert search.validate({"query": "x", "k": "2"}) == {"query": "x", "k": 2, "mode": "fast"}
    with pytest.raises(ValidationError):
        search.validate({"query": "x", "mode": "slow"})
    with pytest.raises(ValidationError):
        search.validate({"query": "x", "extra": 1})


def test_plain_functions_and_bad_policies() -> None:
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    assert Tool.from_function(add, name="plus").name == "plus"
    assert not Tool.from_function(add).is_async
    with pytest.raises(ValueError, match="max_concurrency"):
        Tool.from_function(add, max_concurrency=0)
    with pytest.raises(ValueError, match="not an identifier"):
        Tool.from_function(add, name="two words")

    def star(*args: int) -> int:
        return 0

    with pytest.raises(TypeError, match=r"\*args"):
        Tool.from_function(star)
