"""JSON plans, native tool-call plans, and the grammar/schema constraints for small models."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from conftest import FINISH, make_search
from parcall import (
    Agent,
    ForwardReferenceError,
    PlanSyntaxError,
    Ref,
    ScriptedModel,
    Settings,
    TaskStarted,
    Template,
    UnknownReferenceError,
    UnknownToolError,
    tool,
)
from parcall._planner.grammar import plan_grammar, plan_json_schema
from parcall._planner.json_plan import JsonPlanParser, ToolCallPlanParser
from parcall.models import (
    ModelChunk,
    ModelRequest,
    OpenAICompatible,
    ToolCallChunk,
    Usage,
    UsageChunk,
)


@tool
def search(query: str, k: int = 1) -> str:
    """Search."""
    return query


@tool
def combine(items: list[Any], label: str = "") -> str:
    """Combine."""
    return str(items)


TOOLS = {t.name: t for t in (search, combine)}

JSON_PLAN = (
    '{"tasks": [{"id": 1, "tool": "search", "args": {"query": "a", "k": null}},\n'
    ' {"id": 2, "tool": "search", "args": {"query": "b {x}"}},\n'
    ' {"id": 3, "tool": "combine", "args": {"items": ["$1", {"$ref": 2}], "label": "$1 and ${2}"}}'
    "]}"
)


def test_json_plan_streams_task_by_task_and_resolves_refs() -> None:
    parser = JsonPlanParser(TOOLS)
    seen = []
    for ch in JSON_PLAN:
        parser.feed(ch)
        seen.append(len(parser.tasks))
    parser.close()
    assert parser.joined
    assert [t.idx for t in parser.tasks] == [1, 2, 3]
    assert parser.tasks[0].args == {"query": "a"}  # a null optional argument is dropped
    assert parser.tasks[2].args == {
        "items": [Ref(1), Ref(2)],
        "label": Template((Ref(1), " and ", Ref(2))),
    }
    # Task 1 was complete long before the text ended.
    assert seen.index(1) < len(JSON_PLAN) // 2


def test_json_plan_errors_are_typed_and_positioned() -> None:
    parser = JsonPlanParser(TOOLS)
    with pytest.raises(UnknownReferenceError, match="no task 3 in the plan") as info:
        parser.feed(
            '{"tasks": [{"id": 1, "tool": "search", "args": {"query": "x"}}, '
            '{"id": 2, "tool": "search", "args": {"query": "$3"}}]}'
        )
    assert info.value.line == 2
    later = JsonPlanParser(TOOLS)
    with pytest.raises(ForwardReferenceError, match="comes later") as info:
        later.feed(
            '{"tasks": [{"id": 1, "tool": "search", "args": {"query": "$2"}}, '
            '{"id": 2, "tool": "search", "args": {"query": "x"}}]}'
        )
    assert info.value.line == 1 and later.tasks == []
    with pytest.raises(PlanSyntaxError):
        bad = JsonPlanParser(TOOLS)
        bad.feed('{"tasks": [{"id": 1, "tool": "search", "args": {"query": "x"}')
        bad.close()


def test_tool_calls_become_tasks_as_each_call_completes() -> None:
    parser = ToolCallPlanParser(TOOLS, known={1})
    parser.feed(ToolCallChunk(0, "c1", "search", '{"query": '))
    parser.feed(ToolCallChunk(0, None, None, '"x"}'))
    assert parser.tasks == []
    parser.feed(ToolCallChunk(1, "c2", "combine", '{"items": ["$2", "$1"]}'))
    assert [t.idx for t in parser.tasks] == [2]  # numbering continues after known task 1
    parser.close()
    assert parser.tasks[1].args == {"items": [Ref(2), Ref(1)]}
    with pytest.raises(UnknownToolError):
        other = ToolCallPlanParser(TOOLS)
        other.feed(ToolCallChunk(0, "c", "fly", "{}"))
        other.close()


# What Qwen2.5-Coder-1.5B wrote through llama-server --jinja: its calls as text, with the
# chat template's doubled braces and no <tool_call> tags.
QWEN_TEXT_CALLS = (
    '{{"name": "search", "arguments": {"query": "Paris"}}}}\n'
    '{{"name": "search", "arguments": {"query": "Rome"}}}}\n'
    '{{"name": "combine", "arguments": {"items": ["$1", "$2"]}}}}'
)


def test_tool_calls_written_as_text_are_calls_too() -> None:
    parser = ToolCallPlanParser(TOOLS)
    for i in range(0, len(QWEN_TEXT_CALLS), 7):  # streamed in pieces
        parser.feed_text(QWEN_TEXT_CALLS[i : i + 7])
        if i < 40:
            assert parser.tasks == []  # the first call is not complete yet
    assert [t.idx for t in parser.tasks] == [1, 2, 3]
    parser.close()
    assert [t.args for t in parser.tasks] == [
        {"query": "Paris"},
        {"query": "Rome"},
        {"items": [Ref(1), Ref(2)]},
    ]
    assert parser.tasks[2].deps == (1, 2)
    assert parser.text.startswith('1. search({"query": "Paris"})\n')


def test_text_is_ignored_once_native_calls_arrive_and_a_broken_text_call_is_an_error() -> None:
    parser = ToolCallPlanParser(TOOLS)
    parser.feed(ToolCallChunk(0, "c1", "search", '{"query": "x"}'))
    parser.feed_text('{"name": "search", "arguments": {"query": "y"}}')
    parser.close()
    assert [t.args for t in parser.tasks] == [{"query": "x"}]
    broken = ToolCallPlanParser(TOOLS)
    broken.feed_text('{"name": "search", "arguments": {"query": ')
    with pytest.raises(PlanSyntaxError, match="written as text is not complete JSON"):
        broken.close()


class ToolCallingModel:
    """A fake native tool-calling model: answers the plan request with tool calls."""

    name = "fake-tools"

    def __init__(self) -> None:
        self.requests: list[ModelRequest] = []

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelChunk]:
        self.requests.append(request)
        if request.purpose == "plan":
            for i, (name, args) in enumerate(
                [
                    ("search", '{"query": "a"}'),
                    ("search", '{"query": "b"}'),
                    ("search", '{"query": "$1 then $2"}'),
                ]
            ):
                await anyio.lowlevel.checkpoint()
                yield ToolCallChunk(i, f"call{i}", name, args)
        else:
            from parcall.models import TextChunk

            yield TextChunk(FINISH)
        yield UsageChunk(Usage(10, 5))


@pytest.mark.anyio
async def test_native_tool_calls_drive_the_same_scheduler() -> None:
    model = ToolCallingModel()
    result = await Agent(model, [make_search()], settings=Settings(plan_format="tools")).run("q")
    assert result.values[3] == "result for result for a then result for b"
    # The user's tool, then the built-in calculator the agent offers (Agent.offered_tools).
    assert [s.name for s in model.requests[0].tools] == ["search", "calculator"]
    assert any(isinstance(e, TaskStarted) for e in result.events)
    assert result.answer == "done"


@pytest.mark.anyio
async def test_native_tool_specs_let_every_argument_be_a_ref() -> None:
    # A server that constrains calls to the schema (llama.cpp's) must be able to write "$1"
    # for an int; string arguments take "$N" as they are.
    model = ToolCallingModel()
    await Agent(model, [search, combine], settings=Settings(plan_format="tools")).run("q")
    specs = {s.name: s.parameters for s in model.requests[0].tools}
    k = specs["search"]["properties"]["k"]
    assert {"type": "integer"} in k["anyOf"]
    assert {"type": "string", "pattern": r"^\$[0-9]+$"} in k["anyOf"]
    assert specs["search"]["properties"]["query"]["type"] == "string"
    assert specs["search"]["required"] == ["query"]
    assert len(specs["combine"]["properties"]["items"]["anyOf"]) == 2
    body = OpenAICompatible("m", base_url="http://127.0.0.1:9/v1").request_body(model.requests[0])
    assert body["parallel_tool_calls"] is True
    assert body["tools"][0]["function"]["parameters"] == specs["search"]


@pytest.mark.anyio
async def test_json_format_agent_runs_a_json_plan() -> None:
    text = (
        '{"tasks": [{"id": 1, "tool": "search", "args": {"query": "a"}}, '
        '{"id": 2, "tool": "search", "args": {"query": "$1!"}}]}'
    )
    model = ScriptedModel([text, FINISH])
    result = await Agent(
        model, [make_search()], settings=Settings(plan_format="json", constrained=True)
    ).run("q")
    assert result.values[2] == "result for result for a!"
    assert model.requests[0].json_schema is not None
    assert '"tasks"' in model.requests[0].messages[0].content


def test_grammar_names_every_tool_and_bounds_strings() -> None:
    grammar = plan_grammar(TOOLS.values())
    assert 't-search-call ::= "search(" "query="? (str | ref) (", k=" (int | ref))? ")"' in grammar
    assert "strchar{0,160}" in grammar
    assert 'root ::= step{1,20} ("join()" | "finish(" (str | ref) ")")' in grammar
    # A reference may take a part of a result ($1.id, $1[0]), as an error's hint says to.
    assert 'ref ::= "$" [1-9] [0-9]{0,2} refpath{0,4}' in grammar
    assert 'refpath ::= "." [A-Za-z] [A-Za-z0-9_]{0,30} | "[" [0-9]{1,3} "]"' in grammar


def test_grammar_is_accepted_by_llama_cpp() -> None:
    llama_cpp = pytest.importorskip(
        "llama_cpp", reason="needs the llama extra: pip install -e '.[llama]'"
    )
    llama_cpp.LlamaGrammar.from_string(plan_grammar(TOOLS.values()), verbose=False)


def test_json_schema_is_strict_and_accepts_refs() -> None:
    schema = plan_json_schema(TOOLS.values())
    variants = schema["properties"]["tasks"]["items"]["anyOf"]
    search_args = variants[0]["properties"]["args"]
    assert search_args["required"] == ["query", "k"]
    assert {"type": "null"} in search_args["properties"]["k"]["anyOf"]
    assert search_args["properties"]["query"]["anyOf"][0]["maxLength"] == 160
    assert search_args["additionalProperties"] is False


@pytest.mark.anyio
async def test_text_format_sends_the_grammar_when_constrained() -> None:
    model = ScriptedModel(['1. search(query="a")\njoin()', FINISH])
    await Agent(model, [make_search()], settings=Settings(constrained=True)).run("q")
    assert model.requests[0].grammar is not None and "t-search-call" in model.requests[0].grammar
    assert model.requests[1].grammar is not None and "Finish(" in model.requests[1].grammar


def test_on_the_last_round_the_join_grammar_allows_only_an_answer() -> None:
    from parcall._planner.grammar import join_grammar

    assert "Replan(" in join_grammar()
    last = join_grammar(can_replan=False)
    assert "Replan(" not in last and '"Finish(" line ")"' in last


def test_a_constrained_run_sends_the_answer_only_grammar_on_its_last_join() -> None:
    from conftest import FINISH, make_search, plan
    from parcall import Agent, ScriptedModel

    model = ScriptedModel(
        [plan('1. search("a")'), "Action: Replan(more)", plan('2. search("b")'), FINISH]
    )
    Agent(model, [make_search()], settings=Settings(constrained=True, max_replans=1)).run_sync("q")
    joins = [r for r in model.requests if r.purpose == "join"]
    assert "Replan(" in (joins[0].grammar or "") and "Replan(" not in (joins[1].grammar or "x")
