"""The plan parser: format, references, typed errors, streaming equivalence."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parcall import (
    CyclicPlanError,
    DuplicateTaskError,
    ForwardReferenceError,
    InvalidArgumentsError,
    PlanError,
    PlanParser,
    PlanSyntaxError,
    Ref,
    Template,
    UnknownReferenceError,
    UnknownToolError,
    parse_plan,
    tool,
)


@tool
def search(query: str) -> str:
    """Search."""
    return query


@tool
def combine(items: list[Any], mapping: dict[str, Any] | None = None, label: str = "") -> str:
    """Combine things."""
    return str(items)


@tool
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


TOOLS = [search, combine, add]

VALID = """\
Thought: look up both, then combine.
1. search(query="Eiffel Tower height")
2. search("Statue of Liberty height")
Thought: combine them
3. combine(items=[$1, {"b": ${2}}], mapping={"k": [$1, "x $2 y"]}, label="sum of $1 and ${2}")
4. add(a=1.5, b=-2)
5. add($4, b=$4)
join()
"""


def test_whole_plan_parses_into_tasks_with_deps_and_thoughts() -> None:
    plan = parse_plan(VALID, TOOLS)
    assert [t.idx for t in plan] == [1, 2, 3, 4, 5]
    assert plan.joined
    assert plan.tasks[0].args == {"query": "Eiffel Tower height"}
    assert plan.tasks[1].args == {"query": "Statue of Liberty height"}  # positional
    assert plan.tasks[2].deps == (1, 2)
    assert plan.tasks[2].thought == "combine them"
    assert plan.tasks[0].thought == "look up both, then combine."
    assert plan.tasks[4].deps == (4,)
    assert plan.tasks[3].args == {"a": 1.5, "b": -2}


def test_refs_nest_in_lists_dicts_and_strings() -> None:
    task = parse_plan(VALID, TOOLS).tasks[2]
    assert task.args["items"] == [Ref(1), {"b": Ref(2)}]
    assert task.args["mapping"] == {"k": [Ref(1), Template(("x ", Ref(2), " y"))]}
    assert task.args["label"] == Template(("sum of ", Ref(1), " and ", Ref(2)))


def test_dollar_brace_and_plain_dollar_are_the_same_ref() -> None:
    plan = parse_plan('1. search("a")\n2. add(a=$1, b=${1})\njoin()', TOOLS)
    assert plan.tasks[1].args == {"a": Ref(1), "b": Ref(1)}


def test_a_quoted_lone_ref_is_the_typed_value_and_double_dollar_is_literal() -> None:
    plan = parse_plan('1. search("a")\n2. combine(items=["$1"], label="costs $$5")\njoin()', TOOLS)
    assert plan.tasks[1].args == {"items": [Ref(1)], "label": "costs $5"}


def test_paths_into_results() -> None:
    plan = parse_plan('1. search("a")\n2. combine(items=[$1.rows[0]["name"]])\njoin()', TOOLS)
    assert plan.tasks[1].args["items"] == [Ref(1, ("rows", 0, "name"))]


def test_json_style_literals_and_markdown_wrapping_are_tolerated() -> None:
    text = "```\n- **1.** combine(items=[true, false, null])\n```\njoin()"
    assert parse_plan(text, TOOLS).tasks[0].args == {"items": [True, False, None]}


def test_an_argument_may_span_lines() -> None:
    text = '1. combine(items=[\n  "a",\n  "b"\n])\njoin()'
    plan = parse_plan(text, TOOLS)
    assert plan.tasks[0].args == {"items": ["a", "b"]}
    assert plan.tasks[0].line == 1


def test_prose_between_tasks_is_kept_but_not_run() -> None:
    plan = parse_plan('Here is my plan:\n1. search("a")\nThat is all.\njoin()', TOOLS)
    assert len(plan) == 1
    assert "Here is my plan" in plan.text


def test_text_after_join_is_ignored() -> None:
    plan = parse_plan('1. search("a")\njoin()\n2. nonsense(((', TOOLS)
    assert len(plan) == 1 and plan.joined


def test_a_plan_without_join_is_closed_at_end_of_stream() -> None:
    plan = parse_plan('1. search("a")\n2. search("b")', TOOLS)
    assert [t.idx for t in plan] == [1, 2]
    assert not plan.joined


def test_known_tasks_from_earlier_plans_can_be_referenced() -> None:
    plan = parse_plan("4. add(a=$1, b=$3)\njoin()", TOOLS, known={1, 2, 3})
    assert plan.tasks[0].deps == (1, 3)


@pytest.mark.parametrize(
    ("text", "error", "line"),
    [
        ('1. search("a")\n2. search("b"\n3. search("c")', PlanSyntaxError, 2),
        ('1. search("a")\n2. search(query=os.system("x"))', PlanSyntaxError, 2),
        ('1. search("a")\n2. search(query="a" + "b")', PlanSyntaxError, 2),
        ('1. search("a")\n2. search(f"{x}")', PlanSyntaxError, 2),
        ('1. search(query=__import__("os"))', PlanSyntaxError, 1),
        ("1. search(query=$1.__class__)", PlanSyntaxError, 1),
        ('1. search("a")\n\n3. fly(to="moon")', UnknownToolError, 3),
        ('1. search(q="a")', InvalidArgumentsError, 1),
        ("1. search()", InvalidArgumentsError, 1),
        ('1. search("a", "b")', InvalidArgumentsError, 1),
        ('1. add(a="not a number", b=2)', InvalidArgumentsError, 1),
        ('1. search("a")\n2. search(query=$5)', UnknownReferenceError, 2),
        ('1. search(query=$3)\n2. search("a")\n3. search("b")', ForwardReferenceError, 1),
        ('1. search("a")\n3. search(query="$2")', UnknownReferenceError, 2),
        ('1. search("a")\n2. search(query=$2)', CyclicPlanError, 2),
        ("1. search(query=$2)\n2. search(query=$1)", ForwardReferenceError, 1),
        ('1. search("a")\n1. search("b")', DuplicateTaskError, 2),
        ('search("a")', PlanSyntaxError, 1),
    ],
)
def test_invalid_plans_raise_typed_errors_naming_the_line(
    text: str, error: type[PlanError], line: int
) -> None:
    with pytest.raises(error) as info:
        parse_plan(text + "\njoin()", TOOLS)
    assert info.value.line == line
    assert f"line {line}" in str(info.value)


def test_a_replan_reusing_an_index_is_a_duplicate() -> None:
    with pytest.raises(DuplicateTaskError):
        parse_plan('2. search("b")', TOOLS, known={1, 2})


def test_unknown_tool_error_lists_the_available_tools() -> None:
    with pytest.raises(UnknownToolError, match="add, combine, search"):
        parse_plan('1. fly("moon")', TOOLS)


def _tasks(text: str, chunks: list[str] | None = None) -> list[Any]:
    parser = PlanParser({t.name: t for t in TOOLS})
    for chunk in chunks if chunks is not None else [text]:
        parser.feed(chunk)
    parser.close()
    return parser.tasks


def test_feeding_one_character_at_a_time_gives_the_same_tasks() -> None:
    assert _tasks(VALID, list(VALID)) == _tasks(VALID)


def test_tasks_come_out_as_soon_as_their_line_ends() -> None:
    parser = PlanParser({t.name: t for t in TOOLS})
    assert parser.feed('1. search("a")') == []
    assert [t.idx for t in parser.feed("\n2. sea")] == [1]
    assert [t.idx for t in parser.feed('rch("b")\n')] == [2]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(VALID)), max_size=40))
def test_any_split_of_a_valid_plan_gives_the_same_tasks(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(VALID)]
    chunks = [VALID[a:b] for a, b in itertools.pairwise(bounds)]
    assert _tasks(VALID, chunks) == _tasks(VALID)


_PLANISH = st.text(
    alphabet=st.sampled_from(list("0123456789.()[]{}$\"'=,:#\\ \n\tabcjoinsearchadd_-*`")),
    max_size=200,
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=300), _PLANISH))
def test_random_text_raises_only_plan_errors(text: str) -> None:
    try:
        _tasks(text)
    except PlanError:
        pass


def test_long_chains_of_signs_are_a_plan_error_not_a_recursion_error() -> None:
    with pytest.raises(PlanSyntaxError, match="nested too deeply"):
        parse_plan("1. add(a=" + "-" * 500 + "1, b=2)", TOOLS)


def test_chains_too_deep_for_ast_itself_are_a_plan_error() -> None:
    with pytest.raises(PlanSyntaxError):
        parse_plan("1. add(a=" + "-" * 50_000 + "1, b=2)", TOOLS)


def test_backslashes_in_strings_are_kept_without_warnings() -> None:
    task = parse_plan('1. search(query="\\d+ items")', TOOLS).tasks[0]
    assert task.args == {"query": "\\d+ items"}
    with pytest.raises(PlanSyntaxError):
        parse_plan("1. search(query=1abc)", TOOLS)


@pytest.mark.parametrize(
    ("text", "error", "says"),
    [
        # $7 in a two-task plan: no such task, whatever its number says.
        ('1. search(query=$7)\n2. search("a")', UnknownReferenceError, "no task 7 in the plan"),
        ('1. search("a")\n2. search(query=$7)', UnknownReferenceError, "no task 7 in the plan"),
        # Defined, but below the line that uses it.
        ('1. search(query=$2)\n2. search("a")', ForwardReferenceError, "comes later (line 2)"),
        ('3. search(query=$2)\n2. search("a")', ForwardReferenceError, "comes later (line 2)"),
    ],
)
@pytest.mark.parametrize("chunk", [None, 1, 7])
def test_a_reference_to_a_missing_task_says_so_unless_a_later_line_defines_it(
    text: str, error: type[PlanError], says: str, chunk: int | None
) -> None:
    parser = PlanParser({t.name: t for t in TOOLS})
    with pytest.raises(error, match=re.escape(says)) as info:
        pieces = (
            [text + "\njoin()"]
            if chunk is None
            else [(text + "\njoin()")[i : i + chunk] for i in range(0, len(text) + 7, chunk)]
        )
        for piece in pieces:
            parser.feed(piece)
        parser.close()
    assert "$2" in str(info.value) or "$7" in str(info.value)
    assert [t.idx for t in parser.tasks] == ([1] if text.startswith('1. search("a")') else [])
