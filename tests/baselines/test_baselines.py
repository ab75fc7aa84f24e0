"""The baselines: ReAct (one call per turn) and parallel tool calling (one batch per turn)."""

from __future__ import annotations

import anyio
import pytest

from conftest import Gate
from parcall import (
    ModelCallFinished,
    ScriptedModel,
    TaskFailed,
    TaskFinished,
    TaskStarted,
    Tool,
    tool,
)
from parcall.baselines._parallel_calls import ParallelToolCallAgent
from parcall.baselines._react import ReActAgent
from parcall.baselines._turns import LAST_TURN, TurnLimitError

pytestmark = pytest.mark.anyio

FINISH = "Thought: enough.\nAction: Finish(done)"


def tracked(gate: Gate) -> Tool:
    """A tool whose calls the gate counts and holds."""

    @tool
    async def fetch(name: str) -> str:
        """Fetch a thing."""
        gate.enter(name)
        try:
            await anyio.lowlevel.checkpoint()
            return f"got {name}"
        finally:
            gate.leave()

    return fetch


def running_at_once(events: tuple[object, ...]) -> int:
    """The most tasks started and not yet settled at any point of the event order."""
    running = peak = 0
    for event in events:
        if isinstance(event, TaskStarted):
            running += 1
            peak = max(peak, running)
        elif isinstance(event, (TaskFinished, TaskFailed)):
            running -= 1
    return peak


async def test_react_makes_one_call_per_turn_and_one_model_call_per_call(gate: Gate) -> None:
    model = ScriptedModel(
        [
            'Thought: first a.\nAction: fetch(name="a")',
            'Thought: then b.\nAction: fetch("b")',
            FINISH,
        ]
    )
    result = await ReActAgent(model, [tracked(gate)]).run("q")
    assert result.answer == "done"
    assert len(result.model_calls) == 3
    assert result.values == {1: "got a", 2: "got b"}
    assert gate.started == ["a", "b"] and gate.peak == 1
    assert running_at_once(result.events) == 1
    assert model.prompts[1] == "Observation: got a"


async def test_react_passes_an_earlier_result_by_reference() -> None:
    @tool
    async def double(x: int) -> int:
        """Double."""
        return 2 * x

    model = ScriptedModel(["Action: double(4)", "Action: double($1)", "Action: Finish(16)"])
    result = await ReActAgent(model, [double]).run("q")
    assert result.values == {1: 8, 2: 16}


async def test_react_shows_a_broken_action_to_the_model_and_goes_on(gate: Gate) -> None:
    model = ScriptedModel(["Action: nope(1)", 'Action: fetch("a")', FINISH])
    result = await ReActAgent(model, [tracked(gate)]).run("q")
    assert "unknown tool 'nope'" in model.prompts[1]
    assert result.values == {1: "got a"}


async def test_react_reads_a_bare_argument_of_a_one_argument_tool(gate: Gate) -> None:
    # The ReAct paper writes `Search[entity]`; small models write `fetch(Ed Wood)`.
    model = ScriptedModel(["Action: fetch(Ed Wood)", "Action: fetch[Scott Derrickson]", FINISH])
    result = await ReActAgent(model, [tracked(gate)]).run("q")
    assert gate.started == ["Ed Wood", "Scott Derrickson"]
    assert result.answer == "done"


async def test_react_does_not_run_a_call_again_and_says_so(gate: Gate) -> None:
    model = ScriptedModel(
        ['Action: fetch("a")', 'Action: fetch("a")', 'Action: fetch("b")', FINISH]
    )
    result = await ReActAgent(model, [tracked(gate)]).run("q")
    assert gate.started == ["a", "b"]
    assert "you made this call before; its result (call 1) is above" in model.prompts[2]
    assert "Answer now from what you have" in model.prompts[2]
    assert result.answer == "done"


async def test_react_asks_for_the_answer_after_a_second_repeated_call(gate: Gate) -> None:
    # A small model that keeps asking for what it has would search on to the turn limit.
    repeat = 'Action: fetch("a")'
    model = ScriptedModel([repeat, repeat, 'Action: fetch("b")', repeat, FINISH])
    result = await ReActAgent(model, [tracked(gate)], max_turns=6).run("q")
    assert gate.started == ["a", "b"]
    assert result.answer == "done" and len(model.prompts) == 5
    assert "You have no tool calls left" in model.prompts[4]


async def test_a_bare_argument_is_not_guessed_for_a_tool_of_two_arguments(gate: Gate) -> None:
    @tool
    def pair(a: str, b: str) -> str:
        """Two arguments."""
        return a + b

    model = ScriptedModel(["Action: pair(x y)", FINISH])
    await ReActAgent(model, [pair]).run("q")
    assert "not a tool call" in model.prompts[1]


def test_react_shows_worked_examples_only_with_the_tools_they_call() -> None:
    @tool
    def search(query: str) -> str:
        """Search."""
        return query

    with_search = ReActAgent(ScriptedModel([FINISH]), [search]).system()
    assert 'Action: search(query="Jaws (film)")' in with_search
    assert "Examples" not in ReActAgent(ScriptedModel([FINISH]), [tracked]).system()


