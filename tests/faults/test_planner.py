"""Planner faults: whatever the model writes, the run answers or raises a typed error, and
the joiner is told precisely what went wrong."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from conftest import FINISH, make_search, plan
from faults.conftest import FaultCounter, assert_traced
from parcall import (
    Agent,
    CyclicPlanError,
    DuplicateTaskError,
    ForwardReferenceError,
    InvalidArgumentsError,
    PlanError,
    PlanFinished,
    PlanSyntaxError,
    RunResult,
    ScriptedModel,
    UnknownReferenceError,
    UnknownToolError,
    parse_plan,
    tool,
)

pytestmark = [pytest.mark.faults, pytest.mark.anyio]

LIMIT = 20


@tool
async def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


@tool
async def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


TOOLS = [make_search(), add, echo]


async def run_text(
    text: str, *, tokens_per_second: float | None = None, plans: int = 1
) -> tuple[RunResult, str]:
    """Run a plan text (`plans` times: an empty plan is planned again once); returns the
    result and the prompt the joiner saw."""
    model = ScriptedModel([text] * plans + [FINISH], tokens_per_second=tokens_per_second)
    with anyio.fail_after(LIMIT):
        result = await Agent(model, TOOLS).run("q")
    return result, model.prompts[plans]


def plan_error(result: RunResult) -> str | None:
    return next(e.error for e in result.events if isinstance(e, PlanFinished))


async def test_a_stream_cut_mid_line_runs_the_complete_tasks(faults: FaultCounter) -> None:
    faults.inject("planner.cut_mid_line")
    result, prompt = await run_text('1. search("a")\n2. search("b")\n3. add(a=$1, b=')
    assert [o.idx for o in result.observations] == [1, 2]
    assert "line 3" in str(plan_error(result)) and "line 3" in prompt
    assert not result.plans[0].joined
    assert_traced(result, tasks=2)


@pytest.mark.parametrize(
    "garbage",
    [
        "I am sorry, I cannot help with that.",
        "\x00\x01\x02 ((( ]]] }}} \ufffd",
        "```python\nimport os; os.system('rm -rf /')\n```",
        "1.\n2.\n3.",
        "search",
    ],
)
async def test_garbage_text_gives_an_empty_plan_and_still_an_answer(
    garbage: str, faults: FaultCounter
) -> None:
    faults.inject("planner.garbage")
    # An empty plan is planned again once, then answered; a broken one goes to the joiner.
    plans = 1 if garbage == "1.\n2.\n3." else 2
    result, _ = await run_text(garbage, plans=plans)
    assert result.answer == "done" and result.observations == () and len(result.plans) == plans
    assert_traced(result, tasks=0)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ('2. teleport(to="mars")', UnknownToolError),
        ('2. add(a="three", b=1)', InvalidArgumentsError),
        ("2. add(a=1)", InvalidArgumentsError),
        ("2. add(a=1, b=2, c=3)", InvalidArgumentsError),
        ("2. search(query=$7)", UnknownReferenceError),
        ("2. search(query=$3)", ForwardReferenceError),
        ("2. search(query=$0)", UnknownReferenceError),
        ("2. search(query=$2)", CyclicPlanError),
        ('1. search("again")', DuplicateTaskError),
        ("2. search(query=__import__('os'))", PlanSyntaxError),
    ],
)
async def test_a_bad_task_stops_the_plan_with_a_typed_error_naming_the_line(
    line: str, error: type[PlanError], faults: FaultCounter
) -> None:
    faults.inject("planner.bad_task")
    text = plan('1. search("a")', line, '3. search("b")')
    with pytest.raises(error) as info:
        parse_plan(text, [*TOOLS, *Agent(ScriptedModel([]), TOOLS).offered_tools])
    assert info.value.line == 2
    result, prompt = await run_text(text)
    assert [o.idx for o in result.observations] == [1]  # tasks above the error still ran
    assert f"line 2: {info.value.reason}" in prompt
    assert_traced(result, tasks=1)


async def test_a_chain_cannot_be_written_as_a_cycle(faults: FaultCounter) -> None:
    # A cycle needs a reference to a later task, which the parser refuses on that line.
    faults.inject("planner.cycle")
    text = plan("1. echo($2)", "2. echo($1)")
    with pytest.raises(ForwardReferenceError):
        parse_plan(text, TOOLS)
    result, _ = await run_text(text)
    assert result.observations == ()
    assert_traced(result, tasks=0)


async def test_thousands_of_tasks_all_run(faults: FaultCounter) -> None:
    n = 3000
    faults.inject("planner.thousands_of_tasks", n)
    lines = [f'{i}. search("q{i}")' for i in range(1, n + 1)]
    lines.append(f"{n + 1}. echo(text=" + '"' + "".join(f"${i}" for i in range(1, 50)) + '")')
    result, prompt = await run_text(plan(*lines))
    assert len(result.values) == n + 1
    assert result.values[n + 1].startswith("result for q1result for q2")
    assert f"{n + 1}. echo" in prompt
    assert_traced(result, tasks=n + 1)


async def test_a_plan_without_join_is_closed_at_the_end_of_the_stream(
    faults: FaultCounter,
) -> None:
    faults.inject("planner.no_join")
    result, _ = await run_text('1. search("a")\n2. search(query=$1)')
    assert result.values == {1: "result for a", 2: "result for result for a"}
    assert not result.plans[0].joined and plan_error(result) is None
    assert_traced(result, tasks=2)


@pytest.mark.parametrize("text", ["", "join()", "\n\n\n", "Thought: nothing to do.\njoin()"])
async def test_an_empty_plan_is_planned_again_then_answered(
    text: str, faults: FaultCounter
) -> None:
    faults.inject("planner.empty")
    result, _ = await run_text(text, plans=2)
    assert result.answer == "done" and result.observations == () and len(result.plans) == 2
    assert_traced(result, tasks=0)


# Strings as the model writes them inside the call, and the value the tool must receive.
QUOTING = [
    (r'"a \"quoted\" word"', 'a "quoted" word'),
    ("'single \\'inner\\' quotes'", "single 'inner' quotes"),
    ('"it\'s \\"both\\""', 'it\'s "both"'),
    ('"""triple "quoted" text"""', 'triple "quoted" text'),
    (r'"tab\tnew\nline\\n"', "tab\tnew\nline\\n"),
    ('"emoji 🚀👩‍👩‍👧 and ZWJ"', "emoji 🚀👩‍👩‍👧 and ZWJ"),
    ('"RTL: مرحبا بالعالم \u200f שלום"', "RTL: مرحبا بالعالم \u200f שלום"),
    ('"price: $$5 and $$$$"', "price: $5 and $$"),
    ('"a $ alone, $x, $ 1"', "a $ alone, $x, $ 1"),
    (r'"\u00e9\N{SNOWMAN}\x41"', "é☃A"),
    ('"combining e\u0301 and \ufeffBOM"', "combining e\u0301 and \ufeffBOM"),
    ('"#not a comment, (not) [a] {call}"', "#not a comment, (not) [a] {call}"),
    ('"join() inside a string"', "join() inside a string"),
    ('"""multi\nline\nstring"""', "multi\nline\nstring"),
]


@pytest.mark.parametrize(("written", "expected"), QUOTING)
async def test_unicode_and_quoting_reach_the_tool_unchanged(
    written: str, expected: str, faults: FaultCounter
) -> None:
    faults.inject("planner.unicode_quoting")
    received: list[str] = []

    @tool
    async def record(text: str) -> str:
        """Record a text."""
        received.append(text)
        return text

    model = ScriptedModel([plan(f"1. record(text={written})"), FINISH], chars_per_token=3)
    with anyio.fail_after(LIMIT):
        result = await Agent(model, [record]).run("q")
    assert received == [expected]
    assert_traced(result, tasks=1)


async def test_a_ref_inside_a_quoted_string_with_dollars_around_it(faults: FaultCounter) -> None:
    faults.inject("planner.unicode_quoting")
    text = plan('1. search("a")', "2. echo(\"cost: $$3, got ${1}$$ — '$1' 🚀\")")
    result, _ = await run_text(text)
    assert result.values[2] == "cost: $3, got result for a$ — 'result for a' 🚀"
    assert_traced(result, tasks=2)


async def test_a_streamed_plan_in_one_character_chunks_gives_the_same_tasks(
    faults: FaultCounter,
) -> None:
    faults.inject("planner.unicode_quoting")
    text = plan(
        '1. echo("😀 \\"x\\" \'y\' $$ \\n")', "2. echo(text='''a\nb''')", '3. echo("$1 $2")'
    )
    expected = parse_plan(text, TOOLS).tasks
    model = ScriptedModel([text, FINISH], chars_per_token=1)
    with anyio.fail_after(LIMIT):
        result = await Agent(model, TOOLS).run("q")
    assert result.plans[0].tasks == expected
    assert_traced(result, tasks=3)


@pytest.mark.parametrize("size", [10, 10_000])
async def test_arguments_are_checked_before_any_tool_of_the_line_runs(
    size: int, faults: FaultCounter
) -> None:
    faults.inject("planner.bad_task")
    calls: list[Any] = []

    @tool
    async def count(n: int) -> int:
        """Count."""
        calls.append(n)
        return n

    text = plan(f'1. count(n="{"x" * size}")')
    model = ScriptedModel([text, FINISH])
    with anyio.fail_after(LIMIT):
        result = await Agent(model, [count]).run("q")
    assert calls == [] and result.observations == ()
    assert "bad value for 'n'" in model.prompts[1]
