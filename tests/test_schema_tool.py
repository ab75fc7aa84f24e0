"""Tools described by a JSON schema instead of a signature."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from parcall import Agent, ScriptedModel, Tool

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "the city"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
        "days": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["city"],
}


async def weather(**kwargs: object) -> dict[str, object]:
    return dict(kwargs)


def test_fields_follow_the_schema() -> None:
    t = Tool.from_schema("weather", SCHEMA, weather, description="Weather now.")
    assert t.parameters == ("city", "unit", "days", "tags")
    assert t.required == frozenset({"city"})
    assert t.validate({"city": "Oslo"})["unit"] == "celsius"
    assert "city: str" in t.signature()
    assert t.json_schema()["properties"]["city"]["description"] == "the city"


@pytest.mark.parametrize(
    "args",
    [{}, {"city": 3}, {"city": "Oslo", "unit": "kelvin"}, {"city": "Oslo", "nope": 1}],
)
def test_bad_arguments_are_rejected(args: dict[str, object]) -> None:
    t = Tool.from_schema("weather", SCHEMA, weather)
    with pytest.raises(ValidationError):
        t.validate(args)


def test_bfcl_style_dict_type_and_number() -> None:
    t = Tool.from_schema(
        "area",
        {"type": "dict", "properties": {"r": {"type": "float"}}, "required": ["r"]},
        weather,
    )
    assert t.validate({"r": 2})["r"] == 2


def test_schema_tool_runs_in_a_plan() -> None:
    t = Tool.from_schema("weather", SCHEMA, weather)
    model = ScriptedModel(['1. weather(city="Oslo", days=2)\njoin()', "Action: Finish(ok)"])
    result = Agent(model, [t]).run_sync("weather?")
    assert result.observations[0].value == {
        "city": "Oslo",
        "unit": "celsius",
        "days": 2,
        "tags": None,
    }