async def test_react_stops_after_max_turns_and_one_request_for_an_answer(gate: Gate) -> None:
    model = ScriptedModel(['Action: fetch("a")'], cycle=True)
    with pytest.raises(TurnLimitError) as caught:
        await ReActAgent(model, [tracked(gate)], max_turns=3).run("q")
    assert len(caught.value.result.model_calls) == 4  # 3 turns, then the final request
    assert "Answer now" in model.prompts[-1]
    assert gate.started == ["a"]  # not run again, and the final reply's call is not run


async def test_react_at_the_turn_limit_is_asked_for_its_answer(gate: Gate) -> None:
    model = ScriptedModel(['Action: fetch("a")', 'Action: fetch("b")', FINISH])
    result = await ReActAgent(model, [tracked(gate)], max_turns=2).run("q")
    assert result.answer == "done"
    assert len(result.model_calls) == 3
    last = model.requests[-1].messages
    assert last[-1].role == "user" and last[-2].role == "assistant"  # one message, not two
    assert last[-1].content.startswith("Observation: got b") and "Finish(" in last[-1].content


async def test_react_takes_a_plain_final_reply_as_the_answer(gate: Gate) -> None:
    model = ScriptedModel(['Action: fetch("a")', "It is 42."])
    result = await ReActAgent(model, [tracked(gate)], max_turns=1).run("q")
    assert result.answer == "It is 42."


async def test_parallel_calls_at_the_turn_limit_are_asked_for_their_answer(gate: Gate) -> None:
    model = ScriptedModel(['1. fetch("a")\n2. fetch("b")', FINISH])
    result = await ParallelToolCallAgent(model, [tracked(gate)], max_turns=1).run("q")
    assert result.answer == "done"
    assert sorted(gate.started) == ["a", "b"]
    assert "Answer now" in model.prompts[-1]


async def test_parallel_calls_still_calling_at_the_limit_raise(gate: Gate) -> None:
    model = ScriptedModel(['1. fetch("a")', '2. fetch("b")'])
    with pytest.raises(TurnLimitError) as caught:
        await ParallelToolCallAgent(model, [tracked(gate)], max_turns=1).run("q")
    assert len(caught.value.result.model_calls) == 2
    assert gate.started == ["a"]


def test_turn_agents_default_to_six_turns() -> None:
    assert ReActAgent(ScriptedModel([]), []).max_turns == 6
    assert ParallelToolCallAgent(ScriptedModel([]), []).max_turns == 6


async def test_the_results_before_the_last_turn_ask_for_the_answer(gate: Gate) -> None:
    model = ScriptedModel(['Action: fetch("a")', 'Action: fetch("b")', FINISH])
    result = await ReActAgent(model, [tracked(gate)], max_turns=3).run("q")
    assert result.answer == "done"
    assert "last tool call" not in model.prompts[1]
    assert model.prompts[2].rstrip().endswith(LAST_TURN)


async def test_parallel_calls_are_told_when_their_next_turn_is_the_last(gate: Gate) -> None:
    model = ScriptedModel(['1. fetch("a")', FINISH])
    await ParallelToolCallAgent(model, [tracked(gate)], max_turns=2).run("q")
    assert model.prompts[1].rstrip().endswith(LAST_TURN)


async def test_parallel_calls_run_a_batch_at_once_then_the_next_batch(gate: Gate) -> None:
    model = ScriptedModel(
        [
            '1. fetch("a")\n2. fetch("b")\n3. fetch("c")',
            '4. fetch("d from $1")',
            FINISH,
        ]
    )
    result = await ParallelToolCallAgent(model, [tracked(gate)]).run("q")
    assert result.answer == "done"
    assert len(result.model_calls) == 3
    assert result.values[4] == "got d from got a"
    starts = [e.idx for e in result.events if isinstance(e, TaskStarted)]
    assert sorted(starts[:3]) == [1, 2, 3] and starts[3] == 4
    # all three calls of the first batch started before any of them finished
    assert running_at_once(result.events) == 3
    assert "Results:" in model.prompts[1] and "got c" in model.prompts[1]


async def test_parallel_calls_reject_a_reference_inside_the_same_batch(gate: Gate) -> None:
    model = ScriptedModel(['1. fetch("a")\n2. fetch("$1")', FINISH])
    result = await ParallelToolCallAgent(model, [tracked(gate)]).run("q")
    assert "same batch" in model.prompts[1]
    assert result.observations == ()


async def test_parallel_calls_number_unnumbered_calls_on(gate: Gate) -> None:
    model = ScriptedModel(['fetch("a")\nfetch("b")', 'fetch("c")', FINISH])
    result = await ParallelToolCallAgent(model, [tracked(gate)]).run("q")
    assert result.values == {1: "got a", 2: "got b", 3: "got c"}


