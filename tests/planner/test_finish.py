"""Plans that end with an answer template, `finish(...)`, instead of `join()`."""

from __future__ import annotations

import json
from collections.abc import Sequence

import anyio
import pytest

from conftest import FINISH, make_search
from parcall import (
    Agent,
    Answered,
    JoinDecided,
    ModelCallStarted,
    ScriptedModel,
    Settings,
    UnknownReferenceError,
    parse_plan,
    tool,
)
from parcall._planner.grammar import plan_grammar, plan_json_schema
from parcall.models import Message, ToolCallChunk

pytestmark = pytest.mark.anyio


@tool
async def lookup(key: str) -> object:
    """Typed values: a number, a dict, a list."""
    await anyio.lowlevel.checkpoint()
    return {"height": 330, "tower": {"name": "Eiffel", "metres": 330}, "sizes": [1, 2.5]}[key]


@tool
async def broken(query: str) -> str:
    """Always fails."""
    raise ConnectionError(f"no service for {query}")


def joiner_calls(model: ScriptedModel) -> int:
    return sum(1 for r in model.requests if r.purpose == "join")


async def test_a_template_answers_without_a_joiner_call() -> None:
    model = ScriptedModel(['1. search("Eiffel")\n2. search("Liberty")\nfinish("$1 and $2")\n'])
    result = await Agent(model, [make_search()]).run("q")
    assert result.answer == "result for Eiffel and result for Liberty"
    assert joiner_calls(model) == 0 and len(model.requests) == 1
    decided = [e for e in result.events if isinstance(e, JoinDecided)]
    assert [(d.decision, d.source, d.text) for d in decided] == [
        ("finish", "template", result.answer)
    ]
    assert isinstance(result.events[-1], Answered)


async def test_a_lone_ref_answers_with_the_value_as_text() -> None:
    model = ScriptedModel(['1. lookup("tower")\n2. finish($1)'])
    result = await Agent(model, [lookup]).run("q")
    assert json.loads(result.answer) == {"name": "Eiffel", "metres": 330}


async def test_refs_in_a_template_format_typed_values_and_paths() -> None:
    text = '1. lookup("height")\n2. lookup("tower")\n3. lookup("sizes")\n'
    text += 'finish("It is $1 m; ${2}; $3; costs $$5")\n'
    result = await Agent(ScriptedModel([text]), [lookup]).run("q")
    assert result.answer == 'It is 330 m; {"name": "Eiffel", "metres": 330}; [1, 2.5]; costs $5'


async def test_a_lone_ref_may_look_into_the_value() -> None:
    text = '1. lookup("tower")\n2. lookup("sizes")\nfinish($1.name)\n'
    assert (await Agent(ScriptedModel([text]), [lookup]).run("q")).answer == "Eiffel"
    text = '1. lookup("sizes")\nfinish($1[1])\n'
    assert (await Agent(ScriptedModel([text]), [lookup]).run("q")).answer == "2.5"


async def test_a_failed_task_sends_the_plan_to_the_joiner_as_usual() -> None:
    model = ScriptedModel(['1. search("a")\n2. broken("b")\nfinish("$1 and $2")\n', FINISH])
    result = await Agent(model, [make_search(), broken]).run("q")
    assert joiner_calls(model) == 1
    assert result.answer == "done (incomplete: task 2 broken failed (no service for b))"
    decided = [e for e in result.events if isinstance(e, JoinDecided)]
    assert [d.source for d in decided] == ["joiner"]


@pytest.mark.parametrize("template", ["$2,357", "It costs $1.50", "$1 and $2.0"])
async def test_a_reference_running_into_digits_goes_to_the_joiner(template: str) -> None:
    # "$2,357" is an amount the model wrote, not task 2's result followed by ",357".
    model = ScriptedModel([f'1. search("a")\n2. search("b")\nfinish("{template}")\n', FINISH])
    result = await Agent(model, [make_search()]).run("q")
    assert joiner_calls(model) == 1 and result.answer == "done"


async def test_a_template_that_leaves_a_calculation_unused_goes_to_the_joiner() -> None:
    # Readings and their sum, then `finish("$1 days")`: the template was wired wrong.
    text = '1. search("a")\n2. search("b")\n3. calculator("1 + 2")\nfinish("$1 days")\n'
    model = ScriptedModel([text, FINISH])
    result = await Agent(model, [make_search()]).run("q")
    assert joiner_calls(model) == 1 and result.answer == "done"
    used = '1. search("a")\n2. search("b")\n3. calculator("1 + 2")\nfinish("$3 days")\n'
    model = ScriptedModel([used])
    answer = (await Agent(model, [make_search()]).run("how many days?")).answer
    assert answer == "3 days" and joiner_calls(model) == 0


