"""Typed answers (`output_type`) and the answer streamed as the joiner writes it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel, Field

from conftest import make_search, plan
from parcall import (
    Agent,
    AnswerDelta,
    Answered,
    Event,
    JoinDecided,
    JoinPolicy,
    ModelCallFinished,
    ModelRequest,
    OutputValidationError,
    Replanned,
    ScriptedModel,
    Settings,
)
from parcall._join.json_grammar import schema_grammar
from parcall._join.output import describe, output_of
from parcall.models import TextChunk

pytestmark = pytest.mark.anyio

SEARCH = plan('1. search("Eiffel Tower")', '2. search("Big Ben")')
HEIGHTS = {"Eiffel Tower": "The Eiffel Tower is 330 m tall.", "x": "x is 7."}
"""What the searches find: an answer's numbers must be held by a result."""


class Heights(BaseModel):
    tallest: str
    metres: float = Field(description="its height in metres")


@dataclass
class Pair:
    a: int
    b: list[str]


class Building(BaseModel):
    name: str
    height_m: int


class Towers(BaseModel):
    first: Building
    second: Building


def joins(model: ScriptedModel) -> list[ModelRequest]:
    return [r for r in model.requests if r.purpose == "join"]


@pytest.mark.parametrize(
    ("output_type", "written", "expected"),
    [
        (int, "42", 42),
        (float, "3.5", 3.5),
        (bool, "true", True),
        (list[int], "[1, 2, 3]", [1, 2, 3]),
        (
            Heights,
            '{"tallest": "Eiffel Tower", "metres": 330}',
            Heights(tallest="Eiffel Tower", metres=330),
        ),
        (Pair, '{"a": 1, "b": ["x"]}', Pair(1, ["x"])),
        (int, '"42"', 42),  # a quoted number is unquoted, then read
        (list[str], '```json\n["a", "b"]\n```', ["a", "b"]),  # a fenced block is read inside
    ],
)
async def test_the_joiners_json_becomes_the_typed_output(
    output_type: Any, written: str, expected: object
) -> None:
    model = ScriptedModel([SEARCH, f"Action: Finish({written})"])
    result = await Agent(model, [make_search()], output_type=output_type).run("q")
    assert result.output == expected
    assert type(result.output) is type(expected)
    assert json.loads(result.answer) == json.loads(output_of(output_type, "t").dump(expected))


async def test_str_stays_the_joiners_text() -> None:
    model = ScriptedModel([SEARCH, 'Action: Finish("330 m")'])
    result = await Agent(model, [make_search(HEIGHTS)]).run("q")
    assert result.output == result.answer == "330 m"
    assert "JSON" not in joins(model)[0].messages[-1].content


async def test_the_joiner_is_told_the_shape_compactly() -> None:
    model = ScriptedModel([SEARCH, 'Action: Finish({"tallest": "x", "metres": 1})'])
    await Agent(model, [make_search()], output_type=Heights).run("Which is taller?")
    prompt = joins(model)[0].messages[-1].content
    assert (
        'Finish(<JSON of the form {"tallest": string, "metres": number '
        "/* its height in metres */}>)" in prompt
    )


async def test_an_answer_that_does_not_validate_goes_back_once_with_the_error() -> None:
    model = ScriptedModel(
        [
            SEARCH,
            'Action: Finish({"tallest": "Eiffel"})',
            'Action: Finish({"tallest": "Eiffel", "metres": 330})',
        ]
    )
    result = await Agent(model, [make_search()], output_type=Heights).run("q")
    assert result.output == Heights(tallest="Eiffel", metres=330)
    retry = joins(model)[1].messages[-1].content
    assert "does not fit" in retry and "metres: Field required" in retry
    assert "Finish(<JSON of the form" in retry
    decided = [e for e in result.events if isinstance(e, JoinDecided)]
    assert [d.text for d in decided] == [result.answer]


