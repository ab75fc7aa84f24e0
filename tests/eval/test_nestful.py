"""NESTFUL: gold plans replayed through `Agent` + `ScriptedModel` against the stub tools."""

from __future__ import annotations

from collections import Counter
from typing import Any

import anyio
import pytest

from parcall import Agent, ReActAgent, RunResult, ScriptedModel
from parcall.eval import Example
from parcall.eval._nestful import Nestful


@pytest.fixture(scope="module")
def nestful() -> Nestful:
    return Nestful()


def every_example(dataset: Nestful) -> list[Example]:
    return [*dataset.examples("dev"), *dataset.examples("test")]


def replay(dataset: Nestful, example: Example) -> RunResult:
    agent = Agent(ScriptedModel(dataset.gold_script(example)), dataset.tools(example))
    return anyio.run(agent.run, example.question)


def test_splits_are_disjoint_and_cover_all_300_sequences(nestful: Nestful) -> None:
    dev = {e.id for e in nestful.examples("dev")}
    test = {e.id for e in nestful.examples("test")}
    assert not dev & test
    assert len(dev | test) == 300
    assert Counter(e.meta["subset"] for e in every_example(nestful)) == {
        "executable": 85,
        "sgd": 46,
        "glaive": 169,
    }


CHUNKS = 6  # the 300 replays in six tests, each well inside the per-test timeout


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_replaying_every_gold_plan_scores_100_percent(nestful: Nestful, chunk: int) -> None:
    examples = every_example(nestful)[chunk::CHUNKS]
    totals: Counter[str] = Counter()
    failures = []
    for example in examples:
        result = replay(nestful, example)
        failed = [o for o in result.observations if not o.ok]
        scores = nestful.score(example, result)
        totals.update(scores)
        if failed or min(scores.values()) < 1.0:
            failures.append((example.id, scores, [o.error for o in failed]))
    assert failures == []
    assert {k: v / len(examples) for k, v in totals.items()} == {
        "exact": 1.0,
        "call_precision": 1.0,
        "call_recall": 1.0,
        "call_f1": 1.0,
        "arg_accuracy": 1.0,
        "dag": 1.0,
    }


def test_the_replay_chunks_cover_every_example(nestful: Nestful) -> None:
    examples = every_example(nestful)
    chunks = [e.id for c in range(CHUNKS) for e in examples[c::CHUNKS]]
    assert sorted(chunks) == sorted(e.id for e in examples)
    assert len(chunks) == 300


def test_gold_plans_read_fields_of_lists_of_results(nestful: Nestful) -> None:
    examples = [e for e in every_example(nestful) if e.meta["subset"] == "executable"][:12]
    noted = [o for e in examples for o in replay(nestful, e).observations if o.notes]
    assert noted
    assert all("is a list of 2 items" in o.notes[0] for o in noted)


def test_a_list_result_is_read_through_its_first_item(nestful: Nestful) -> None:
    example = next(e for e in every_example(nestful) if e.id == "nestful-executable-0")
    result = replay(nestful, example)
    airports = result.observation(1).value
    assert isinstance(airports, list) and len(airports) == 2
    flights = result.observation(3)
    assert flights.args["originSkyId"] == airports[0]["skyId"]
    assert any("$1 is a list of 2 items" in note for note in flights.notes)


def test_the_model_is_shown_the_gold_tools_and_distractors(nestful: Nestful) -> None:
    example = nestful.examples("test")[0]
    names = [t.name for t in nestful.tools(example)]
    gold = {t.tool for t in nestful.gold_tasks(example)}
    assert gold <= set(names)
    assert len(names) == max(8, len(gold))
    assert len(Nestful(subsets=["sgd"], tools_per_example=None).tools(sgd(nestful))) == 30


def sgd(dataset: Nestful) -> Example:
    return next(e for e in every_example(dataset) if e.meta["subset"] == "sgd")


def test_a_plan_with_the_wrong_dependency_scores_zero_on_the_dag(nestful: Nestful) -> None:
    example = next(e for e in every_example(nestful) if e.id == "nestful-executable-0")
    plan = (
        nestful.gold_script(example)[0]
        .replace("destinationSkyId=$2.skyId", "destinationSkyId=$1.skyId")
        .replace("destinationEntityId=$2.entityId", "destinationEntityId=$1.entityId")
    )
    agent = Agent(ScriptedModel([plan, "Action: Finish(done)"]), nestful.tools(example))
    scores = nestful.score(example, anyio.run(agent.run, example.question))
    assert scores["dag"] == 0.0
    assert scores["exact"] == 0.0
    assert 0.0 < scores["call_f1"] < 1.0


def test_unknown_subsets_are_named() -> None:
    with pytest.raises(ValueError, match="unknown NESTFUL subset"):
        Nestful(subsets=["executable", "tools"])


def test_a_react_run_that_copies_results_scores_like_the_gold_plan(nestful: Nestful) -> None:
    example = next(e for e in every_example(nestful) if e.id == "nestful-executable-0")
    tools = {t.name: t for t in nestful.tools(example)}

    def first(name: str, **args: str) -> Any:
        tool = tools[name]
        value = tool.function(**tool.validate(args))
        return value[0] if isinstance(value, list) else value

    york = first("SkyScrapperSearchAirport", query="New York")
    london = first("SkyScrapperSearchAirport", query="London")
    geo = first("TripadvisorSearchLocation", query="London")["geoId"]
    dates = 'date="2024-08-15", returnDate="2024-08-18"'
    turns = [
        'Action: SkyScrapperSearchAirport(query="New York")',
        'Action: SkyScrapperSearchAirport(query="London")',
        f'Action: SkyScrapperFlightSearch(originSkyId="{york["skyId"]}", '
        f'destinationSkyId="{london["skyId"]}", originEntityId="{york["entityId"]}", '
        f'destinationEntityId="{london["entityId"]}", {dates})',
        'Action: TripadvisorSearchLocation(query="London")',
        f'Action: TripadvisorSearchHotels(geoId="{geo}", checkIn="2024-08-15", '
        'checkOut="2024-08-18")',
        "Action: Finish(done)",
    ]
    agent = ReActAgent(ScriptedModel(turns), list(tools.values()))
    result = anyio.run(agent.run, example.question)
    assert all(o.ok for o in result.observations)
    assert nestful.score(example, result)["exact"] == 1.0
    assert nestful.score(example, result)["dag"] == 1.0
