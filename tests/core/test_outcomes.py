"""An answer never hides a failure: the run's status, the joiner told what is missing, an
invented number sent back or marked, and arithmetic done by the offered calculator."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import anyio
import pytest

from conftest import plan
from parcall import (
    Agent,
    AnswerDelta,
    ApprovalRequest,
    DryRunError,
    JoinPolicy,
    Observation,
    Reject,
    RunResult,
    ScriptedModel,
    Settings,
    tool,
)
from parcall._core.outcome import failures, missing_notice
from parcall._core.plan import Plan, Task
from parcall._join.decision import Finish, Replan
from parcall._join.finish_check import check_finish, invented_numbers
from parcall._planner.prompts import DEFAULT_EXAMPLES, usable_examples

WEIGHTS = {"kettle": 1.2, "lamp": 2.75, "rug": 4.45}


@tool
async def weight_kg(item: str) -> float:
    """The weight of an item in kilograms."""
    await anyio.lowlevel.checkpoint()
    return WEIGHTS[item]


@tool
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


@tool
def shipping_cost(weight_kg: float) -> float:
    """The cost in euros of shipping a parcel of this weight."""
    raise RuntimeError("shipping API is down (HTTP 503)")


@tool(side_effects=True)
def order(item: str) -> str:
    """Order an item."""
    return f"ordered {item}"


TOOLS = [weight_kg, add, shipping_cost]
QUESTION = "What is the total weight of a kettle, a lamp and a rug, and the cost of shipping it?"
PLAN = plan(
    '1. weight_kg(item="kettle")',
    '2. weight_kg(item="lamp")',
    '3. weight_kg(item="rug")',
    '4. calculator(expression="$1 + $2 + $3")',
    "5. shipping_cost(weight_kg=$4)",
)
INVENTED = "Thought: I have it.\nAction: Finish(8.4 kg, 10.8 euros)"
HONEST = "Action: Finish(8.4 kg; the shipping cost is unknown: the shipping API is down (HTTP 503))"


def test_a_failed_task_makes_the_run_partial_and_names_it() -> None:
    model = ScriptedModel([PLAN, HONEST])
    result = Agent(model, TOOLS).run_sync(QUESTION)
    assert result.status == "partial"
    assert [(o.idx, o.tool) for o in result.failed] == [(5, "shipping_cost")]
    assert result.rests_on == (1, 2, 3, 4)
    assert result.answer.startswith("8.4 kg")  # the honest answer is kept as it is


def test_the_joiner_is_told_which_result_is_missing_and_not_to_state_one() -> None:
    model = ScriptedModel([PLAN, HONEST])
    Agent(model, TOOLS).run_sync(QUESTION)
    join = model.prompts[-1]
    assert "Missing: task 5 shipping_cost failed (shipping API is down (HTTP 503))" in join
    assert "do not state one" in join
    assert "or Replan" in join  # replans remain


def test_without_replans_the_notice_does_not_offer_one() -> None:
    obs = {1: Observation(1, "shipping_cost", {}, "failed", error="down", error_type="E")}
    notice = missing_notice([Task(1, "shipping_cost", {})], obs, can_replan=False)
    assert notice is not None and "Replan" not in notice and "task 1 shipping_cost" in notice


def test_no_notice_when_every_task_succeeded() -> None:
    obs = {1: Observation(1, "add", {}, "done", value=3)}
    assert missing_notice([Task(1, "add", {})], obs, can_replan=True) is None


def test_an_invented_number_is_sent_back_once_as_a_reason_to_replan() -> None:
    # The joiner states a cost no result holds; the agent replans once with that reason;
    # the new plan fails again and the joiner invents again: the number is marked unknown.
    again = plan("6. shipping_cost(weight_kg=$4)")
    model = ScriptedModel([PLAN, INVENTED, again, INVENTED])
    result = Agent(model, TOOLS).run_sync(QUESTION)
    assert "the answer states 10.8, which no result holds" in model.prompts[2]
    assert "10.8" not in result.answer
    assert result.answer.startswith("8.4 kg, (unknown) euros (incomplete: ")
    assert "task 5 shipping_cost failed (shipping API is down (HTTP 503))" in result.answer
    assert result.status == "partial"
    assert len(result.plans) == 2


def test_an_answer_that_may_be_turned_down_is_not_streamed_as_it_is_written() -> None:
    # The invented "10.8 euros" must never reach a client that reads the answer deltas.
    again = plan("6. shipping_cost(weight_kg=$4)")
    model = ScriptedModel([PLAN, INVENTED, again, INVENTED])
    result = Agent(model, TOOLS).run_sync(QUESTION)
    deltas = [e.text for e in result.events if isinstance(e, AnswerDelta)]
    assert deltas == [result.answer] and "10.8" not in "".join(deltas)


def test_with_no_replan_left_an_invented_number_is_marked_at_once() -> None:
    model = ScriptedModel([PLAN, INVENTED])
    result = Agent(model, TOOLS, settings=Settings(max_replans=0)).run_sync(QUESTION)
    assert result.answer == (
        "8.4 kg, (unknown) euros (incomplete: task 5 shipping_cost failed "
        "(shipping API is down (HTTP 503)))"
    )
    assert len(model.requests) == 2  # no further model call


def test_an_answer_whose_numbers_the_results_hold_passes_even_when_a_task_failed() -> None:
    model = ScriptedModel([PLAN, HONEST])
    result = Agent(model, TOOLS).run_sync(QUESTION)
    assert len(model.requests) == 2  # no replan for it
    assert result.answer == HONEST.removeprefix("Action: Finish(")[:-1]


def test_invented_numbers_allow_rounding_separators_and_the_request() -> None:
    obs = [
        Observation(1, "calculator", {"expression": "1.2 + 2.75 + 4.45"}, "done", value=8.4),
        Observation(2, "population", {"city": "Paris"}, "done", value=2100000),
        Observation(3, "price", {}, "failed", error="HTTP 503"),
    ]
    held = "8.4 kg; 8.40 kg; 8 kg; 2,100,000 people; 3 items; HTTP 503; task 3"
    assert invented_numbers(held, "the 3 items", obs) == ()
    assert invented_numbers("about 10.8 euros, 8.41 kg", "q", obs) == ("10.8", "8.41")


def test_with_nothing_failed_a_number_no_result_holds_replans_then_is_marked() -> None:
    obs = {1: Observation(1, "add", {"a": 1, "b": 2}, "done", value=3)}
    plans = [Plan((Task(1, "add", {"a": 1, "b": 2}),), "", True)]
    replan = check_finish(Finish("it is 99"), "q", obs, plans, can_replan=True)
    assert isinstance(replan, Replan)
    assert replan.reason.startswith("the answer states 99, which no result holds: add a task")
    marked = check_finish(Finish("it is 99"), "q", obs, plans, can_replan=False)
    assert marked == Finish("it is (unknown) (not in the results)", unknown=("99",))
    held = Finish("it is 3")
    assert check_finish(held, "q", obs, plans, can_replan=True) is held


def test_check_finish_replans_then_marks() -> None:
    obs = {1: Observation(1, "price", {}, "failed", error="down")}
    plans = [Plan((Task(1, "price", {}),), "", True)]
    replan = check_finish(Finish("12 euros"), "q", obs, plans, can_replan=True)
    assert isinstance(replan, Replan) and "12" in replan.reason
    marked = check_finish(Finish("12 euros"), "q", obs, plans, can_replan=False)
    said = "(unknown) euros (incomplete: task 1 price failed (down))"
    assert marked == Finish(said, unknown=("12",))


def test_a_failure_made_good_by_a_later_round_leaves_the_run_answered() -> None:
    calls = 0

    @tool
    def flaky(item: str) -> float:
        """A service that fails once."""
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("timeout")
        return 2.5

    model = ScriptedModel(
        [
            plan('1. flaky(item="a")'),
            "Action: Replan(flaky failed; call it again)",
            plan('2. flaky(item="a")'),
            "Action: Finish(2.5)",
        ]
    )
    result = Agent(model, [flaky]).run_sync("How heavy is a?")
    assert result.status == "answered" and result.failed == ()
    assert result.rests_on == (2,)


def test_failures_in_the_same_round_are_not_made_good_by_a_sibling() -> None:
    obs = [
        Observation(1, "weight_kg", {"item": "a"}, "failed", error="x"),
        Observation(2, "weight_kg", {"item": "b"}, "done", value=1),
    ]
    plans = [Plan((Task(1, "weight_kg", {}), Task(2, "weight_kg", {})), "", True)]
    assert [o.idx for o in failures(obs, plans)] == [1]


def test_a_refused_action_makes_the_run_refused() -> None:
    model = ScriptedModel([plan('1. order(item="rug")'), "Action: Finish(the rug is ordered)"])
    result = Agent(model, [order], approve=lambda request: Reject("no budget")).run_sync(
        "Order a rug."
    )
    assert result.status == "refused"
    assert [o.error for o in result.failed] == ["rejected: no budget"]
    assert "task 1 order was refused (rejected: no budget) and not done" in model.prompts[-1]


def test_a_dry_run_makes_the_run_dry_run() -> None:
    def shown_only(request: ApprovalRequest) -> Reject:
        return Reject("dry run", dry_run=True)

    model = ScriptedModel([plan('1. order(item="rug")'), "Action: Finish(not ordered)"])
    result = Agent(model, [order], approve=shown_only).run_sync("Order a rug.")
    assert result.status == "dry_run"
    assert result.failed[0].error_type == DryRunError.__name__
    assert "task 1 order was not made (dry run)" in model.prompts[-1]


def test_a_run_that_acts_when_approved_is_answered() -> None:
    model = ScriptedModel([plan('1. order(item="rug")'), "Action: Finish(ordered)"])
    result = Agent(model, [order], approve=lambda request: True).run_sync("Order a rug.")
    assert result.status == "answered" and result.rests_on == (1,)


def test_repr_shows_the_status() -> None:
    model = ScriptedModel([PLAN, HONEST])
    result: RunResult = Agent(model, TOOLS).run_sync(QUESTION)
    assert "status='partial'" in repr(result)


# --- the calculator offered to the planner ----------------------------------------------


@tool
async def price(item: str) -> int:
    """The price of an item in euros."""
    await anyio.lowlevel.checkpoint()
    return {"a": 412, "b": 474}[item]


def test_the_calculator_is_offered_when_the_tools_have_none() -> None:
    model = ScriptedModel(
        [
            plan('1. price(item="a")', '2. price(item="b")', '3. calculator(expression="$1 + $2")'),
            "Action: Finish(886 euros)",
        ]
    )
    result = Agent(model, [price]).run_sync("What do a and b cost together?")
    assert result.values[3] == 886  # computed by the tool, not in the model's head
    assert result.status == "answered"
    system = model.requests[0].messages[0].content
    assert "calculator(expression: str)" in system


def test_offered_tools_can_be_turned_off() -> None:
    model = ScriptedModel(
        [plan('1. calculator(expression="1 + 1")'), "Action: Finish(no calculator)"]
    )
    agent = Agent(model, [price])
    agent.offered_tools = ()
    result = agent.run_sync("What is 1 + 1?")
    assert "calculator(expression: str)" not in model.requests[0].messages[0].content
    assert "calculator" in result.plan_errors[0].message  # the planner may not call it


def test_the_calculator_setting_turns_the_offer_off() -> None:
    model = ScriptedModel(
        [plan('1. calculator(expression="1 + 1")'), "Action: Finish(no calculator)"]
    )
    agent = Agent(model, [price], settings=Settings(calculator=False))
    assert agent.offered_tools == ()
    result = agent.run_sync("What is 1 + 1?")
    assert "calculator(expression: str)" not in model.requests[0].messages[0].content
    assert "calculator" in result.plan_errors[0].message
    assert Agent(model, [price], settings={"calculator": True}).offered_tools  # the default


def test_a_calculator_of_the_users_own_is_kept() -> None:
    @tool(name="calculator")
    def mine(expression: str) -> str:
        """My calculator."""
        return "mine"

    model = ScriptedModel([plan('1. calculator(expression="1 + 1")'), "Action: Finish(mine)"])
    result = Agent(model, [mine]).run_sync("What is 1 + 1?")
    assert result.values[1] == "mine"


def test_the_offered_calculator_does_not_narrow_the_examples() -> None:
    # With only the user's tools, no example fits and every one is shown (the format is
    # worth showing); the offered calculator alone must not make one fit.
    assert usable_examples(DEFAULT_EXAMPLES, {"price", "calculator"}, {"calculator"}) == list(
        DEFAULT_EXAMPLES
    )
    assert len(usable_examples(DEFAULT_EXAMPLES, {"search", "calculator"}, set())) < len(
        DEFAULT_EXAMPLES
    )


@pytest.mark.parametrize("offered", [True, False])
def test_models_warm_reads_the_same_system_prompt_as_a_run(offered: bool) -> None:
    model = ScriptedModel([plan('1. price(item="a")'), "Action: Finish(412)"])
    agent = Agent(model, [price])
    if not offered:
        agent.offered_tools = ()
    warm = agent.system_prompt()
    agent.run_sync("What does a cost?")
    assert model.requests[0].messages[0].content == warm


# --- docs/outcomes.md -------------------------------------------------------------------


def test_the_examples_in_docs_outcomes_print_what_they_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "outcomes.md"
    blocks = re.findall(r"```python\n(.*?)```", docs.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    for n, code in enumerate(blocks):
        script = tmp_path / f"example{n}.py"
        script.write_text(code, encoding="utf-8")
        runpy.run_path(str(script), run_name="__main__")
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        "partial",
        "(4, 'shipping_cost', 'shipping API is down (HTTP 503)')",
        "(1, 2, 3)",
    ]
    assert lines[3].startswith("3.95 kg, (unknown) euros (incomplete: task 4 shipping_cost")
    assert lines[4:] == ["886 886 euros", "412"]


def test_an_action_refused_then_approved_in_a_later_round_is_made_good() -> None:
    asked: list[int] = []

    def second_time(request: ApprovalRequest) -> bool:
        asked.append(request.asked[0].idx)
        return len(asked) > 1

    model = ScriptedModel(
        [
            plan('1. order(item="rug")'),
            "Action: Replan(ask again)",
            plan('2. order(item="rug")'),
            "Action: Finish(ordered)",
        ]
    )
    result = Agent(model, [order], approve=second_time).run_sync("Order a rug.")
    assert asked == [1, 2]
    assert result.status == "answered" and result.failed == ()


# --- sums worked out in the head --------------------------------------------------------


def test_a_sum_worked_out_in_the_head_is_sent_back_to_the_calculator() -> None:
    model = ScriptedModel(
        [
            plan('1. price(item="a")', '2. price(item="b")'),
            "Action: Finish(826 euros)",  # 412 + 474, added wrongly
            plan('3. calculator(expression="$1 + $2")'),
            "Action: Finish(886 euros)",
        ]
    )
    result = Agent(model, [price]).run_sync("What do a and b cost together?")
    assert (
        "the answer states 826, which no result holds: add a calculator task" in (model.prompts[2])
    )
    assert result.values[3] == 886 and result.answer == "886 euros"
    assert result.status == "answered"


def test_without_a_calculator_a_wrong_sum_is_sent_back_to_look_it_up_then_marked() -> None:
    # No calculator to ask for: the replan asks for a lookup; the same sum again is marked.
    model = ScriptedModel(
        [
            plan('1. price(item="a")', '2. price(item="b")'),
            "Action: Finish(826 euros)",  # 412 + 474, added wrongly
            plan('3. price(item="a")'),
            "Action: Finish(826 euros)",
        ]
    )
    agent = Agent(model, [price], settings=Settings(calculator=False))
    result = agent.run_sync("What do a and b cost together?")
    assert (
        "the answer states 826, which no result holds: add a task that looks it up"
        in (model.prompts[2])
    )
    assert result.answer == "(unknown) euros (not in the results)"
    assert len(model.requests) == 4


def test_a_right_sum_of_two_results_passes_one_step_of_arithmetic() -> None:
    model = ScriptedModel(
        [plan('1. price(item="a")', '2. price(item="b")'), "Action: Finish(886 euros)"]
    )
    agent = Agent(model, [price], settings=Settings(calculator=False))
    assert agent.run_sync("What do a and b cost together?").answer == "886 euros"
    assert len(model.requests) == 2


def test_check_numbers_off_leaves_an_answer_as_written_when_nothing_failed() -> None:
    model = ScriptedModel(
        [plan('1. price(item="a")', '2. price(item="b")'), "Action: Finish(826 euros)"]
    )
    settings = Settings(calculator=False, join=JoinPolicy(check_numbers=False))
    assert Agent(model, [price], settings=settings).run_sync("a and b?").answer == "826 euros"


def test_a_plans_finish_text_with_a_number_no_result_holds_goes_to_the_joiner() -> None:
    model = ScriptedModel(
        [
            '1. price(item="a")\nfinish("a costs 99 euros")',
            "Action: Finish(a costs 412 euros)",
        ]
    )
    result = Agent(model, [price]).run_sync("What does a cost?")
    assert result.answer == "a costs 412 euros" and len(model.requests) == 2


@tool
def search(query: str) -> str:
    """Look a fact up."""
    return {"Eiffel Tower": "The Eiffel Tower is a tall tower in Paris."}.get(
        query, f"The Eiffel Tower is 330 metres tall; {query} is not."
    )


def test_a_number_from_memory_beside_text_results_is_looked_up_once() -> None:
    # Text results, no sum: the replan asks for a lookup, and its result holds the number.
    model = ScriptedModel(
        [
            plan('1. search(query="Eiffel Tower")'),
            "Action: Finish(330 m)",
            plan('2. search(query="Eiffel Tower height")'),
            "Action: Finish(330 m)",
        ]
    )
    result = Agent(model, [search]).run_sync("How tall is the Eiffel Tower?")
    assert "the answer states 330, which no result holds" in model.prompts[2]
    assert result.answer == "330 m" and result.status == "answered"


def test_a_number_the_results_never_hold_is_marked_not_stated() -> None:
    # The by-hand case: two searches that hold no population; "1,234 + 1,234" invented.
    invented = "Action: Finish(1,234 + 1,234)"
    model = ScriptedModel(
        [
            plan('1. search(query="Eiffel Tower")', '2. search(query="Eiffel Tower")'),
            invented,
            plan('3. search(query="Eiffel Tower")'),
            invented,
        ]
    )
    result = Agent(model, [search]).run_sync("What is the population of Paris plus Lyon?")
    assert result.answer == "(unknown) + (unknown) (not in the results)"
    # Nothing failed, yet the answer lacks what was asked: a script can tell.
    assert result.status == "partial" and result.unknown == ("1,234",) and not result.failed
    assert "1,234" not in "".join(e.text for e in result.events if isinstance(e, AnswerDelta))


def test_an_invented_number_does_not_become_a_result_by_a_calculator_task() -> None:
    # Asked to compute it, the planner writes the invented numbers into a calculator task:
    # its result is a computation over nothing the results hold, so it holds nothing.
    model = ScriptedModel(
        [
            plan('1. search(query="Paris")', '2. search(query="Lyon")'),
            "Action: Finish(1,234 + 1,234)",
            plan('3. calculator(expression="1,234 + 1,234")'),
            "Action: Finish(2468)",
        ]
    )
    result = Agent(model, [search]).run_sync("What is the population of Paris plus Lyon?")
    assert "add a calculator task" in model.prompts[2]
    assert result.values[3] == 2468 and result.answer == "(unknown) (not in the results)"


def test_a_calculator_task_may_write_small_factors_and_the_requests_numbers() -> None:
    model = ScriptedModel(
        [
            plan('1. search(query="Eiffel Tower")', '2. calculator(expression="3 * 7 + 4")'),
            "Action: Finish(25 days)",
        ]
    )
    result = Agent(model, [search]).run_sync("How many days are 3 weeks and 4 days?")
    assert result.answer == "25 days" and len(model.requests) == 2


def test_an_answer_streams_up_to_its_first_number_and_is_then_not_sent_back() -> None:
    # "The Eiffel Tower is " was shown as it was written: the check marks, never replans.
    model = ScriptedModel(
        [plan('1. search(query="Eiffel Tower")'), "Action: Finish(The Eiffel Tower is 330 m)"]
    )
    result = Agent(model, [search]).run_sync("How tall is the Eiffel Tower?")
    pieces = [e.text for e in result.events if isinstance(e, AnswerDelta)]
    assert "".join(pieces[:-1]) == "The Eiffel Tower is"  # shown as it was written
    marked = "The Eiffel Tower is (unknown) m (not in the results)"
    assert "".join(pieces) == result.answer == marked
    assert len(model.requests) == 2


# --- an answer copied from the plan's finish(...) ------------------------------------------


@tool
def find_user(name: str) -> dict[str, object]:
    """A user's record."""
    return {"id": 1042, "name": name}


