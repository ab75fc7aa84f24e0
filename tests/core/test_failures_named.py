"""While a task failed, the answer says so: one that names no failure gets it added, the
input of a failed computation is not given as its result, and a task given bad arguments
is called again with them fixed."""

from __future__ import annotations

import pytest

from conftest import plan
from parcall import Agent, ScriptedModel, tool
from parcall._core.observation import Observation
from parcall._core.plan import Plan, Ref, Task, Template
from parcall._join.decision import Finish, Replan
from parcall._join.finish_check import check_finish, says_what_failed


@tool
def price_usd(item: str) -> float:
    """An item's price in US dollars."""
    return 899.0


@tool
def exchange_rate(currency_from: str, currency_to: str) -> float:
    """How many of `currency_to` one `currency_from` buys."""
    raise TimeoutError("the rate service did not answer")


CONVERT = plan(
    '1. price_usd(item="laptop")',
    '2. exchange_rate(currency_from="USD", currency_to="EUR")',
    '3. calculator(expression="$1 * $2")',
)
QUESTION = "What does the laptop cost in euros?"
IN_EUROS = "Action: Finish(899.0 euros)"


def test_the_input_of_a_failed_conversion_is_sent_back_then_marked() -> None:
    again = plan('4. exchange_rate(currency_from="USD", currency_to="EUR")')
    model = ScriptedModel([CONVERT, IN_EUROS, again, IN_EUROS])
    result = Agent(model, [price_usd, exchange_rate]).run_sync(QUESTION)
    assert (
        "the answer gives 899.0, an input of a computation that did not run" in (model.prompts[2])
    )
    assert result.answer.startswith("(unknown) euros (incomplete: task 2 exchange_rate failed")
    assert result.status == "partial" and result.unknown == ("899.0",)


def test_an_answer_that_says_what_failed_keeps_the_input() -> None:
    honest = "Action: Finish(899.0 US dollars; the exchange rate did not answer)"
    model = ScriptedModel([CONVERT, honest])
    result = Agent(model, [price_usd, exchange_rate]).run_sync(QUESTION)
    assert result.answer == "899.0 US dollars; the exchange rate did not answer"
    assert result.status == "partial" and result.unknown == ()
    assert len(model.requests) == 2


def _failed_conversion() -> tuple[dict[int, Observation], list[Plan]]:
    calc = Task(3, "calculator", {"expression": Template((Ref(1), " * ", Ref(2)))})
    tasks = (Task(1, "price_usd", {}), Task(2, "exchange_rate", {}), calc)
    obs = {
        1: Observation(1, "price_usd", {}, "done", value=899.0),
        2: Observation(2, "exchange_rate", {}, "failed", error="timed out"),
        3: Observation(3, "calculator", {}, "failed", error="not run"),
    }
    return obs, [Plan(tasks, "", True)]


def test_an_answer_naming_no_failure_gets_it_added() -> None:
    obs, plans = _failed_conversion()
    checked = check_finish(Finish("the laptop"), "q", obs, plans, can_replan=True)
    assert checked == Finish(
        "the laptop (incomplete: task 2 exchange_rate failed (timed out); "
        "task 3 calculator failed (not run))"
    )
    # A typed answer is JSON: nothing is added to it.
    typed = check_finish(Finish('{"a": 1}'), "q", obs, plans, can_replan=False, text=False)
    assert typed == Finish('{"a": 1}')


def test_without_a_replan_left_the_input_is_marked_at_once() -> None:
    obs, plans = _failed_conversion()
    checked = check_finish(Finish("899 euros"), "q", obs, plans, can_replan=False)
    assert isinstance(checked, Finish) and checked.unknown == ("899",)
    assert checked.answer.startswith("(unknown) euros (incomplete: task 2 exchange_rate")


def test_stating_a_lookup_that_fed_nothing_failed_is_not_an_input() -> None:
    obs, plans = _failed_conversion()
    plans = [Plan((*plans[0].tasks[:2], Task(3, "calculator", {"expression": "2 * 3"})), "", True)]
    checked = check_finish(Finish("899 euros"), "q", obs, plans, can_replan=True)
    assert isinstance(checked, Finish) and checked.unknown == ()
    assert checked.answer.startswith("899 euros (incomplete: ")


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ("899 dollars; the rate timed out", True),
        ("the exchange rate is unknown", True),
        ("no exchange_rate", True),
        ("exchange rate missing", True),
        ("899 euros", False),
        ("the laptop costs 899", False),
    ],
)
def test_says_what_failed(answer: str, says: bool) -> None:
    failed = (Observation(2, "exchange_rate", {}, "failed", error="timed out"),)
    assert says_what_failed(answer, failed) is says


def test_bad_arguments_are_sent_back_before_anything_else() -> None:
    obs = {
        1: Observation(1, "find_user", {}, "done", value={"id": 7}),
        2: Observation(
            2, "delete", {}, "failed", error="bad arguments for delete: user_id: Input should be"
        ),
    }
    plans = [Plan((Task(1, "find_user", {}), Task(2, "delete", {})), "", True)]
    checked = check_finish(Finish("deleted"), "q", obs, plans, can_replan=True)
    assert isinstance(checked, Replan)
    assert checked.reason.endswith("call it again with the arguments fixed")
    last = check_finish(Finish("deleted"), "q", obs, plans, can_replan=False)
    assert last == Finish(
        "deleted (incomplete: task 2 delete failed (bad arguments for "
        "delete: user_id: Input should be))"
    )
