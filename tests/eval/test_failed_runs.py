"""Plan datasets score the calls a run made, also when the run failed afterwards; and
parcall's BFCL scorer agrees with BFCL's own checker on recorded runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from parcall import RunResult, ScriptedModel
from parcall._core.plan import Plan, Task
from parcall.eval import BfclAst, Example, Nestful, run_example
from parcall.eval._record import AgentOptions

VERDICTS = Path(__file__).parent / "data" / "bfcl_official_verdicts.jsonl"


def example_of(dataset: BfclAst | Nestful, example_id: str) -> Example:
    examples = [*dataset.examples("dev"), *dataset.examples("test")]
    return next(e for e in examples if e.id == example_id)


def test_a_react_run_that_made_the_right_calls_then_hit_the_turn_limit_scores_them() -> None:
    dataset = BfclAst("parallel")
    example = example_of(dataset, "bfcl-parallel_0")
    turns = [
        'Action: spotify_play(artist="Taylor Swift", duration=20)',
        'Action: spotify_play(artist="Maroon 5", duration=15)',
        *["Thought: I am still thinking."] * 4,  # never a Finish: the turn limit (6) ends it
        'Action: spotify_play(artist="Adele", duration=5)',  # asked to answer, calls again
    ]
    model = ScriptedModel(turns)
    record = anyio.run(lambda: run_example(dataset, example, model, AgentOptions(agent="react")))
    assert record["error"]["type"] == "TurnLimitError"
    assert record["prediction"] == ""
    assert record["scores"] == {"ast": 1.0, "call_precision": 1.0, "call_recall": 1.0}


def test_a_plan_that_ran_but_got_no_answer_scores_its_calls_on_nestful() -> None:
    dataset = Nestful()
    example = example_of(dataset, "nestful-executable-0")
    plan_only = dataset.gold_script(example)[:1]  # the joiner never answers
    model = ScriptedModel(plan_only)
    record = anyio.run(lambda: run_example(dataset, example, model, AgentOptions()))
    assert record["error"]["type"] == "ScriptExhaustedError"
    assert record["scores"]["exact"] == 1.0 and record["scores"]["dag"] == 1.0


def test_an_answer_dataset_still_scores_a_failed_run_0() -> None:
    from parcall.eval._hotpotqa import HotpotQA

    pytest.importorskip("bm25s", reason="the eval extra: pip install 'parcall[eval]'")
    dataset = HotpotQA()
    example = dataset.examples("dev")[0]
    model = ScriptedModel([dataset.gold_script(example)[0]])  # a plan, then no answer
    record = anyio.run(lambda: run_example(dataset, example, model, AgentOptions()))
    assert record["error"] is not None and record["scores"] == {"em": 0.0, "f1": 0.0}


def recorded() -> list[dict[str, Any]]:
    return [json.loads(line) for line in VERDICTS.read_text(encoding="utf-8").splitlines()]


def test_parcall_scores_every_recorded_bfcl_run_as_bfcls_own_checker_does() -> None:
    """The fixture holds the calls of every record of the round-3 BFCL AST runs (both
    categories, three agents, two models; bench/results/eval/round-3/bfcl-parallel*/), and
    the verdict of `bfcl-eval` 2026.3.23's `ast_checker` (language Python, the category's
    no-order parallel rule) on them. That package pulls every provider SDK, so its verdicts
    were computed once and stored rather than installed for the tests."""
    rows = recorded()
    datasets = {name: BfclAst(name.removeprefix("bfcl-").replace("-", "_")) for name in
                {r["dataset"] for r in rows}}  # fmt: skip
    disagree = []
    for row in rows:
        dataset = datasets[row["dataset"]]
        example = example_of(dataset, row["id"])
        tasks = tuple(Task(c["idx"], c["tool"], dict(c["args"])) for c in row["calls"])
        result = RunResult(
            request=example.question,
            answer="",
            plans=(Plan(tasks),) if tasks else (),
            observations=(),
            events=(),
            duration=0.0,
        )
        if dataset.score(example, result)["ast"] != float(row["official_valid"]):
            disagree.append((row["records_file"], row["id"]))
    assert len(rows) == 126 and sum(r["official_valid"] for r in rows) == 36
    assert disagree == []


def test_the_recorded_runs_include_the_two_the_old_rule_scored_0() -> None:
    # ReAct runs that made exactly the right calls, then hit the turn limit: BFCL's checker
    # counts them right, and so does parcall now that a failed run's calls are scored.
    fixed = [
        (r["id"], r["error"]["type"])
        for r in recorded()
        if r["official_valid"] and r["recorded_ast"] == 0.0
    ]
    assert fixed == [
        ("bfcl-parallel_multiple_16", "TurnLimitError"),
        ("bfcl-parallel_multiple_4", "TurnLimitError"),
    ]