async def test_a_reference_followed_by_text_or_a_spaced_number_still_answers() -> None:
    model = ScriptedModel(['1. search("a")\nfinish("$1 , 5 and $1.")\n'])
    result = await Agent(model, [make_search({"a": "a to 5"})]).run("q")
    assert joiner_calls(model) == 0
    assert result.answer == "a to 5 , 5 and a to 5."


async def test_a_task_skipped_after_a_failure_also_goes_to_the_joiner() -> None:
    text = '1. broken("a")\n2. search("$1")\nfinish("$2")\n'
    model = ScriptedModel([text, FINISH])
    result = await Agent(model, [make_search(), broken]).run("q")
    assert joiner_calls(model) == 1 and result.answer.startswith("done (incomplete: task 1 ")


async def test_a_template_naming_no_task_is_a_plan_error_the_joiner_sees() -> None:
    model = ScriptedModel(['1. search("a")\nfinish("$1 and $7")\n', FINISH])
    await Agent(model, [make_search()]).run("q")
    assert joiner_calls(model) == 1
    assert "finish refers to $7" in model.prompts[1]


def test_the_parser_keeps_the_template_and_stops_at_it() -> None:
    plan = parse_plan(
        '1. search("a")\n2. finish(answer="got $1")\n3. search("b")\n', [make_search()]
    )
    assert plan.joined and len(plan.tasks) == 1
    assert str(plan.answer) == "got ${1}"


def test_finish_needs_exactly_one_answer() -> None:
    with pytest.raises(Exception, match="finish takes one answer template"):
        parse_plan('1. search("a")\nfinish("$1", "again")\n', [make_search()])


def test_a_template_may_not_name_a_task_that_does_not_exist() -> None:
    with pytest.raises(UnknownReferenceError, match=r"\$2"):
        parse_plan('1. search("a")\nfinish($2)\n', [make_search()])


def test_a_tool_named_finish_is_a_tool_not_the_ending() -> None:
    @tool
    def finish(text: str) -> str:
        """A tool that happens to be called finish."""
        return text

    plan = parse_plan('1. finish("a")\njoin()\n', [finish])
    assert [t.tool for t in plan.tasks] == ["finish"] and plan.answer is None
    assert '"finish(" (str | ref)' not in plan_grammar([finish])


def test_the_grammar_allows_join_or_a_finish_template() -> None:
    grammar = plan_grammar([make_search()])
    assert 'root ::= step{1,20} ("join()" | "finish(" (str | ref) ")")' in grammar
    llama_cpp = pytest.importorskip(
        "llama_cpp", reason="needs the llama extra: pip install -e '.[llama]'"
    )
    llama_cpp.LlamaGrammar.from_string(grammar, verbose=False)


async def test_a_json_plan_answers_from_its_finish_field() -> None:
    text = json.dumps(
        {"tasks": [{"id": 1, "tool": "lookup", "args": {"key": "height"}}], "finish": "$1 m"}
    )
    model = ScriptedModel([text])
    result = await Agent(model, [lookup], settings=Settings(plan_format="json")).run("q")
    assert result.answer == "330 m" and joiner_calls(model) == 0
    schema = plan_json_schema([lookup])
    assert "finish" in schema["required"]


async def test_a_json_plan_with_a_null_finish_is_joined() -> None:
    text = json.dumps(
        {"tasks": [{"id": 1, "tool": "lookup", "args": {"key": "height"}}], "finish": None}
    )
    model = ScriptedModel([text, FINISH])
    result = await Agent(model, [lookup], settings=Settings(plan_format="json")).run("q")
    assert result.answer == "done" and joiner_calls(model) == 1


class ToolCallModel:
    """Answers a plan request with native tool calls."""

    name = "tool-calls"

    def __init__(self, calls: Sequence[tuple[str, dict[str, object]]]) -> None:
        self.calls = calls
        self.purposes: list[str] = []

    async def stream(self, request):  # type: ignore[no-untyped-def]
        self.purposes.append(request.purpose)
        for i, (name, args) in enumerate(self.calls):
            yield ToolCallChunk(i, f"c{i}", name, json.dumps(args))