async def test_both_baselines_count_tokens_per_model_call(gate: Gate) -> None:
    for agent_type in (ReActAgent, ParallelToolCallAgent):
        model = ScriptedModel(
            ['Action: fetch("a")' if agent_type is ReActAgent else 'fetch("a")', FINISH]
        )
        result = await agent_type(model, [tracked(gate)]).run("q")
        calls = [e for e in result.events if isinstance(e, ModelCallFinished)]
        assert len(calls) == 2
        assert all(c.usage.input_tokens > 0 and c.usage.output_tokens > 0 for c in calls)
        assert calls[1].usage.input_tokens > calls[0].usage.input_tokens


def test_run_sync_wraps_run(gate: Gate) -> None:
    model = ScriptedModel(['Action: fetch("a")', FINISH])
    assert ReActAgent(model, [tracked(gate)]).run_sync("q").answer == "done"


async def test_a_model_error_reaches_the_caller_as_itself_not_in_an_exception_group(
    gate: Gate,
) -> None:
    from parcall import ModelError

    class Failing(ScriptedModel):
        async def stream(self, request):  # type: ignore[no-untyped-def,override]
            raise ModelError("the prompt has 5606 tokens but the context holds 4096")
            yield  # pragma: no cover

    with pytest.raises(ModelError, match="context holds 4096"):
        await ReActAgent(Failing([]), [tracked(gate)]).run("q")


@pytest.mark.parametrize("agent_type", [ReActAgent, ParallelToolCallAgent])
async def test_a_model_error_keeps_the_turns_before_it(
    gate: Gate, agent_type: type[ReActAgent] | type[ParallelToolCallAgent]
) -> None:
    from parcall import ModelCallFinished, ModelError

    class FailsSecond(ScriptedModel):
        async def stream(self, request):  # type: ignore[no-untyped-def,override]
            if self.requests:
                raise ModelError("the prompt has 5606 tokens but the context holds 4096")
            async for chunk in super().stream(request):
                yield chunk

    with pytest.raises(ModelError) as caught:
        first = 'Action: fetch("a")' if agent_type is ReActAgent else 'fetch("a")'
        await agent_type(FailsSecond([first]), [tracked(gate)]).run("q")
    kept = caught.value.result
    assert [t.tool for t in kept.plans[0].tasks] == ["fetch"]
    assert [o.value for o in kept.observations] == ["got a"]
    calls = [e for e in kept.events if isinstance(e, ModelCallFinished)]
    assert len(calls) == 2 and calls[0].usage.output_tokens > 0  # the failed call is kept too


def test_parallel_calls_show_worked_examples_only_with_the_tools_they_call() -> None:
    @tool
    def search(query: str) -> str:
        """Search."""
        return query

    with_search = ParallelToolCallAgent(ScriptedModel([FINISH]), [search]).system()
    assert '1. search(query="Eiffel Tower")\n2. search(query="Statue of Liberty")' in with_search
    assert "Examples" not in ParallelToolCallAgent(ScriptedModel([FINISH]), [tracked]).system()


@pytest.mark.parametrize(
    "turn",
    [
        'Thought: first the director.\nAction: Finish(fetch("a"))\nResult: made up',
        "Thought: first the director.\nAction: fetch(a)\nTitle: invented text",
        'fetch("a")\nResults:\n1. fetch("a")\n   → invented',
    ],
)
async def test_parallel_calls_read_a_small_models_call_and_drop_what_it_invents(
    turn: str, gate: Gate
) -> None:
    model = ScriptedModel([turn, FINISH])
    result = await ParallelToolCallAgent(model, [tracked(gate)]).run("q")
    assert gate.started == ["a"] and result.answer == "done"
    assert model.requests[0].stop == ("\nResults:", "\nResult:", "\nObservation:")


async def test_parallel_calls_run_before_an_answer_guessed_in_the_same_turn(gate: Gate) -> None:
    model = ScriptedModel(['1. fetch("a")\nAction: Finish(a guess)', FINISH])
    result = await ParallelToolCallAgent(model, [tracked(gate)]).run("q")
    assert gate.started == ["a"] and result.answer == "done"


async def test_react_skips_an_observation_the_model_wrote_itself(gate: Gate) -> None:
    model = ScriptedModel(['Observation: invented\nThought: look.\nAction: fetch("a")', FINISH])
    result = await ReActAgent(model, [tracked(gate)]).run("q")
    assert gate.started == ["a"] and result.answer == "done"


@pytest.mark.parametrize("agent_type", [ReActAgent, ParallelToolCallAgent])
async def test_a_turn_of_prose_is_a_format_error_until_the_last_ask(
    agent_type: type[ReActAgent] | type[ParallelToolCallAgent], gate: Gate
) -> None:
    model = ScriptedModel(["It is probably Paris.", FINISH])
    result = await agent_type(model, [tracked(gate)]).run("q")
    assert result.answer == "done"  # the prose was not taken as the answer
    assert "Finish(answer)" in model.prompts[1]  # the model was told what to write

    last = ScriptedModel(["It is probably Paris."], cycle=True)
    result = await agent_type(last, [tracked(gate)], max_turns=1).run("q")
    assert result.answer == "It is probably Paris."  # asked for the answer, prose is one
