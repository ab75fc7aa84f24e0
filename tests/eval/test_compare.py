"""`parcall eval compare` and `parcall eval summary`: runs paired by example, the reference
agents' output read as a run, clear errors."""

from __future__ import annotations

import json
import re
import runpy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from parcall.cli import app
from parcall.eval import compare_runs, load_run
from parcall.eval._hotpotqa import HotpotQA, example_id, source_records, write_hotpotqa_split

cli = CliRunner()
TEST = list(HotpotQA().examples("test"))


def write(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def record(i: int, em: float, wall: float, prediction: str = "x") -> dict[str, Any]:
    example = TEST[i]
    return {
        "id": example.id,
        "question": example.question,
        "prediction": prediction,
        "scores": {"em": em, "f1": em},
        "wall_s": wall,
        "model_calls": 2,
        "tokens_in": 100,
        "tokens_out": 10,
        "error": None,
    }


def reference_line(i: int, agent: str, em: float, wall: float, **extra: Any) -> dict[str, Any]:
    example = TEST[i]
    return {
        "idx": i,
        "agent": agent,
        "question": example.question,
        "gold": example.gold,
        "answer": "r",
        "em": em,
        "f1": em,
        "wall_s": wall,
        "llm_calls": 3,
        "prompt_tokens": 900,
        "completion_tokens": 40,
        **extra,
    }


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    # A: right on 0-9; B: right on 2-15 and 1 s faster on each; paired on 1-19, so B
    # loses 1 and gains 10-15
    a = [record(i, float(i < 10), 5.0 + i % 3) for i in range(20)]
    b = [record(i, float(2 <= i < 16), 4.0 + i % 3, "y") for i in range(1, 21)]
    return (
        write(tmp_path / "hotpotqa.test.react.local.jsonl", a),
        write(tmp_path / "hotpotqa.test.parcall.local.jsonl", b),
    )


def test_runs_are_paired_by_example_id(runs: tuple[Path, Path]) -> None:
    comparison = compare_runs(*runs)
    assert len(comparison.paired) == 19
    assert comparison.only_in_a == (TEST[0].id,) and comparison.only_in_b == (TEST[20].id,)
    assert comparison.a.dataset == "hotpotqa" and comparison.primary == "em"


def test_a_0_1_score_gets_mcnemar_and_the_flips(runs: tuple[Path, Path]) -> None:
    comparison = compare_runs(*runs)
    em = comparison.metric("em")
    assert em.binary and (em.gained, em.lost) == (6, 1)
    assert em.p_value == pytest.approx(2 * (1 + 7) / 128)  # exact binomial, n = 7
    assert (em.a, em.b) == (pytest.approx(9 / 19), pytest.approx(14 / 19))
    assert em.difference.value == pytest.approx(5 / 19)
    assert em.difference.low <= 0 < em.difference.high and em.verdict == "within noise"
    flips = comparison.flips["em"]
    assert [f.id for f in flips if f.b > f.a] == [TEST[i].id for i in range(10, 16)]
    assert [(f.id, f.prediction_a, f.prediction_b) for f in flips if f.a > f.b] == [
        (TEST[1].id, "x", "y")
    ]


def test_seconds_get_a_paired_interval_and_a_ratio(runs: tuple[Path, Path]) -> None:
    seconds = compare_runs(*runs).metric("seconds")
    assert seconds.cost and seconds.difference.value == pytest.approx(-1.0)
    assert seconds.difference.low == seconds.difference.high == pytest.approx(-1.0)
    assert seconds.verdict == "B lower (better)"
    assert seconds.ratio is not None and seconds.ratio.value < 1


def test_the_cli_prints_a_table_and_json(runs: tuple[Path, Path]) -> None:
    result = cli.invoke(app, ["eval", "compare", *map(str, runs)])
    assert result.exit_code == 0, result.output
    assert "paired: 19 examples of hotpotqa; only in A: 1, only in B: 1" in result.output
    assert "within noise" in result.output and "McNemar p=0.12 (+6 −1)" in result.output
    as_json = cli.invoke(app, ["eval", "compare", *map(str, runs), "--json"])
    data = json.loads(as_json.output)
    assert data["paired"] == 19 and data["metrics"][0]["metric"] == "em"
    assert data["metrics"][0]["mcnemar_p"] == pytest.approx(0.125)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: [str(d / "missing.jsonl"), str(d / "a.jsonl")], "no such records file"),
        (
            lambda d: [str(d / "a.jsonl"), str(d / "fanoutqa.test.react.local.jsonl")],
            "different datasets: a.jsonl is hotpotqa",
        ),
        (lambda d: [str(d / "a.jsonl"), str(d / "other.jsonl")], "no example in both runs"),
        (lambda d: [str(d / "a.jsonl"), str(d / "junk.jsonl")], "neither parcall eval records"),
    ],
)
def test_bad_inputs_exit_2_with_an_error_line(tmp_path: Path, make: Any, message: str) -> None:
    write(tmp_path / "a.jsonl", [record(i, 1.0, 1.0) for i in range(3)])
    fanout = [{**record(i, 1.0, 1.0), "id": f"fanoutqa-{i}"} for i in range(3)]
    write(tmp_path / "fanoutqa.test.react.local.jsonl", fanout)
    write(tmp_path / "other.jsonl", [record(i, 1.0, 1.0) for i in range(5, 8)])
    write(tmp_path / "junk.jsonl", [{"hello": 1}])
    (tmp_path / "summary.json").write_text(
        json.dumps([{"records_file": "a.jsonl", "dataset": "hotpotqa", "primary": "em"}])
    )
    result = cli.invoke(app, ["eval", "compare", *make(tmp_path)])
    assert result.exit_code == 2
    assert "error:" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_a_reference_file_is_a_run_of_one_agent(tmp_path: Path, runs: tuple[Path, Path]) -> None:
    lines = [reference_line(i, "react", float(i % 2), 3.0) for i in range(20)]
    lines += [reference_line(i, "plan_execute", 0.0, 2.0, plan_ok=[True, False]) for i in range(20)]
    reference = write(tmp_path / "reference.jsonl", lines)
    run = load_run(f"{reference}#react")
    assert run.source == "reference" and run.dataset == "hotpotqa" and len(run.records) == 20
    first = run.records[TEST[1].id]
    assert first["scores"] == {"em": 1.0, "f1": 1.0} and first["model_calls"] == 3.0
    assert load_run(f"{reference}#plan_execute").records[TEST[0].id]["replans"] == 1
    comparison = compare_runs(f"{reference}#react", runs[1])
    assert len(comparison.paired) == 19 and comparison.a.label == "reference.jsonl#react"
    with pytest.raises(ValueError, match="holds the reference agents plan_execute, react"):
        load_run(reference)
    with pytest.raises(ValueError, match="no agent 'cot'"):
        load_run(f"{reference}#cot")


