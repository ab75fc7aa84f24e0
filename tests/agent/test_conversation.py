"""Conversations: a run given the earlier turns (`message_history`) plans with them in view."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FINISH, make_search, plan
from parcall import Agent, ModelRequest, ScriptedModel, Turn, TurnTask, tool
from parcall.store import SQLiteRunStore

pytestmark = pytest.mark.anyio

HEIGHTS = {
    "Eiffel Tower": "The Eiffel Tower in Paris is 330 m tall.",
    "Chrysler Building": "The Chrysler Building in New York is 319 m tall.",
}


def planner_prompt(request: ModelRequest) -> str:
    """What the planner reads above its plan: the user message with the question."""
    return request.messages[1].content


async def test_the_second_plan_sees_the_first_turns_results() -> None:
    model = ScriptedModel(
        [
            plan('1. search("Eiffel Tower")', '2. search("Chrysler Building")'),
            "Thought: 330 m against 319 m.\nAction: Finish(Eiffel Tower)",
            plan('1. search("Chrysler Building")'),
            "Action: Finish(319 m)",
        ]
    )
    agent = Agent(model, [make_search(HEIGHTS)])
    first = await agent.run("Which is taller, the Eiffel Tower or the Chrysler Building?")
    second = await agent.run("And how tall is the other one?", message_history=first.all_messages())
    assert second.answer == "319 m"
    seen = planner_prompt(model.requests[2])
    # the earlier question, its calls with their results, and its answer, before the new one
    assert "Q: Which is taller, the Eiffel Tower or the Chrysler Building?" in seen
    assert 'search(query="Chrysler Building") → The Chrysler Building in New York is 319' in seen
    assert "A: Eiffel Tower" in seen
    assert seen.endswith("Question: And how tall is the other one?")
    assert "Q: " not in planner_prompt(model.requests[0])  # the first turn had no history
    assert [t.request for t in second.all_messages()] == [first.request, second.request]
    assert second.new_messages() == second.all_messages()[1:]
    assert len(second.observations) == 1  # the earlier results were read, not fetched again


async def test_a_turn_keeps_each_task_compactly() -> None:
    @tool
    def broken(name: str) -> str:
        """Always fails."""
        raise OSError(f"no {name}")

    model = ScriptedModel([plan('1. search("Eiffel Tower")', '2. broken("x")'), FINISH])
    result = await Agent(model, [make_search(HEIGHTS), broken]).run("q?")
    (turn,) = result.new_messages()
    assert turn.kind == "turn" and turn.request == "q?" and turn.answer == result.answer
    assert result.answer.startswith("done (incomplete: task 2 broken failed")
    assert turn.run_id == result.run_id and turn.run_id
    assert turn.tasks[0] == TurnTask(
        call='search(query="Eiffel Tower")', result=HEIGHTS["Eiffel Tower"], ok=True
    )
    assert turn.tasks[1] == TurnTask(call='broken(name="x")', result="ERROR: no x", ok=False)


async def test_history_round_trips_through_json() -> None:
    model = ScriptedModel([plan('1. search("Eiffel Tower")'), FINISH] * 2)
    agent = Agent(model, [make_search(HEIGHTS)])
    first = await agent.run("How tall is the Eiffel Tower?")
    stored = json.loads(first.all_messages_json())
    assert stored[0]["kind"] == "turn" and stored[0]["tasks"][0]["kind"] == "task"
    read_back = [Turn.model_validate(item) for item in stored]
    assert read_back == first.all_messages()
    second = await agent.run("And in feet?", message_history=stored)  # plain dicts will do
    assert second.message_history == tuple(read_back)
    assert "A: done" in planner_prompt(model.requests[2])


async def test_an_earlier_result_is_cut_short_in_the_prompt() -> None:
    long = Turn(request="r?", answer="a", tasks=(TurnTask(call="f()", result="y" * 5000),))
    model = ScriptedModel([plan('1. search("z")'), FINISH])
    await Agent(model, [make_search()]).run("q?", message_history=[long])
    seen = planner_prompt(model.requests[0])
    assert "y" * 300 in seen and "y" * 301 not in seen and "more characters" in seen


def test_a_bad_history_is_refused_naming_the_item() -> None:
    agent = Agent(ScriptedModel([]), [make_search()])
    with pytest.raises(ValueError, match=r"message_history\[1\] is not a Turn: answer"):
        agent.run_sync("q?", message_history=[Turn(request="a", answer="b"), {"request": "c"}])
    with pytest.raises(TypeError, match="message_history must be a list of Turns"):
        agent.run_sync("q?", message_history="earlier we said")  # type: ignore[arg-type]


async def test_the_sync_and_streamed_runs_take_the_history_too() -> None:
    history = [Turn(request="Who built it?", answer="Gustave Eiffel")]
    model = ScriptedModel([plan('1. search("a")'), FINISH] * 2)
    agent = Agent(model, [make_search()])
    async with agent.stream("When was he born?", message_history=history) as run:
        async for _ in run:
            pass
    assert run.result.all_messages()[0] == history[0]
    assert "A: Gustave Eiffel" in planner_prompt(model.requests[0])


def test_run_sync_takes_the_history() -> None:
    history = [Turn(request="Who built it?", answer="Gustave Eiffel")]
    model = ScriptedModel([plan('1. search("a")'), FINISH])
    result = Agent(model, [make_search()]).run_sync("When was he born?", message_history=history)
    assert result.all_messages()[0] == history[0]
    assert "Q: Who built it?" in planner_prompt(model.requests[0])


async def test_a_journaled_run_keeps_its_history_for_resume(tmp_path: Path) -> None:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    history = [Turn(request="Who built it?", answer="Gustave Eiffel")]
    model = ScriptedModel([plan('1. search("a")'), FINISH])
    first = await Agent(model, [make_search()], store=store).run(
        "Born when?", message_history=history
    )
    assert first.run_id is not None
    stored = await store.get(first.run_id)
    assert stored is not None and stored.history[0]["answer"] == "Gustave Eiffel"
    assert "parcall:message_history" not in stored.meta
    # resumed from the journal alone: the same prompts, so every call is replayed, none made
    again = ScriptedModel([])
    resumed = await Agent(again, [make_search()], store=store).resume(first.run_id)
    assert resumed.answer == first.answer and again.requests == []
    assert resumed.all_messages()[0] == history[0]
