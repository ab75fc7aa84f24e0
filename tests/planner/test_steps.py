"""A partial result is shown as a step: a number a later task took further is not the
answer (`3.95` from `add($1, $2)` before `add($4, $3)` gave the total)."""

from __future__ import annotations

from parcall._core.observation import Observation
from parcall._core.plan import Ref, Task
from parcall._planner.prompts import Prompts


def _done(idx: int, tool: str, value: object) -> Observation:
    return Observation(idx=idx, tool=tool, args={}, status="done", value=value)


def test_a_number_a_later_task_took_further_is_shown_as_a_step() -> None:
    tasks = [
        Task(1, "weight_kg", {"item": "kettle"}),
        Task(2, "weight_kg", {"item": "lamp"}),
        Task(3, "weight_kg", {"item": "rug"}),
        Task(4, "add", {"a": Ref(1), "b": Ref(2)}),
        Task(5, "add", {"a": Ref(4), "b": Ref(3)}),
        Task(6, "shipping_cost", {"weight_kg": Ref(5)}),
    ]
    obs = {
        1: _done(1, "weight_kg", 1.2),
        2: _done(2, "weight_kg", 2.75),
        3: _done(3, "weight_kg", 4.45),
        4: _done(4, "add", 3.95),
        5: _done(5, "add", 8.4),
        6: Observation(6, "shipping_cost", {}, "failed", error="HTTP 503"),
    }
    prompt = Prompts().join("Q?", tasks, obs, None, can_replan=True)
    assert "→ 3.95 (a step: 5 takes it further)" in prompt
    assert "→ 1.2 (a step: 4 takes it further)" in prompt
    assert "→ 4.45 (a step: 5 takes it further)" in prompt
    # The total fed only a task that failed: it is what the results hold, shown as it is.
    assert "→ 8.4\n" in prompt


def test_text_taken_by_a_later_search_is_shown_as_it_is() -> None:
    tasks = [Task(1, "search", {"query": "a"}), Task(2, "search", {"query": Ref(1)})]
    obs = {1: _done(1, "search", "Ann"), 2: _done(2, "search", "Ann is 30")}
    prompt = Prompts().join("Q?", tasks, obs, None, can_replan=True)
    assert "(a step" not in prompt
