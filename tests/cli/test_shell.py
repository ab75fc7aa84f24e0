"""`parcall shell`: one agent and model answer question after question."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Iterable

import pytest
from rich.console import Console

from conftest import FINISH, make_search
from parcall import Agent, ModelError, ModelRequest, ScriptedModel
from parcall.cli._shell import repl

pytestmark = pytest.mark.anyio


async def lines(*typed: str) -> AsyncIterator[str]:
    for line in typed:
        yield line


def console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=120, color_system=None), out


TOWERS = {"Eiffel Tower": "The Eiffel Tower is 330 m tall."}


def agent(outputs: Iterable[str | Callable[[ModelRequest], str]]) -> tuple[Agent, ScriptedModel]:
    model = ScriptedModel(list(outputs))
    return Agent(model, [make_search(TOWERS)]), model


async def test_each_question_is_answered_with_the_same_model_until_exit() -> None:
    shell_agent, model = agent(
        ['1. search("a")\nfinish($1)\n', '1. search("b")\njoin()\n', FINISH, "never used"]
    )
    screen, out = console()
    results = await repl(
        shell_agent, lines("first?", "", "second?", "exit", "third?"), screen, live=False
    )
    assert [r.request for r in results] == ["first?", "second?"]
    assert [r.answer for r in results] == ["result for a", "done"]
    assert len(model.requests) == 3  # the template answered the first without a joiner
    text = out.getvalue()
    assert "result for a" in text and "done" in text
    assert text.count("time: load") == 2


async def test_the_load_time_counts_for_the_first_question_only() -> None:
    shell_agent, _ = agent(['1. search("a")\nfinish($1)\n'] * 2)
    screen, out = console()
    await repl(shell_agent, lines("one", "two"), screen, load_s=3.5, live=False)
    times = [line for line in out.getvalue().splitlines() if line.startswith("time:")]
    assert times[0].startswith("time: load 3.50 s") and times[1].startswith("time: load 0.00 s")


async def test_a_failed_question_is_reported_and_the_shell_goes_on() -> None:
    # the first plan asks for a tool that does not exist and the joiner script is empty
    shell_agent, _ = agent(['1. nope("a")\njoin()\n'])
    screen, out = console()
    results = await repl(shell_agent, lines("bad", "quit"), screen, live=False)
    assert results == [] and "error:" in out.getvalue()


async def test_the_questions_make_one_conversation_until_new() -> None:
    shell_agent, model = agent(
        [
            '1. search("Eiffel Tower")\njoin()\n',
            "Action: Finish(330 m)",
            '1. search("Statue of Liberty")\nfinish($1)\n',
            '1. search("x")\nfinish($1)\n',
        ]
    )
    screen, out = console()
    results = await repl(
        shell_agent,
        lines("How tall is the Eiffel Tower?", "And the other one?", "new", "Hello?"),
        screen,
        live=False,
    )
    assert [r.answer for r in results] == ["330 m", "result for Statue of Liberty", "result for x"]
    second = model.requests[2].messages[1].content
    assert "Q: How tall is the Eiffel Tower?" in second and "A: 330 m" in second
    assert 'search(query="Eiffel Tower") → The Eiffel Tower is 330 m tall.' in second
    assert [t.request for t in results[1].all_messages()] == [
        "How tall is the Eiffel Tower?",
        "And the other one?",
    ]
    assert model.requests[3].messages[1].content == "Question: Hello?"  # after `new`
    assert "a new conversation" in out.getvalue()


async def test_a_failed_question_is_left_out_of_the_conversation() -> None:
    def down(request: ModelRequest) -> str:
        raise ModelError("the server is down")

    shell_agent, model = agent([down, '1. search("b")\nfinish($1)\n'])
    screen, _ = console()
    results = await repl(shell_agent, lines("bad", "good?"), screen, live=False)
    assert [r.request for r in results] == ["good?"]
    assert model.requests[-1].messages[1].content == "Question: good?"
