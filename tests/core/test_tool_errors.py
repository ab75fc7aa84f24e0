"""Mistakes in `tools=` and in making a tool name what is wrong and how to fix it."""

from __future__ import annotations

import functools
import warnings

import pytest

from parcall import Agent, ScriptedModel, Tool, ToolDescriptionWarning, tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def double(x: int) -> int:
    """Double an integer."""
    return 2 * x


def agent(tools: object) -> Agent:
    return Agent(ScriptedModel([]), tools)  # type: ignore[arg-type]


def refused(tools: object) -> str:
    """The TypeError's message for `Agent(model, tools)`."""
    with pytest.raises(TypeError) as caught:
        agent(tools)
    return str(caught.value)


def test_a_single_tool_instead_of_a_list_says_to_write_a_list() -> None:
    assert (
        refused(add) == "Agent: tools must be a list, not a single Tool ('add'): write tools=[add]"
    )


def test_a_single_function_instead_of_a_list_says_to_write_a_list() -> None:
    assert refused(double) == (
        "Agent: tools must be a list, not a single function ('double'): write tools=[double]"
    )


def test_a_string_is_not_a_tool() -> None:
    assert refused("add") == (
        "Agent: tools must be a list of tools or functions, not the string 'add': a string is "
        "not a tool; give a list of tools or functions, e.g. tools=[search, add]"
    )
    assert refused([add, "double"]) == (
        "Agent: tools[1] is the string 'double', and a string is not a tool: give the function "
        "(or Tool) itself, without quotes"
    )


def test_something_neither_a_tool_nor_a_function_is_named_by_its_place() -> None:
    assert refused([42]) == "Agent: tools[0] is 42, neither a Tool nor a function"
    assert refused({"add": add}).startswith(
        "Agent: tools must be a list of tools or functions, not {'add': "
    )
    assert refused(None).startswith("Agent: tools must be a list of tools or functions, not None")


def test_a_list_a_tuple_or_a_generator_of_tools_and_functions_is_taken() -> None:
    assert list(agent([add, double]).tools) == ["add", "double"]
    assert list(agent((add,)).tools) == ["add"]
    assert list(agent(t for t in [double]).tools) == ["double"]


def test_a_lambda_says_that_tool_name_fixes_it() -> None:
    with pytest.raises(
        ValueError,
        match=r"its name '<lambda>' is not an identifier; give one with tool\(name=\.\.\.\)",
    ):
        tool(lambda x: x)
    named = tool(name="echo", description="Return x.")(lambda x: x)
    assert named.name == "echo"


def test_a_partial_has_no_name_and_says_so() -> None:
    with pytest.raises(ValueError, match=r"it has no name; give one with tool\(name=\.\.\.\)"):
        Tool.from_function(functools.partial(double, 2))


def test_a_tool_with_no_docstring_and_no_description_warns_at_the_users_line() -> None:
    def mystery(x: int) -> int:
        return x

    with pytest.warns(ToolDescriptionWarning, match=r"tool 'mystery' has no description") as seen:
        tool(mystery)
    assert seen[0].filename == __file__  # the warning points here, not inside parcall
    with pytest.warns(ToolDescriptionWarning) as seen:
        agent([mystery])  # a plain function wrapped by the agent
    assert seen[0].filename == __file__


def test_a_docstring_or_a_description_is_enough() -> None:
    def mystery(x: int) -> int:
        return x

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tool(description="Return x.")(mystery).description == "Return x."
        assert tool(double).description == "Double an integer."