async def test_in_the_separate_layout_the_retry_extends_the_joiners_own_conversation() -> None:
    model = ScriptedModel([SEARCH, "Action: Finish(many)", "Action: Finish(2)"])
    agent = Agent(
        model, [make_search()], output_type=int, settings=Settings(prompt_layout="separate")
    )
    assert (await agent.run("q")).output == 2
    first, retry = joins(model)
    assert retry.messages[: len(first.messages)] == first.messages
    assert [m.role for m in retry.messages[len(first.messages) :]] == ["assistant", "user"]
    assert "does not fit" in retry.messages[-1].content


async def test_a_second_failure_raises_with_the_run_so_far() -> None:
    model = ScriptedModel([SEARCH, "Action: Finish(tall)", "Action: Finish(very tall)"])
    with pytest.raises(OutputValidationError, match="does not fit int") as caught:
        await Agent(model, [make_search()], output_type=int).run("q")
    assert caught.value.answer == "very tall"
    assert caught.value.result is not None and len(caught.value.result.observations) == 2
    assert len(joins(model)) == 2


async def test_the_retry_may_ask_for_a_new_plan() -> None:
    model = ScriptedModel(
        [
            SEARCH,
            "Action: Finish(about 300)",
            "Action: Replan(search the height)",
            plan('3. search("height")'),
            "Action: Finish(330)",
        ]
    )
    result = await Agent(model, [make_search()], output_type=int).run("q")
    assert result.output == 330 and len(result.plans) == 2


async def test_the_run_may_name_its_own_output_type() -> None:
    agent = Agent(
        ScriptedModel([SEARCH, "Action: Finish([1, 2])"], cycle=True),
        [make_search()],
        output_type=int,
    )
    assert (await agent.run("q", output_type=list[int])).output == [1, 2]
    async with agent.stream("q", output_type=tuple[int, int]) as run:
        async for _ in run:
            pass
    assert run.result.output == (1, 2)


def test_run_sync_takes_an_output_type_too() -> None:
    agent = Agent(ScriptedModel([SEARCH, "Action: Finish([1, 2])"]), [make_search()])
    assert agent.run_sync("q", output_type=list[int]).output == [1, 2]


async def test_a_template_naming_a_task_gives_its_typed_value() -> None:
    search = make_search({"towers": {"tallest": "Eiffel", "metres": 330}})
    model = ScriptedModel(['1. search("towers")\nfinish($1)'])
    result = await Agent(model, [search], output_type=Heights).run("q")
    assert result.output == Heights(tallest="Eiffel", metres=330)
    assert not joins(model)


async def test_a_template_that_does_not_fit_is_left_to_the_joiner() -> None:
    model = ScriptedModel(['1. search("towers")\nfinish("$1")', "Action: Finish(7)"])
    result = await Agent(model, [make_search()], output_type=int).run("q")
    assert result.output == 7 and len(joins(model)) == 1


def test_a_type_without_a_schema_is_refused_naming_the_argument() -> None:
    class Opaque:
        pass

    with pytest.raises(TypeError, match=r"output_type .*Opaque.* cannot be read as a type"):
        Agent(ScriptedModel([]), [make_search()], output_type=Opaque)
    agent = Agent(ScriptedModel([]), [make_search()])
    with pytest.raises(TypeError, match="output_type"):
        agent.stream("q", output_type=Opaque)


async def test_a_constrained_joiner_gets_a_grammar_of_the_schema() -> None:
    model = ScriptedModel([SEARCH, 'Action: Finish({"a": 1, "b": []})'])
    agent = Agent(model, [make_search()], settings=Settings(constrained=True), output_type=Pair)
    assert (await agent.run("q")).output == Pair(1, [])
    grammar = joins(model)[0].grammar
    assert grammar is not None
    assert '"Finish(" answer ")"' in grammar and "answer ::= j-pair-0" in grammar
    assert 'j-pair-0 ::= "{" "\\"a\\": " j-int ", \\"b\\": " "[" (j-str' in grammar


