"""The model-backed `extract` tool: short answers, typed numbers, used inside plans."""

from __future__ import annotations

import pytest

from parcall import Agent, ScriptedModel
from parcall.tools import extract_tool
from parcall.tools._extract import EXTRACT_SYSTEM


@pytest.mark.parametrize(
    ("said", "value"),
    [
        ("Tim Burton", "Tim Burton"),
        ("Answer: Tim Burton.", "Tim Burton"),
        ('"Cincinnati"\nmore text', "Cincinnati"),
        ("1966", 1966),
        ("1,234", 1234),
        ("3.5", 3.5),
    ],
)
def test_answers_are_short_and_numbers_typed(said: str, value: object) -> None:
    extract = extract_tool(ScriptedModel([said]))
    assert extract.validate({"question": "q", "context": "c"}) == {"question": "q", "context": "c"}
    import anyio

    got = anyio.run(extract.call, {"question": "Who?", "context": "Tim Burton directed it."})
    assert got == value and type(got) is type(value)


def test_the_model_reads_the_context_and_the_question() -> None:
    model = ScriptedModel(["Tim Burton"])
    import anyio

    anyio.run(extract_tool(model, context_chars=20).call, {"question": "Who?", "context": "x" * 50})
    request = model.requests[0]
    assert request.messages[0].content == EXTRACT_SYSTEM
    assert "Question: Who?" in request.messages[1].content
    assert "x" * 21 not in request.messages[1].content  # the context is cut
    assert request.grammar is None  # a scripted model takes no grammar


def test_in_a_plan_extract_turns_a_paragraph_into_the_next_query() -> None:
    from conftest import make_search

    search = make_search({"Jaws": "Jaws is a 1975 film directed by Steven Spielberg."})
    planner = ScriptedModel(
        [
            '1. search(query="Jaws")\n'
            '2. extract(question="Who directed Jaws?", context=$1)\n'
            "3. search(query=$2)\njoin()",
            "Thought: found.\nAction: Finish(Cincinnati)",
        ]
    )
    side = ScriptedModel(["Steven Spielberg"])
    result = Agent(planner, [search, extract_tool(side)]).run_sync("Where was he born?")
    assert result.observation(3).args == {"query": "Steven Spielberg"}
    assert "Jaws is a 1975 film" in side.requests[0].messages[1].content


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        extract_tool(ScriptedModel(["x"]), max_tokens=0)
