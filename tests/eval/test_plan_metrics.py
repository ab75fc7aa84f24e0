"""Plan accuracy on hand-made plans: exact, call F1, argument accuracy, DAG isomorphism."""

from __future__ import annotations

from typing import Any

import pytest

from parcall._core.plan import Ref, Task, Template, iter_refs
from parcall.eval._plan_metrics import plan_scores, same_dag, trace_copies


def task(idx: int, tool: str, **args: Any) -> Task:
    deps = sorted({r.task for v in args.values() for r in iter_refs(v)})
    return Task(idx, tool, args, tuple(deps))


GOLD = [
    task(1, "airport", query="New York"),
    task(2, "airport", query="London"),
    task(3, "flights", origin=Ref(1, ("skyId",)), destination=Ref(2, ("skyId",))),
]


def test_the_gold_plan_scores_one_everywhere() -> None:
    assert set(plan_scores(GOLD, GOLD).values()) == {1.0}


def test_a_renumbered_plan_with_independent_calls_swapped_is_exact_and_isomorphic() -> None:
    made = [
        task(1, "airport", query="London"),
        task(2, "airport", query="New York"),
        task(3, "flights", origin=Ref(2, ("skyId",)), destination=Ref(1, ("skyId",))),
    ]
    scores = plan_scores(GOLD, made)
    assert scores["exact"] == 1.0
    assert scores["dag"] == 1.0


def test_renumbered_indices_far_apart_still_match() -> None:
    made = [
        task(7, "airport", query="New York"),
        task(9, "airport", query="London"),
        task(12, "flights", origin=Ref(7, ("skyId",)), destination=Ref(9, ("skyId",))),
    ]
    assert plan_scores(GOLD, made)["exact"] == 1.0


def test_a_wrong_edge_breaks_the_dag() -> None:
    made = [
        task(1, "airport", query="New York"),
        task(2, "airport", query="London"),
        task(3, "flights", origin=Ref(1, ("skyId",)), destination=Ref(1, ("skyId",))),
    ]
    scores = plan_scores(GOLD, made)
    assert scores["dag"] == 0.0
    assert scores["exact"] == 0.0
    assert scores["call_recall"] == pytest.approx(2 / 3)


def test_swapped_references_keep_the_dag_but_lose_exactness() -> None:
    made = [
        task(1, "airport", query="New York"),
        task(2, "airport", query="London"),
        task(3, "flights", origin=Ref(2, ("skyId",)), destination=Ref(1, ("skyId",))),
    ]
    scores = plan_scores(GOLD, made)
    assert scores["dag"] == 1.0
    assert scores["exact"] == 0.0
    assert scores["arg_accuracy"] == pytest.approx(2 / 4)


def test_different_argument_values_keep_the_dag_but_not_the_arguments() -> None:
    made = [
        task(1, "airport", query="NYC"),
        task(2, "airport", query="London"),
        task(3, "flights", origin=Ref(1, ("skyId",)), destination=Ref(2, ("skyId",))),
    ]
    scores = plan_scores(GOLD, made)
    assert scores["dag"] == 1.0
    assert scores["exact"] == 0.0
    assert scores["arg_accuracy"] == pytest.approx(3 / 4)
    # the flights call refers to the NYC call, which is not the gold one: it does not match
    assert scores["call_precision"] == pytest.approx(1 / 3)


def test_an_extra_call_costs_precision_and_the_dag() -> None:
    made = [*GOLD, task(4, "airport", query="Paris")]
    scores = plan_scores(GOLD, made)
    assert scores["call_recall"] == 1.0
    assert scores["call_precision"] == pytest.approx(3 / 4)
    assert scores["exact"] == 0.0
    assert scores["dag"] == 0.0


def test_no_calls_score_zero() -> None:
    scores = plan_scores(GOLD, [])
    assert scores["call_f1"] == 0.0
    assert scores["dag"] == 0.0


def test_a_field_on_a_list_and_on_its_first_item_are_the_same_reference() -> None:
    made = [
        GOLD[0],
        GOLD[1],
        task(3, "flights", origin=Ref(1, (0, "skyId")), destination=Ref(2, ("skyId",))),
    ]
    assert plan_scores(GOLD, made)["exact"] == 1.0


def test_templates_compare_part_by_part() -> None:
    gold = [task(1, "rate"), task(2, "say", text=Template(("rate: ", Ref(1, ("x",)))))]
    same = [task(1, "rate"), task(2, "say", text=Template(("rate: ", Ref(1, ("x",)))))]
    other = [task(1, "rate"), task(2, "say", text=Template(("rate: ", Ref(1, ("y",)))))]
    assert plan_scores(gold, same)["exact"] == 1.0
    assert plan_scores(gold, other)["exact"] == 0.0


def test_dag_needs_the_same_tools() -> None:
    made = [
        task(1, "airport", query="New York"),
        task(2, "city", query="London"),
        task(3, "flights", origin=Ref(1, ("skyId",)), destination=Ref(2, ("skyId",))),
    ]
    assert not same_dag(GOLD, made)


def test_a_diamond_and_a_chain_are_not_isomorphic() -> None:
    diamond = [
        task(1, "a"),
        task(2, "b", x=Ref(1)),
        task(3, "b", x=Ref(1)),
        task(4, "c", x=[Ref(2), Ref(3)]),
    ]
    chain = [task(1, "a"), task(2, "b", x=Ref(1)), task(3, "b", x=Ref(2)), task(4, "c", x=Ref(3))]
    assert same_dag(diamond, diamond)
    assert not same_dag(diamond, chain)


def test_a_copied_result_counts_as_the_reference_it_stands_for() -> None:
    made = [
        task(1, "airport", query="New York"),
        task(2, "airport", query="London"),
        task(3, "flights", origin="sky#aaaaaa", destination="the sky#bbbbbb one"),
    ]
    values = {1: [{"skyId": "sky#aaaaaa"}], 2: {"skyId": "sky#bbbbbb"}}
    traced = trace_copies(made, values, lambda s: "#" in s)
    assert traced[2].args == {
        "origin": Ref(1, (0, "skyId")),
        "destination": Template(("the ", Ref(2, ("skyId",)), " one")),
    }
    assert traced[2].deps == (1, 2)
    gold = [GOLD[0], GOLD[1], task(3, "flights", origin=Ref(1, ("skyId",)), destination=Ref(2))]
    assert same_dag(gold, traced)


def test_strings_that_are_not_traceable_stay_literals() -> None:
    made = [task(1, "airport", query="x"), task(2, "flights", origin="London")]
    traced = trace_copies(made, {1: {"city": "London"}}, lambda s: "#" in s)
    assert traced[1].args == {"origin": "London"}
    assert traced[1].deps == ()
