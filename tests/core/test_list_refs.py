"""References into lists of results: `$1.id` on a list is the first item's field (as public
nested-call datasets write it), the observation says so, and `$1[2].id` stays exact."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import FINISH, plan
from parcall import Agent, ScriptedModel, tool
from parcall._core.plan import Ref, Template
from parcall._planner.text import parse_plan, template

pytestmark = pytest.mark.anyio


@tool
def search(query: str) -> list[dict[str, Any]]:
    """Search; returns a list of results."""
    return [{"id": f"{query}-a", "tags": ["x"]}, {"id": f"{query}-b"}, {"id": f"{query}-c"}]


@tool
def fetch(id: str) -> str:
    """Fetch one result by id."""
    return f"page {id}"


@tool
def empty(query: str) -> list[dict[str, Any]]:
    """A search that finds nothing."""
    return []


async def run(*lines: str, tools: tuple[Any, ...] = (search, fetch)) -> Any:
    return await Agent(ScriptedModel([plan(*lines), FINISH]), list(tools)).run("q")


async def test_a_field_of_a_list_is_the_first_items_field() -> None:
    result = await run('1. search("cats")', "2. fetch(id=$1.id)")
    assert result.values[2] == "page cats-a"


async def test_the_observation_notes_that_the_first_item_was_used() -> None:
    result = await run('1. search("cats")', "2. fetch(id=$1.id)")
    observation = result.observation(2)
    assert len(observation.notes) == 1
    assert "$1 is a list of 3 items" in observation.notes[0]
    assert "$1[0].id" in observation.notes[0]
    assert "(note: $1 is a list of 3 items" in observation.show(1000)


async def test_an_index_into_a_list_stays_exact_and_adds_no_note() -> None:
    result = await run('1. search("cats")', "2. fetch(id=$1[2].id)")
    assert result.values[2] == "page cats-c"
    assert result.observation(2).notes == ()


async def test_a_template_in_a_string_reads_a_field_of_the_first_item() -> None:
    result = await run('1. search("cats")', '2. fetch(id="id ${1.id}")')
    assert result.values[2] == "page id cats-a"
    assert result.observation(2).notes


async def test_a_field_of_an_empty_list_is_a_clear_error() -> None:
    result = await run('1. empty("cats")', "2. fetch(id=$1.id)", tools=(empty, fetch))
    observation = result.observation(2)
    assert not observation.ok
    assert "$1.id cannot be resolved: list has no 'id'" in (observation.error or "")


async def test_a_field_no_item_has_is_still_an_error() -> None:
    result = await run('1. search("cats")', "2. fetch(id=$1.url)")
    assert not result.observation(2).ok
    assert "list has no 'url'" in (result.observation(2).error or "")


def test_a_braced_reference_in_a_string_may_look_into_the_result() -> None:
    value = template("""rate ${1["Exchange Rate"]} of ${2[0].name} and ${3.a.b}""")
    assert value == Template(
        (
            "rate ",
            Ref(1, ("Exchange Rate",)),
            " of ",
            Ref(2, (0, "name")),
            " and ",
            Ref(3, ("a", "b")),
        )
    )


def test_an_unbraced_reference_in_a_string_keeps_its_meaning() -> None:
    assert template("costs $1.50 and $2.id") == Template(
        ("costs ", Ref(1), ".50 and ", Ref(2), ".id")
    )


def test_describe_writes_text_that_parses_back_to_the_same_task() -> None:
    text = plan(
        '1. search("$$5 deals")',
        """2. fetch(id="at ${1[0]['a key']}, $$ and ${1.id}")""",
        '3. fetch(id=$1["a key"])',
    )
    tasks = parse_plan(text, [search, fetch]).tasks
    again = parse_plan(plan(*(t.describe() for t in tasks)), [search, fetch]).tasks
    assert [t.args for t in again] == [t.args for t in tasks]
    assert tasks[0].args == {"query": "$5 deals"}
