"""FanOutQA: the oracle `ask` tool and the package's own string scorer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from parcall import ScriptedModel
from parcall.eval import run_eval, split_of
from parcall.eval._fanoutqa import FanOutQA, answer_text

pytest.importorskip("bm25s", reason="needs the eval extra: pip install -e '.[eval]'")


@pytest.fixture(scope="module")
def fanout() -> FanOutQA:
    return FanOutQA()


# The scorer's first use imports spaCy: seconds on a quiet machine, more on a busy one.
slow_import = pytest.mark.timeout(240)


def needs_scorer() -> None:
    pytest.importorskip("fanoutqa", reason="needs the fanoutqa extra: pip install -e '.[fanoutqa]'")


def test_examples_are_the_310_dev_questions_split_by_id(fanout: FanOutQA) -> None:
    dev, test = fanout.examples("dev"), fanout.examples("test")
    assert len(dev) + len(test) == 310
    assert {split_of(e.id) for e in dev} == {"dev"} and {split_of(e.id) for e in test} == {"test"}


def test_ask_answers_the_best_matching_stored_sub_question(fanout: FanOutQA) -> None:
    example = next(
        e
        for e in fanout.examples("dev") + fanout.examples("test")
        if e.question.startswith("What is the batting hand of each")
    )
    ask = fanout.tools(example)[0]
    found = ask.function(question="Which hand does Pat Burrell bat with?")
    assert found == "Right (answering: What is the batting hand of Pat Burrell?)"
    assert ask.function(question="zzzqqq").startswith("No answer found")


def test_stored_answers_become_text() -> None:
    assert answer_text({"A": ["x", "y"], "B": True}) == "A: x, y; B: yes"


@slow_import
def test_the_package_scorer_gives_loose_and_strict_accuracy(fanout: FanOutQA) -> None:
    needs_scorer()
    from parcall.eval._fanoutqa_score import answer_in_text

    assert answer_in_text(["Nuuk", "Iqaluit"], "Nuuk and Iqaluit") == (True, 1.0)
    assert answer_in_text(["Nuuk", "Iqaluit"], "only Nuuk") == (False, 0.5)


@slow_import
def test_a_scripted_run_with_the_gold_answer_scores_one_and_a_wrong_one_zero(
    tmp_path: Path,
) -> None:
    needs_scorer()

    def scripted(answer: str | None):  # type: ignore[no-untyped-def]
        # The gold answer's numbers are in the call, so the answer's numbers are held.
        def model(example: Any) -> ScriptedModel:
            said = answer or answer_text(example.gold)
            return ScriptedModel(
                [f"1. ask(question={json.dumps(said)})\njoin()\n", f"Action: Finish({said})"]
            )

        return model

    right = run_eval("fanoutqa", model=scripted(None), model_name="s", limit=3, out=tmp_path)
    wrong = run_eval("fanoutqa", model=scripted("no idea"), model_name="w", limit=3, out=tmp_path)
    assert right["scores"]["loose"] > 0.9 and wrong["scores"] == {"loose": 0.0, "strict": 0.0}
