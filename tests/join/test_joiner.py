"""Reading the joiner's decision, tolerant of small formatting drift."""

from __future__ import annotations

import pytest

from parcall import Finish, JoinerOutputError, Replan, parse_decision


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("Thought: ok\nAction: Finish(42 m)", "42 m"),
        ("Finish(42 m)", "42 m"),
        ('Action: finish("Paris")', "Paris"),
        ("Action: Finish(an answer (with parentheses))", "an answer (with parentheses)"),
        ("Action: Finish(no closing parenthesis", "no closing parenthesis"),
        ("Finish: Paris", "Paris"),
        ("Thought: I will finish now.\nAction: Finish(yes)", "yes"),
        ("Action: Finish(the race finish: 3pm)", "the race finish: 3pm"),
    ],
)
def test_finish_forms(text: str, answer: str) -> None:
    decision = parse_decision(text)
    assert isinstance(decision, Finish)
    assert decision.answer == answer
    assert not decision.inferred


def test_replan_carries_the_reason_and_thought() -> None:
    decision = parse_decision("Thought: search failed\nAction: Replan(search for B instead)")
    assert decision == Replan("search for B instead", "search failed")


def test_the_last_action_wins() -> None:
    text = "Action: Replan(x)\nOn reflection:\nAction: Finish(y)"
    assert parse_decision(text) == Finish("y", None)


def test_text_without_an_action_is_taken_as_the_answer() -> None:
    decision = parse_decision("The answer is 42.")
    assert isinstance(decision, Finish) and decision.inferred
    assert decision.answer == "The answer is 42."


def test_empty_output_is_a_typed_error() -> None:
    with pytest.raises(JoinerOutputError):
        parse_decision("   \n")
