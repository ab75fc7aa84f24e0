"""Grounded answers: an answer no result mentions is a reason to look again."""

from __future__ import annotations

import pytest

from conftest import make_search, plan
from parcall import Agent, JoinPolicy, ScriptedModel, Settings
from parcall._join.grounding import is_grounded

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("answer", "grounded"),
    [
        ("Yes", True),
        ("no", True),
        ("Chief of Protocol", True),
        ("the chief of protocol.", True),
        ("9,984", True),
        ("9984", True),
        ("6,000,000", False),
        ("Janet Waldo", False),
        ("", True),
    ],
)
def test_answers_are_checked_word_by_word(answer: str, grounded: bool) -> None:
    evidence = ["Shirley Temple served as Chief of Protocol.", "The county had 9,984 people."]
    assert is_grounded(answer, evidence) is grounded


async def test_an_answer_from_memory_is_sent_back_while_replans_remain() -> None:
    model = ScriptedModel(
        [
            plan('1. search("lake")'),
            "Thought: guess.\nAction: Finish(6,000,000)",
            plan('2. search("Brown County")'),
            "Action: Finish(9,984)",
        ]
    )
    search_again = make_search(
        {
            "lake": "Brown State Fishing Lake is in Brown County, Kansas.",
            "Brown County": "Brown County had 9,984 people in 2010.",
        }
    )
    result = await Agent(
        model, [search_again], settings=Settings(max_replans=1, join=JoinPolicy(grounded=True))
    ).run("q")
    assert result.answer == "9,984" and result.replans == 1
    assert "no result mentions '6,000,000'" in model.requests[2].messages[-1].content


async def test_the_last_round_keeps_an_ungrounded_answer() -> None:
    model = ScriptedModel([plan('1. search("a")'), "Action: Finish(elsewhere)"])
    result = await Agent(
        model, [make_search()], settings=Settings(max_replans=0, join=JoinPolicy(grounded=True))
    ).run("q")
    assert result.answer == "elsewhere"


async def test_off_by_default() -> None:
    model = ScriptedModel([plan('1. search("a")'), "Action: Finish(the one in Lyon)"])
    result = await Agent(model, [make_search()]).run("q")
    assert result.answer == "the one in Lyon" and result.replans == 0


@pytest.mark.parametrize(
    ("question", "yes_no"),
    [
        ("Were Scott Derrickson and Ed Wood of the same nationality?", True),
        ("Is the sky blue?", True),
        ("Which company owns the label?", False),
        ("Island of the Blue Dolphins was written by whom?", False),
    ],
)
def test_the_joiner_is_asked_for_yes_or_no_only_on_yes_no_questions(
    question: str, yes_no: bool
) -> None:
    from parcall import Prompts
    from parcall._planner.prompts import JOIN_RULES

    asked = Prompts(join_rules=JOIN_RULES).join(question, [], {}, None, can_replan=True)
    assert ("The answer is yes or no." in asked) is yes_no
    whole = Prompts().join(question, [], {}, None, can_replan=True)
    finish = next(line for line in whole.splitlines() if line.startswith("Action: Finish("))
    assert (finish == "Action: Finish(<yes or no>)") is yes_no
