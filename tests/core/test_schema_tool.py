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


def test_bfcl_python_type_names() -> None:
    schema = {
        "type": "dict",
        "properties": {
            "point": {"type": "tuple", "items": {"type": "float"}},
            "anything": {"type": "any"},
            "options": {"type": "dict", "properties": {"a": {"type": "string"}}},
        },
        "required": ["point"],
    }
    t = Tool.from_schema("bfcl", schema, weather)
    args = t.validate({"point": [1, 2.5], "anything": object, "options": {"a": "x"}})
    assert args["point"] == [1, 2.5]
    assert args["anything"] is object
    with pytest.raises(ValidationError):
        t.validate({"point": ["north"]})


def test_an_argument_pydantic_cannot_take_is_named_in_the_error() -> None:
    schema = {"type": "dict", "properties": {"_from": {"type": "string"}}}
    with pytest.raises(ValueError, match=r"'_from' starts with an underscore.*'from_'"):
        Tool.from_schema("convert", schema, weather)
