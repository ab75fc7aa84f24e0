"""A sum written out but not worked out is sent back to the calculator."""

from __future__ import annotations

import pytest

from conftest import plan
from parcall import Agent, ScriptedModel, tool
from parcall._join.expressions import unworked


@pytest.mark.parametrize(
    ("answer", "written"),
    [
        ("48210 + 130575 + 9870", ("48210 + 130575 + 9870",)),
        ("1,234 + 1,234 people", ("1,234 + 1,234",)),
        ("3 * 0.5 + 2 * 0.8 euros", ("3 * 0.5 + 2 * 0.8",)),
        ("-3 + 19 + 24 + 8 / 4 degrees", ("-3 + 19 + 24 + 8 / 4",)),
        ("1.2 × 3", ("1.2 × 3",)),
    ],
)
def test_an_expression_without_its_result_is_unworked(
    answer: str, written: tuple[str, ...]
) -> None:
    assert unworked(answer) == written


@pytest.mark.parametrize(
    "answer",
    [
        "188655 (48210 + 130575 + 9870)",  # worked out beside it
        "48210 + 130575 + 9870 = 188655",
        "6, that is 10 + -4",
        "in office 1942-1944",  # a range
        "in office 1942 - 1944",  # a range as often as a difference
        "on 12/05/2026",  # a date
        "it ended 2-1",  # a score
        "8.4 kg",
        "(unknown) + (unknown) (not in the results)",
        "1.2 kg + 2.75 kg",  # units between: not written as arithmetic
    ],
)
def test_no_unworked_arithmetic(answer: str) -> None:
    assert unworked(answer) == ()


@tool
def population(town: str) -> str:
    """A town's population."""
    return {"Aldham": "48210", "Brinford": "130575"}[town]


def test_a_written_out_sum_is_sent_back_to_be_computed() -> None:
    looked = plan('1. population(town="Aldham")', '2. population(town="Brinford")')
    model = ScriptedModel(
        [
            looked,
            "Action: Finish(48210 + 130575)",
            plan('3. calculator(expression="$1 + $2")'),
            "Action: Finish(178785)",
        ]
    )
    result = Agent(model, [population]).run_sync("How many people live in Aldham and Brinford?")
    assert "the answer writes out 48210 + 130575 without working it out" in model.prompts[2]
    assert result.values[3] == 178785 and result.answer == "178785"
    assert result.status == "answered"


def test_without_a_calculator_a_written_out_sum_stays() -> None:
    looked = plan('1. population(town="Aldham")', '2. population(town="Brinford")')
    model = ScriptedModel([looked, "Action: Finish(48210 + 130575)"])
    agent = Agent(model, [population], settings={"calculator": False})
    result = agent.run_sync("How many people live in Aldham and Brinford?")
    assert result.answer == "48210 + 130575" and len(model.requests) == 2
