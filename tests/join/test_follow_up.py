"""`Agent(follow_up=True)`: a short answer the tools never looked up is looked up, then the
joiner judges again (the director of Jaws is not where he was born)."""

from __future__ import annotations

import pytest

from parcall import Agent, JoinDecided, JoinPolicy, Replanned, ScriptedModel, Settings, tool

pytestmark = pytest.mark.anyio

PAGES = {
    "Jaws (film)": "Jaws (film): Jaws is a 1975 film directed by Steven Spielberg.",
    "Steven Spielberg": "Steven Spielberg: born in Cincinnati, Ohio.",
}


@tool
def search(query: str) -> str:
    """Search the encyclopedia."""
    return PAGES.get(query, f"No page for {query!r}.")


def calls_of(result: object) -> list[dict[str, object]]:
    return [o.args for o in result.observations]  # type: ignore[attr-defined]


async def test_a_name_never_looked_up_is_looked_up_and_judged_again() -> None:
    model = ScriptedModel(
        [
            '1. search(query="Jaws (film)")\njoin()',
            "Thought: Jaws was directed by Steven Spielberg.\nAction: Finish(Steven Spielberg)",
            "Thought: He was born in Cincinnati.\nAction: Finish(Cincinnati)",
        ]
    )
    agent = Agent(model, [search], settings=Settings(join=JoinPolicy(follow_up=True)))
    result = await agent.run("In which city was the director of Jaws born?")
    assert result.answer == "Cincinnati"
    assert calls_of(result) == [{"query": "Jaws (film)"}, {"query": "Steven Spielberg"}]
    assert len(result.model_calls) == 3  # plan, join, join: the look-up needs no planner
    assert [p.text for p in result.plans][1] == '2. search(query="Steven Spielberg")\njoin()'
    # The second join reads every result afresh, without the first answer in view.
    asked = [(m.role, m.content) for m in model.requests[2].messages]
    assert [role for role, _ in asked] == ["system", "user", "assistant", "user"]
    assert "directed by Steven Spielberg" in asked[-1][1] and "Cincinnati" in asked[-1][1]
    assert "Finish(Steven Spielberg)" not in "".join(text for _, text in asked)
    assert [e.round for e in result.events if isinstance(e, Replanned)] == [1]
    first = next(e for e in result.events if isinstance(e, JoinDecided))
    assert (first.decision, first.text) == ("replan", "Steven Spielberg")


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Were Jaws and Alien directed by the same person?", "no"),  # yes/no
        ("Who was born first, Steven Spielberg or Ridley Scott?", "Ridley Scott"),  # choice
        ("In which year was Jaws released?", "1975"),  # no name to look up
        ("Who directed Jaws?", "Jaws (film)"),  # looked up already
        ("What is Jaws about?", "a shark that attacks swimmers at a summer resort town"),
    ],
)
async def test_other_answers_are_given_at_once(question: str, answer: str) -> None:
    model = ScriptedModel(
        ['1. search(query="Jaws (film)")\njoin()', f"Thought: found.\nAction: Finish({answer})"]
    )
    result = await Agent(model, [search], settings=Settings(join=JoinPolicy(follow_up=True))).run(
        question
    )
    assert result.answer == answer
    assert len(result.model_calls) == 2


async def test_no_follow_up_when_off_or_on_the_last_round() -> None:
    for settings in (
        Settings(join=JoinPolicy(follow_up=False)),
        Settings(max_replans=0, join=JoinPolicy(follow_up=True)),
    ):
        model = ScriptedModel(
            [
                '1. search(query="Jaws (film)")\njoin()',
                "Thought: t.\nAction: Finish(Steven Spielberg)",
            ]
        )
        result = await Agent(model, [search], settings=settings).run(
            "Where was Jaws's director born?"
        )
        assert result.answer == "Steven Spielberg"
        assert len(result.model_calls) == 2


async def test_a_follow_up_happens_once_per_run() -> None:
    model = ScriptedModel(
        [
            '1. search(query="Jaws (film)")\njoin()',
            "Thought: t.\nAction: Finish(Steven Spielberg)",
            "Thought: t.\nAction: Finish(Ohio native)",
        ]
    )
    result = await Agent(model, [search], settings=Settings(join=JoinPolicy(follow_up=True))).run(
        "Where was Jaws's director born?"
    )
    assert result.answer == "Ohio native"
    assert len(result.model_calls) == 3