async def test_native_tool_calls_may_end_with_a_finish_call() -> None:
    model = ToolCallModel([("lookup", {"key": "height"}), ("finish", {"answer": "$1 m"})])
    result = await Agent(model, [lookup], settings=Settings(plan_format="tools")).run("q")
    assert result.answer == "330 m" and model.purposes == ["plan"]


class PrefillingModel(ScriptedModel):
    """A scripted model whose prefill never ends on its own: it must be cancelled."""

    def __init__(self, outputs: list[str]) -> None:
        super().__init__(outputs)
        self.prefills: list[tuple[Message, ...]] = []
        self.prefill_cancelled = False
        self.prefilling = anyio.Event()

    async def prefill(self, messages: Sequence[Message]) -> None:
        self.prefills.append(tuple(messages))
        self.prefilling.set()
        try:
            await anyio.sleep_forever()
        finally:
            self.prefill_cancelled = True


async def test_the_joiner_prefix_is_prefilled_while_tasks_run_and_then_cancelled() -> None:
    model = PrefillingModel(['1. wait("a")\n2. wait("b")\njoin()\n', FINISH])

    @tool
    async def wait(query: str) -> str:
        """Returns once the model is prefilling."""
        await model.prefilling.wait()
        return query

    with anyio.fail_after(5):  # a prefill that delayed the joiner would hang here
        result = await Agent(model, [wait]).run("q")
    assert result.answer == "done" and model.prefill_cancelled
    [prefix] = model.prefills
    join_prompt = model.requests[1].messages[-1].content
    assert join_prompt.startswith(prefix[-1].content)
    assert prefix[:-1] == model.requests[1].messages[:-1]
    started = [e.purpose for e in result.events if isinstance(e, ModelCallStarted)]
    assert started == ["plan", "join"]


async def test_a_separate_joiner_prompt_is_prefilled_from_its_own_start() -> None:
    model = PrefillingModel(['1. wait("a")\njoin()\n', FINISH])

    @tool
    async def wait(query: str) -> str:
        """Returns once the model is prefilling."""
        await model.prefilling.wait()
        return query

    await Agent(model, [wait], settings=Settings(prompt_layout="separate")).run("q")
    [prefix] = model.prefills
    joiner = model.requests[1].messages
    assert prefix[0] == joiner[0] and joiner[-1].content.startswith(prefix[-1].content)


async def test_a_plan_with_a_template_is_not_prefilled() -> None:
    model = PrefillingModel(['1. search("a")\nfinish($1)\n'])
    await Agent(model, [make_search()]).run("q")
    assert model.prefills == []


async def test_a_failing_prefill_does_not_fail_the_run() -> None:
    class Failing(ScriptedModel):
        async def prefill(self, messages: Sequence[Message]) -> None:
            raise RuntimeError("no cache today")

    model = Failing(['1. search("a")\njoin()\n', FINISH])
    assert (await Agent(model, [make_search()]).run("q")).answer == "done"


@tool
def temperature_c(city: str) -> int:
    """The temperature in a city, in °C."""
    return {"Oslo": -3, "Lima": 19}[city]


AVERAGE = (
    '1. temperature_c(city="Oslo")\n2. temperature_c(city="Lima")\n'
    '3. calculator(expression="($1 + $2) / 2")\n'
)


async def test_a_unit_from_nowhere_after_a_result_goes_to_the_joiner() -> None:
    # "days" (copied from an example's finish) is in neither the question nor a result.
    model = ScriptedModel([AVERAGE + 'finish("$3 days")', "Action: Finish(8 degrees)"])
    result = await Agent(model, [temperature_c]).run("What is the average temperature?")
    assert joiner_calls(model) == 1 and result.answer == "8 degrees"


@pytest.mark.parametrize(
    ("template", "question"),
    [
        ('finish("$3 degrees")', "The average temperature in degrees?"),
        ('finish("$3 from $1 and $2")', "The average temperature?"),
        ('finish("$3")', "The average temperature?"),
    ],
)
async def test_a_unit_the_question_names_or_no_unit_answers_from_the_template(
    template: str, question: str
) -> None:
    model = ScriptedModel([AVERAGE + template])
    await Agent(model, [temperature_c]).run(question)
    assert joiner_calls(model) == 0
