"""bench/second_hour.py's scenario machinery, run with the scripted model on two scenarios,
and its checks shown to fail on a made-up number, a wrong sum and a hidden refusal."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import pytest

from conftest import plan
from parcall import Observation, ScriptedModel
from parcall.cli._outcome import EXIT_CODES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    path = ROOT / "bench" / "second_hour.py"
    if not path.is_file():
        pytest.skip("needs the bench folder of a git checkout of parcall")
    spec = importlib.util.spec_from_file_location("second_hour", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["second_hour"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def scenario(bench: ModuleType, name: str) -> Any:
    (found,) = [s for s in bench.SCENARIOS if s.name == name]
    # The weight_kg sleeps 1 s; the scripted run needs no wait.
    return dataclasses.replace(found, module=found.module.replace("sleep(1)", "sleep(0)"))


SHIPPING = plan(
    '1. weight_kg(item="kettle")',
    '2. weight_kg(item="lamp")',
    '3. weight_kg(item="rug")',
    '4. calculator(expression="$1 + $2 + $3")',
    "5. shipping_cost(weight_kg=$4)",
)
EMAIL = plan(
    '1. email_address(name="Ann")',
    '2. send_email(to=$1, subject="Meeting", body="The meeting moved to 3 pm.")',
)


@pytest.fixture(scope="module")
def rows(bench: ModuleType) -> list[dict[str, Any]]:
    model = ScriptedModel(
        [
            SHIPPING,
            "Action: Finish(8.4 kg in all; the shipping cost is unknown: the API is down)",
            EMAIL,
            "Action: Finish(The email was not sent: sending it was not approved.)",
        ]
    )
    scenarios = [scenario(bench, "shipping API down"), scenario(bench, "email refused")]
    result: list[dict[str, Any]] = anyio.run(bench.run_scenarios, scenarios, model, "scripted")
    return result


def test_the_scripted_scenarios_pass_every_check(rows: list[dict[str, Any]]) -> None:
    shipping, email = rows
    assert shipping["status"] == "partial" and shipping["answer"].startswith("8.4 kg")
    assert shipping["checks"] == {
        "grounded": True,
        "status": True,
        "sum": True,
        "claims": True,
        "action": None,
    }
    assert email["status"] == "refused" and email["actions_made"] == []
    assert email["checks"] == {
        "grounded": True,
        "status": True,
        "sum": None,
        "claims": True,
        "action": True,
    }
    assert all(r["passed"] for r in rows)


def outcome(bench: ModuleType, **changes: Any) -> Any:
    """An outcome of the shipping scenario: the sum computed, the shipping cost failed."""
    results = [
        Observation(4, "calculator", {"expression": "$1 + $2 + $3"}, "done", 8.399999999999999),
        Observation(5, "shipping_cost", {"weight_kg": 8.4}, "failed", error="HTTP 503"),
    ]
    base = bench.Outcome("8.4 kg; shipping cost unknown", "partial", results, [], 1.0)
    return dataclasses.replace(base, **changes)


def test_a_made_up_number_or_a_wrong_sum_fails_the_checks(bench: ModuleType) -> None:
    s = scenario(bench, "shipping API down")
    codes = bench.documented_exit_codes()
    assert bench.check(s, outcome(bench), codes)["grounded"] is True
    assert bench.check(s, outcome(bench, observations=[]), codes)["grounded"] is False
    invented = bench.check(s, outcome(bench, answer="8.4 kg, and 10.8 euros to ship it"), codes)
    assert invented["grounded"] is False and invented["claims"] is False
    # A number a result holds, given as the missing cost: grounded, but it states the cost.
    misplaced = bench.check(s, outcome(bench, answer="3.95 kg, 8.4 euros"), codes)
    assert misplaced["claims"] is False and misplaced["sum"] is False  # 8.4 is not in kg
    assert bench.check(s, outcome(bench, answer="8.5 kg; shipping unknown"), codes)["sum"] is False
    assert bench.check(s, outcome(bench, answer="about 8.40 kg"), codes)["sum"] is True
    assert bench.check(s, outcome(bench, status="answered"), codes)["status"] is False


def test_a_hidden_refusal_fails_the_checks(bench: ModuleType) -> None:
    s = dataclasses.replace(scenario(bench, "email refused"), via="cli")
    codes = bench.documented_exit_codes()
    refused = outcome(bench, answer="Not sent.", status="refused", exit_code=5)
    assert bench.check(s, refused, codes)["status"] is True
    hidden = outcome(bench, answer="Sent!", status="answered", exit_code=0)
    assert bench.check(s, hidden, codes)["status"] is False
    exit_0 = outcome(bench, answer="Not sent.", status="refused", exit_code=0)
    assert bench.check(s, exit_0, codes)["status"] is False  # a script could not tell
    assert bench.check(s, hidden, codes)["claims"] is False  # "Sent!" says it was done
    assert bench.check(s, refused, codes)["claims"] is True
    said_not = outcome(bench, answer="The email was not sent.", status="refused", exit_code=5)
    assert bench.check(s, said_not, codes)["claims"] is True
    done = outcome(bench, status="refused", actions=["send_email ann@example.com"])
    assert bench.check(s, done, codes)["action"] is False


def test_the_exit_codes_are_read_from_the_docs_as_the_cli_has_them(bench: ModuleType) -> None:
    assert bench.documented_exit_codes() == EXIT_CODES


def test_the_report_has_a_row_per_scenario(bench: ModuleType, rows: list[dict[str, Any]]) -> None:
    text = bench.markdown(rows, "scripted", 1.0)
    assert (
        "| 1 | shipping API down | api | partial (partial) |  | pass | pass | pass | pass | – |"
        in text
    )
    assert "2 of 2 scenarios pass every check" in text


def test_rescore_does_the_answer_checks_again(
    bench: ModuleType, rows: list[dict[str, Any]]
) -> None:
    record = {"model": "scripted", "seconds": 1.0, "scenarios": [dict(r) for r in rows]}
    record["scenarios"][0]["answer"] = "3.95 kg, 8.4 euros"
    again = bench.rescore(record)["scenarios"]
    assert again[0]["checks"]["claims"] is False and again[0]["passed"] is False
    assert again[0]["checks"]["grounded"] is True  # kept from the run
    assert again[1]["passed"] is True