@tool(side_effects=True)
def delete_account(user_id: int) -> str:
    """Delete a user's account."""
    return f"deleted {user_id}"


DELETE = '1. find_user(name="Bob")\n2. delete_account(user_id=$1)\nfinish("Bob\'s account deleted")'


def test_the_plans_finish_text_copied_by_the_joiner_is_not_the_answer_when_a_task_failed() -> None:
    model = ScriptedModel([DELETE, "Action: Finish(Bob's account deleted)"])
    agent = Agent(model, [find_user, delete_account], settings={"max_replans": 0})
    result = agent.run_sync("Delete Bob's account.")
    assert result.status == "partial"  # $1 is a record, not an id: the deletion failed
    assert result.answer.startswith("(unknown) (incomplete: task 2 delete_account failed")


def test_a_task_given_bad_arguments_is_sent_back_to_be_called_again() -> None:
    fixed = plan("3. delete_account(user_id=$1.id)")  # the replan numbers on
    model = ScriptedModel(
        [DELETE, "Action: Finish(Bob's account deleted)", fixed, "Action: Finish(Deleted.)"]
    )
    result = Agent(model, [find_user, delete_account]).run_sync("Delete Bob's account.")
    replan = model.requests[2].messages[-1].content
    # A task that failed for bad arguments is sent back first, to be called again.
    assert "(bad arguments for delete_account" in replan
    assert "call it again as delete_account(user_id=$1.id)" in replan
    assert result.values[3] == "deleted 1042"
    assert result.status == "answered" and result.answer == "Deleted."


def test_the_first_plans_finish_text_counts_after_a_replan_that_failed_again() -> None:
    again = plan("3. delete_account(user_id=$1)")  # the same mistake, no finish text
    copied = "Action: Finish(Bob's account deleted)"
    model = ScriptedModel([DELETE, copied, again, copied])
    result = Agent(model, [find_user, delete_account]).run_sync("Delete Bob's account.")
    assert result.status == "partial"
    assert result.answer.startswith("(unknown) (incomplete: ")


def test_an_answer_like_the_plans_finish_passes_when_every_task_succeeded() -> None:
    obs = {1: Observation(1, "find_user", {}, "done", {"id": 1})}
    plans = [Plan((Task(1, "find_user", {}),), "", True, answer="Done")]
    assert check_finish(Finish("done"), "q", obs, plans, can_replan=True) == Finish("done")
    failed = {1: Observation(1, "find_user", {}, "failed", error="down")}
    assert isinstance(check_finish(Finish("done"), "q", failed, plans, can_replan=True), Replan)