def test_the_compact_shape_reads_nested_models_lists_and_options() -> None:
    class Building(BaseModel):
        name: str
        kind: str | None = None

    class Answer(BaseModel):
        buildings: list[Building]
        unit: str = Field(json_schema_extra={"enum": ["m", "ft"]})

    schema = output_of(Answer, "t").schema
    assert describe(schema) == (
        '{"buildings": [{"name": string, "kind": string | null}, ...], "unit": "m" | "ft"}'
    )
    rules = schema_grammar(schema)
    assert rules.startswith("answer ::= j-answer-")
    assert '"\\"m\\"" | "\\"ft\\""' in rules


async def test_a_typed_answer_is_not_judged_as_words_by_grounded_or_follow_up() -> None:
    model = ScriptedModel([SEARCH, 'Action: Finish({"tallest": "Eiffel", "metres": 330})'])
    agent = Agent(
        model,
        [make_search()],
        output_type=Heights,
        settings=Settings(join=JoinPolicy(grounded=True, follow_up=True)),
    )
    result = await agent.run("Which is taller?")
    assert result.output == Heights(tallest="Eiffel", metres=330) and len(result.plans) == 1


JSON_PLAN = json.dumps(
    {"tasks": [{"id": 1, "tool": "search", "args": {"query": "Eiffel Tower"}}], "finish": None}
)


async def test_under_structured_outputs_the_joiner_replies_in_json_of_a_schema() -> None:
    reply = {"action": "finish", "answer": {"first": {"name": "Eiffel", "height_m": 330}}}
    reply["answer"]["second"] = {"name": "Big Ben", "height_m": 96}
    model = ScriptedModel([JSON_PLAN, json.dumps(reply)])
    agent = Agent(
        model,
        [make_search()],
        settings=Settings(plan_format="json", constrained=True),
        output_type=Towers,
    )
    result = await agent.run("How tall are they?")
    assert result.output.second == Building(name="Big Ben", height_m=96)
    schema = joins(model)[0].json_schema
    assert schema is not None and joins(model)[0].grammar is None
    assert schema["required"] == ["action", "answer", "reason"]
    assert schema["properties"]["answer"]["anyOf"][0]["properties"]["first"] == {
        "$ref": "#/$defs/Building"
    }
    assert "Building" in schema["$defs"] and schema["additionalProperties"] is False
    assert '{"action": "finish", "answer": <the answer>}' in joins(model)[0].messages[-1].content


async def test_under_structured_outputs_a_json_replan_replans() -> None:
    model = ScriptedModel(
        [
            JSON_PLAN,
            '{"action": "replan", "reason": "search Big Ben", "answer": null}',
            JSON_PLAN.replace('"id": 1', '"id": 2'),
            '{"action": "finish", "answer": 330, "reason": null}',
        ]
    )
    agent = Agent(
        model,
        [make_search()],
        settings=Settings(plan_format="json", constrained=True),
        output_type=int,
    )
    result = await agent.run("How tall?")
    assert result.output == 330 and len(result.plans) == 2
    assert joins(model)[1].json_schema["properties"]["action"]["enum"] == ["finish"]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # as tests/models/test_openai_compatible.py
