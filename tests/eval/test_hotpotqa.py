"""HotpotQA: per-question search and lookup, official EM/F1, scripted runs end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parcall import ScriptedModel
from parcall.eval import load_dataset, run_eval, split_of
from parcall.eval._hotpotqa import HotpotQA, hotpot_em, hotpot_f1, normalize_answer

pytest.importorskip("bm25s", reason="needs the eval extra: pip install -e '.[eval]'")


@pytest.fixture(scope="module")
def hotpot() -> HotpotQA:
    return HotpotQA(lookup=True)


def test_normalisation_drops_case_punctuation_articles_and_spaces() -> None:
    assert normalize_answer("  The  Eiffel-Tower, an icon!") == "eiffeltower icon"


def test_exact_match_uses_the_normalised_answers() -> None:
    assert hotpot_em("the Chief of Protocol.", "Chief of Protocol") == 1.0
    assert hotpot_em("Chief of Staff", "Chief of Protocol") == 0.0


def test_f1_gives_partial_credit_for_shared_words() -> None:
    # pred "chief protocol officer" vs gold "chief of protocol": 2 common, p 2/3, r 2/3
    assert hotpot_f1("Chief Protocol officer", "Chief of Protocol") == pytest.approx(2 / 3)


def test_f1_scores_yes_and_no_only_when_equal() -> None:
    assert hotpot_f1("yes", "yes") == 1.0
    assert hotpot_f1("yes it is", "yes") == 0.0  # official: no partial credit around yes/no
    assert hotpot_f1("no", "yes") == 0.0


def test_examples_are_split_by_stable_hash_into_dev_and_test(hotpot: HotpotQA) -> None:
    dev, test = hotpot.examples("dev"), hotpot.examples("test")
    ids = [e.id for e in (*dev, *test)]
    assert len(ids) == len(set(ids)) == 60
    assert all(split_of(e.id) == "dev" for e in dev)
    assert all(split_of(e.id) == "test" for e in test)


def test_search_returns_the_best_paragraph_as_title_and_text_cut_short() -> None:
    ds = HotpotQA(search_chars=80)
    example = next(e for e in ds.examples("dev") if "Scott Derrickson" in e.question)
    search = {t.name: t for t in ds.tools(example)}["search"]
    found = search.function(query="Scott Derrickson director")
    assert found.startswith("Scott Derrickson: Scott Derrickson (born July 16, 1966)")
    assert len(found) == 80 and found.endswith("…")


def test_search_says_when_nothing_matches(hotpot: HotpotQA) -> None:
    example = hotpot.examples("dev")[0]
    search = {t.name: t for t in hotpot.tools(example)}["search"]
    assert search.function(query="zzzqqq").startswith("No paragraph matches")


def test_lookup_returns_the_sentences_that_contain_a_term(hotpot: HotpotQA) -> None:
    example = next(e for e in hotpot.examples("dev") if "Scott Derrickson" in e.question)
    lookup = {t.name: t for t in hotpot.tools(example)}["lookup"]
    found = lookup.function(term="los angeles")
    assert "Scott Derrickson: He lives in Los Angeles, California." in found.splitlines()
    assert lookup.function(term="zzzqqq").startswith("No sentence contains")


def test_tools_describe_themselves_to_the_planner(hotpot: HotpotQA) -> None:
    tools = {t.name: t for t in hotpot.tools(hotpot.examples("dev")[0])}
    assert tools["search"].signature() == "search(query: str) -> str"
    assert "Title: text" in tools["search"].description
    assert "term" in tools["lookup"].signature()


def test_search_is_the_only_tool_unless_lookup_is_asked_for() -> None:
    alone, both = HotpotQA(), HotpotQA(lookup=True)
    assert [t.name for t in alone.tools(alone.examples("dev")[0])] == ["search"]
    assert [t.name for t in both.tools(both.examples("dev")[0])] == ["search", "lookup"]
    assert alone.settings["lookup"] is False and both.settings["lookup"] is True


def _script(answer: str):  # type: ignore[no-untyped-def]
    return lambda example: ScriptedModel(
        [
            f"1. search(query={json.dumps(example.question[:40])})\njoin()\n",
            f"Thought: found it.\nAction: Finish({answer or example.gold})",
        ]
    )


def test_a_scripted_search_then_the_gold_answer_scores_one(tmp_path: Path) -> None:
    summary = run_eval("hotpotqa", model=_script(""), model_name="scripted", limit=2, out=tmp_path)
    assert summary["scores"] == {"em": 1.0, "f1": 1.0}
    records = [json.loads(x) for x in next(tmp_path.glob("*.jsonl")).read_text().splitlines()]
    assert [r["calls"][0]["tool"] for r in records] == ["search", "search"]
    assert all(r["calls"][0]["value"] for r in records)


def test_a_wrong_answer_scores_zero(tmp_path: Path) -> None:
    summary = run_eval(
        "hotpotqa", model=_script("Paris"), model_name="scripted", limit=2, out=tmp_path
    )
    assert summary["scores"]["em"] == 0.0


def test_the_gold_script_scores_every_dev_question(tmp_path: Path) -> None:
    summary = run_eval("hotpotqa", model="gold", out=tmp_path)
    assert summary["n"] == len(load_dataset("hotpotqa").examples("dev"))
    assert summary["scores"]["em"] == 1.0 and summary["errors"] == 0