def test_a_reference_line_without_its_question_is_mapped_by_idx(tmp_path: Path) -> None:
    ids = [example_id(r["question"]) for r in source_records()]
    line = reference_line(0, "react", 1.0, 1.0)
    del line["question"]
    line["idx"] = 7
    run = load_run(write(tmp_path / "ref.jsonl", [line]))
    assert list(run.records) == [ids[7]]
    line["idx"] = 60
    with pytest.raises(ValueError, match="idx 60 is not a question of the 60-question"):
        load_run(write(tmp_path / "ref.jsonl", [line]))


def test_a_split_file_for_the_reference_holds_exactly_that_split(tmp_path: Path) -> None:
    assert write_hotpotqa_split("test", tmp_path / "test.json") == len(TEST) == 28
    written = json.loads((tmp_path / "test.json").read_text())
    assert [example_id(r["question"]) for r in written] == [e.id for e in TEST]
    assert set(written[0]) >= {"question", "answer", "type", "context"}


def test_summary_prints_rows_with_intervals_for_parcall_and_reference_files(
    tmp_path: Path, runs: tuple[Path, Path]
) -> None:
    lines = [reference_line(i, "react", float(i % 2), 3.0) for i in range(4)]
    lines += [
        {**reference_line(0, "react", 1.0, 3.0), "question": HotpotQA().examples("dev")[0].question}
    ]
    reference = write(tmp_path / "reference.jsonl", lines)
    result = cli.invoke(
        app, ["eval", "summary", str(runs[0]), f"{reference}#react", "--split", "test"]
    )
    assert result.exit_code == 0, result.output
    assert "| hotpotqa | test | react | local | – | 20 | em 0.500 [" in result.output
    assert "| hotpotqa | test | reference react | – | – | 4 | em 0.500 [" in result.output
    assert "| 900 / – / 40 | 3 | 0 | 0 |" in result.output
    missing = cli.invoke(app, ["eval", "summary", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "no such records file" in missing.output


def test_a_difference_beyond_noise_says_which_way(tmp_path: Path) -> None:
    a = write(tmp_path / "a.jsonl", [record(i, 0.0, 2.0) for i in range(12)])
    b = write(tmp_path / "b.jsonl", [record(i, float(i < 9), 2.0) for i in range(12)])
    em = compare_runs(a, b).metric("em")
    assert (em.gained, em.lost) == (9, 0) and em.p_value == pytest.approx(2 / 512)
    assert em.verdict == "B higher (better)"
    assert compare_runs(b, a).metric("em").verdict == "B lower (worse)"


def test_the_python_example_of_the_docs_prints_what_it_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(__file__).resolve().parents[2]
    text = (root / "docs" / "eval.md").read_text(encoding="utf-8")
    (code,) = [c for c in re.findall(r"```python\n(.*?)```", text, re.S) if "compare_runs" in c]
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    monkeypatch.chdir(root)  # the example reads recorded runs; it writes nothing
    runpy.run_path(str(script), run_name="__main__")
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["28 2 0 0.5 within noise", "1.39 [1.15, 1.68]"]


def test_eval_help_lists_the_subcommands_and_a_dataset_still_runs_without_one() -> None:
    result = cli.invoke(app, ["eval", "--help"])
    assert result.exit_code == 0
    assert {"run", "compare", "summary"} <= set(result.output.split())
    listed = cli.invoke(app, ["eval", "--list"])  # routed to `run`, as before
    assert listed.exit_code == 0 and "hotpotqa" in listed.output