async def test_openai_compatible_sends_the_joiners_schema_as_response_format() -> None:
    import httpx

    from parcall import OpenAICompatible

    bodies: list[dict[str, Any]] = []
    replies = iter([JSON_PLAN, '{"action": "finish", "answer": [330], "reason": null}'])

    def exchange(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        data = {"choices": [{"index": 0, "delta": {"content": next(replies)}}]}
        return httpx.Response(
            200,
            content=f"data: {json.dumps(data)}\n\ndata: [DONE]\n\n".encode(),
            headers={"content-type": "text/event-stream"},
        )

    model = OpenAICompatible("m", api_key="none", transport=httpx.MockTransport(exchange))
    agent = Agent(model, [make_search()], settings=Settings(plan_format="json", constrained=True))
    result = await agent.run("How tall?", output_type=list[int])
    await model.aclose()
    assert result.output == [330]
    answer = bodies[1]["response_format"]["json_schema"]["schema"]["properties"]["answer"]
    assert answer["anyOf"][0] == {"type": "array", "items": {"type": "integer"}}


# ---- AnswerDelta ------------------------------------------------------------------------


async def events_of(agent: Agent, question: str = "q", **options: Any) -> list[Event]:
    async with agent.stream(question, **options) as run:
        return [event async for event in run]


async def test_the_answer_streams_in_pieces_before_the_decision() -> None:
    joiner = "Thought: the results say so.\nAction: Finish(The tower (Eiffel) is 330 m)"
    model = ScriptedModel([SEARCH, joiner], chars_per_token=2)
    events = await events_of(Agent(model, [make_search(HEIGHTS)]))
    deltas = [i for i, e in enumerate(events) if isinstance(e, AnswerDelta)]
    decided = next(i for i, e in enumerate(events) if isinstance(e, JoinDecided))
    answer = next(e for e in events if isinstance(e, Answered)).answer
    assert len(deltas) > 5 and max(deltas) < decided
    pieces = [e.text for e in events if isinstance(e, AnswerDelta)]
    assert "".join(pieces) == answer == "The tower (Eiffel) is 330 m"
    assert not any("Finish" in p or "Thought" in p for p in pieces)


async def test_pieces_come_while_the_joiner_is_still_writing() -> None:
    joiner = "Action: Finish(" + "word " * 40 + ")"
    model = ScriptedModel([SEARCH, joiner], chars_per_token=5, tokens_per_second=200)
    first_delta = join_ended = None
    async with Agent(model, [make_search()]).stream("q") as run:
        async for event in run:
            if isinstance(event, AnswerDelta) and first_delta is None:
                first_delta = event.time
            if isinstance(event, ModelCallFinished) and event.purpose == "join":
                join_ended = event.time
    assert first_delta is not None and join_ended is not None
    assert first_delta < join_ended - 0.1


async def test_a_replan_sends_no_answer_pieces() -> None:
    model = ScriptedModel(
        [
            SEARCH,
            "Action: Replan(Finish(this) is not an answer)",
            plan('3. search("x")'),
            "Finish(7)",
        ],
        chars_per_token=2,
    )
    events = await events_of(Agent(model, [make_search(HEIGHTS)]))
    replanned = next(i for i, e in enumerate(events) if isinstance(e, Replanned))
    deltas = [i for i, e in enumerate(events) if isinstance(e, AnswerDelta)]
    assert deltas and min(deltas) > replanned
    assert "".join(e.text for e in events if isinstance(e, AnswerDelta)) == "7"


async def test_a_quoted_answer_comes_whole_without_its_quotes() -> None:
    model = ScriptedModel([SEARCH, 'Action: Finish("Paris")'], chars_per_token=1)
    events = await events_of(Agent(model, [make_search()]))
    assert [e.text for e in events if isinstance(e, AnswerDelta)] == ["Paris"]


async def test_a_typed_answer_comes_as_one_piece_once_validated() -> None:
    model = ScriptedModel(
        [SEARCH, "Action: Finish(three)", "Action: Finish([1,2, 3])"], chars_per_token=1
    )
    events = await events_of(Agent(model, [make_search()], output_type=list[int]))
    assert [e.text for e in events if isinstance(e, AnswerDelta)] == ["[1,2,3]"]


async def test_a_template_answer_is_one_piece() -> None:
    model = ScriptedModel(['1. search("a")\nfinish("found: $1")'])
    events = await events_of(Agent(model, [make_search()]))
    assert [e.text for e in events if isinstance(e, AnswerDelta)] == ["found: result for a"]


async def test_a_grounded_run_holds_the_answer_until_it_is_accepted() -> None:
    model = ScriptedModel(
        [SEARCH, "Action: Finish(Rome)", plan('3. search("Paris")'), "Action: Finish(Paris)"],
        chars_per_token=1,
    )
    search = make_search({"Paris": "Paris is the capital"})
    events = await events_of(
        Agent(model, [search], settings=Settings(join=JoinPolicy(grounded=True)))
    )
    assert [e.text for e in events if isinstance(e, AnswerDelta)] == ["Paris"]


# ---- the tiny local model: the grammar makes its answer valid JSON of the type ----------


@pytest.fixture(scope="module")
def tiny() -> Iterator[Any]:
    import importlib.util

    from conftest import TINY_MISSING, tiny_model_path

    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python not installed: pip install 'parcall[llama]'")
    if tiny_model_path() is None:
        pytest.skip(TINY_MISSING)
    from parcall import LlamaCpp

    model = LlamaCpp("local:tiny", n_ctx=4096, n_threads=2, seed=1, warm_start=False)
    yield model
    model.close()


@pytest.mark.llama
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_tiny_models_answer_is_a_valid_instance_under_the_grammar(tiny: Any) -> None:
    from parcall._join.decision import Finish, parse_decision
    from parcall._planner.grammar import join_grammar
    from parcall.models import Message

    output = output_of(Building, "t")
    prompt = "The Eiffel Tower is 330 m tall. Answer with its name and height as JSON."
    request = ModelRequest(
        (Message("user", prompt),),
        grammar=join_grammar(can_replan=False, thought="none", answer_rules=output.grammar()),
        max_tokens=40,
    )
    text = "".join([c.text async for c in tiny.stream(request) if isinstance(c, TextChunk)])
    decision = parse_decision(text)
    assert isinstance(decision, Finish), text
    assert isinstance(output.parse(decision.answer), Building), text


@pytest.mark.llama
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("output_type", [int, float, bool, list[str], Pair, Towers])
async def test_llama_cpp_reads_the_join_grammar_of_every_kind(tiny: Any, output_type: Any) -> None:
    from parcall._planner.grammar import join_grammar
    from parcall.models import Message

    rules = output_of(output_type, "t").grammar()
    request = ModelRequest(
        (Message("user", "Answer."),),
        grammar=join_grammar(can_replan=False, thought="none", answer_rules=rules),
        max_tokens=4,
    )
    text = "".join([c.text async for c in tiny.stream(request) if isinstance(c, TextChunk)])
    assert "Action: Finish(".startswith(text) or text.startswith("Action: Finish(")


def test_the_cli_view_shows_the_answer_as_it_grows() -> None:
    import io

    from rich.console import Console

    from parcall.cli._view import RunView

    out = io.StringIO()
    console = Console(file=out, width=80)
    view = RunView(console, "q", "scripted", live=False)
    view.update(AnswerDelta("The Eiffel", 0.1))
    view.update(AnswerDelta(" Tower", 0.2))
    console.print(view._render())
    assert "The Eiffel Tower" in out.getvalue() and "answer" in out.getvalue()


SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 5},
        "size": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}, "maxItems": 2},
        "unit": {"enum": ["m", "ft"]},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["name", "size"],
    "additionalProperties": False,
    "$defs": {"Tag": {"type": "string", "pattern": "^[a-z]+$"}},
}


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"name": "Eiffel tower", "size": 1}, "name: longer than 5 characters"),
        ({"name": "a", "size": -1}, "size: must be >= 0"),
        ({"name": "a", "size": 1.5}, "size: must be integer, not a number"),
        ({"name": "a", "size": True}, "size: must be integer, not a boolean"),
        ({"size": 1}, "name: required"),
        ({"name": "a", "size": 1, "tags": ["ok", "Bad"]}, "tags[1]: does not match"),
        ({"name": "a", "size": 1, "tags": ["a", "b", "c"]}, "tags: takes at most 2 items"),
        ({"name": "a", "size": 1, "unit": "km"}, 'unit: must be one of "m", "ft"'),
        ({"name": "a", "size": 1, "note": 3}, "note: fits none of the allowed shapes"),
        ({"name": "a", "size": 1, "colour": "red"}, "colour: not allowed"),
        ([1], "the value: must be object, not an array"),
    ],
)
def test_a_structured_dict_names_what_breaks_its_schema(value: object, error: str) -> None:
    from parcall._core.json_check import schema_errors

    assert any(error in e for e in schema_errors(value, SCHEMA)), schema_errors(value, SCHEMA)
    good = {"name": "a", "size": 2.0, "tags": ["x"], "unit": "m", "note": None}
    assert schema_errors(good, SCHEMA) == []
