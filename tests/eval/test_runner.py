"""The eval runner: records, resume, summaries, tool latency, the CLI, Ray, a real model."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import anyio
import pytest
from typer.testing import CliRunner

from conftest import TINY_MISSING, tiny_model_path
from parcall import JoinPolicy, RunResult, ScriptedModel, Settings, Tool, tool
from parcall.cli import app
from parcall.eval import Example, arun_eval, run_eval, with_latency

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")


class Echo:
    """A tiny answer dataset: the answer is the question's last word; one `echo` tool."""

    name = "echo"
    kind: Literal["answer", "plan"] = "answer"
    primary = "exact"

    def __init__(self, n: int = 4) -> None:
        self._examples = [Example(f"e{i}", f"say w{i}", f"w{i}") for i in range(n)]

    def examples(self, split: str) -> Sequence[Example]:
        return self._examples if split == "dev" else []

    def tools(self, example: Example) -> Sequence[Tool]:
        @tool
        def echo(text: str) -> str:
            """Repeat the text."""
            return text * 200  # long: the record keeps a cut value

        return [echo]

    def score(self, example: Example, result: RunResult) -> dict[str, float]:
        return {"exact": float(result.answer == example.gold), "long": float(len(result.answer))}

    def gold_script(self, example: Example) -> list[str]:
        return [f'1. echo(text="{example.gold}")\njoin()\n', f"Action: Finish({example.gold})"]


def scripted(example: Example) -> ScriptedModel:
    return ScriptedModel(Echo().gold_script(example))


def records(folder: Path) -> list[dict[str, Any]]:
    (path,) = folder.glob("*.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_example_gets_one_record_with_the_whole_run(tmp_path: Path) -> None:
    run_eval(Echo(2), model=scripted, model_name="s", out=tmp_path)
    first = records(tmp_path)[0]
    assert set(first) == {
        "id", "question", "gold", "prediction", "scores", "plans", "decisions", "calls",
        "tokens_in", "tokens_cached", "tokens_out", "model_calls", "model_call_times",
        "replans", "wall_s", "error",
    }  # fmt: skip
    assert (first["id"], first["prediction"], first["scores"]["exact"]) == ("e0", "w0", 1.0)
    assert first["plans"] == ['1. echo(text="w0")\njoin()\n']
    (decision,) = first["decisions"]
    assert (decision["round"], decision["decision"], decision["text"]) == (0, "finish", "w0")
    assert decision["source"] == "joiner"
    (call,) = first["calls"]
    assert (call["tool"], call["args"], call["error"]) == ("echo", {"text": "w0"}, None)
    assert call["value"].startswith("w0w0") and len(call["value"]) < 400
    assert 0 <= call["start"] <= call["end"]
    assert first["model_calls"] == 2 and first["tokens_in"] > 0 and first["tokens_out"] > 0
    plan_call, join_call = first["model_call_times"]
    assert (plan_call["purpose"], join_call["purpose"]) == ("plan", "join")
    assert join_call["tokens_in"] + plan_call["tokens_in"] == first["tokens_in"]
    assert 0 <= plan_call["first_chunk_s"] <= plan_call["s"]
    assert first["error"] is None


def test_a_run_that_raises_is_recorded_with_its_error_and_zero_scores(tmp_path: Path) -> None:
    summary = run_eval(
        Echo(2), model=lambda e: ScriptedModel(['1. echo(text="x")\njoin()\n']), out=tmp_path
    )
    for record in records(tmp_path):
        assert record["error"]["type"] == "ScriptExhaustedError"
        assert record["prediction"] == "" and record["scores"] == {"exact": 0.0, "long": 0.0}
        assert record["plans"] and record["calls"][0]["tool"] == "echo"  # what it did is kept
    assert summary["errors"] == 2 and summary["scores"]["exact"] == 0.0


def test_records_are_named_for_dataset_split_agent_model_and_format(tmp_path: Path) -> None:
    run_eval(Echo(1), model="gold", out=tmp_path, tool_latency=0.001)
    run_eval(Echo(1), agent="react", model="gold", out=tmp_path)
    never = run_eval(Echo(1), model="gold", out=tmp_path, join_thought="never")
    assert sorted(p.name for p in tmp_path.glob("*.jsonl")) == [
        "echo.dev.parcall.gold.text.latency-0.001s.jsonl",
        "echo.dev.parcall.gold.text.thought-never.jsonl",
        "echo.dev.react.gold.jsonl",
    ]
    assert never["command"].endswith("--max-replans 2 --join-thought never --split dev")


def test_the_summary_records_the_agent_settings(tmp_path: Path) -> None:
    never = run_eval(Echo(1), model="gold", out=tmp_path, join_thought="never", max_replans=1)
    # The gold script answers from the labels: its numbers are not checked against results.
    join = JoinPolicy(thought="never", check_numbers=False)
    expected = Settings(constrained=False, max_replans=1, join=join)
    assert never["settings"] == expected.model_dump(mode="json")
    assert Settings.model_validate(never["settings"]) == expected
    react = run_eval(Echo(1), agent="react", model="gold", out=tmp_path)
    assert react["settings"] is None  # a reference agent has none of parcall's options
    table = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert '"max_replans": 1' in table and "thought-never" in table


@pytest.mark.anyio
async def test_an_interrupted_run_keeps_its_records_and_a_rerun_skips_them(
    tmp_path: Path,
) -> None:
    made: list[str] = []
    with anyio.CancelScope() as scope:

        def interrupting(example: Example) -> ScriptedModel:
            made.append(example.id)
            if example.id == "e2":
                scope.cancel()  # as Ctrl-C cancels the run
            return scripted(example)

        await arun_eval(Echo(4), model=interrupting, model_name="s", out=tmp_path)
    assert scope.cancelled_caught
    assert [r["id"] for r in records(tmp_path)] == ["e0", "e1"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary[0]["n"] == 2  # the summary of what finished is written too

    made.clear()
    again = await arun_eval(Echo(4), model=lambda e: made.append(e.id) or scripted(e),
                            model_name="s", out=tmp_path)  # fmt: skip
    assert made == ["e2", "e3"]
    assert again["n"] == 4 and [r["id"] for r in records(tmp_path)] == ["e0", "e1", "e2", "e3"]


def test_a_line_cut_short_is_dropped_and_its_example_runs_again(tmp_path: Path) -> None:
    run_eval(Echo(2), model="gold", out=tmp_path)
    (path,) = tmp_path.glob("*.jsonl")
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[1][:30])
    summary = run_eval(Echo(2), model="gold", out=tmp_path)
    assert [r["id"] for r in records(tmp_path)] == ["e0", "e1"] and summary["n"] == 2


def test_the_summary_has_scores_latency_tokens_machine_and_command(tmp_path: Path) -> None:
    summary = run_eval(Echo(3), model="gold", out=tmp_path, limit=2, concurrency=2)
    assert summary["n"] == 2 and summary["scores"] == {"exact": 1.0, "long": 2.0}
    assert set(summary["latency_s"]) == {"mean", "mean_ci95", "median", "p90"}
    assert summary["scores_ci95"] == {"exact": [1.0, 1.0], "long": [2.0, 2.0]}
    per = summary["per_question"]
    assert per["model_calls"] == 2 and per["replans"] == 0 and per["tokens_in"] > 0
    assert summary["machine"]["cpu_count"] and summary["date"] and summary["split"] == "dev"
    assert summary["command"] == (
        "parcall eval echo --agent parcall --model gold --format text --free "
        "--max-replans 2 --split dev --limit 2 --concurrency 2"
    )
    markdown = (tmp_path / "summary.md").read_text()
    assert (
        "| echo | dev | parcall | gold | text | 2 | exact 1.000 [1.000, 1.000], long 2 [2, 2]"
        in markdown
    )
    assert summary["command"] in markdown


def test_every_keeps_every_kth_example_before_the_limit_and_says_so(tmp_path: Path) -> None:
    summary = run_eval(Echo(7), model="gold", out=tmp_path, every=3)
    assert [r["id"] for r in records(tmp_path)] == ["e0", "e3", "e6"] and summary["n"] == 3
    assert summary["command"].endswith("--split dev --every 3")
    limited = run_eval(Echo(7), model="gold", out=tmp_path / "l", every=3, limit=2)
    assert [r["id"] for r in records(tmp_path / "l")] == ["e0", "e3"] and limited["n"] == 2
    # The whole split later, in the same folder: the sample's records are kept, not rerun.
    made: list[str] = []
    whole = run_eval(Echo(7), model=lambda e: made.append(e.id) or scripted(e),
                     model_name="gold", out=tmp_path)  # fmt: skip
    assert made == ["e1", "e2", "e4", "e5"] and whole["n"] == 7


def test_summaries_of_several_runs_are_merged(tmp_path: Path) -> None:
    run_eval(Echo(1), model="gold", out=tmp_path)
    run_eval(Echo(1), agent="parallel", model="gold", out=tmp_path)
    run_eval(Echo(1), model="gold", out=tmp_path)  # the same run again replaces its row
    rows = json.loads((tmp_path / "summary.json").read_text())
    assert sorted(r["agent"] for r in rows) == ["parallel", "parcall"]


@pytest.mark.anyio
async def test_tool_latency_waits_for_what_the_call_did_not_take() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    @tool(timeout=9, retries=1, max_concurrency=3)
    def double(x: int) -> int:
        """Double it.

        Args:
            x: a number.
        """
        return 2 * x

    slow = with_latency(double, 5.0, sleep=sleep)
    assert await slow.call({"x": 4}) == 8
    assert len(waits) == 1 and 0 < waits[0] <= 5.0
    assert slow.signature() == double.signature() == "double(x: int) -> int"
    assert slow.json_schema() == double.json_schema()
    assert (slow.timeout, slow.retries, slow.max_concurrency) == (9, 1, 3)
    assert slow.description == double.description


@pytest.mark.anyio
async def test_tool_latency_also_applies_to_failing_calls() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    @tool
    def broken() -> int:
        """Fail."""
        raise RuntimeError("down")

    with pytest.raises(RuntimeError, match="down"):
        await with_latency(broken, 1.0, sleep=sleep).call({})
    assert len(waits) == 1


def test_the_baselines_run_with_the_same_tools(tmp_path: Path) -> None:
    def react(example: Example) -> ScriptedModel:
        return ScriptedModel(
            [f'Action: echo(text="{example.gold}")', f"Action: Finish({example.gold})"]
        )

    summary = run_eval(Echo(2), agent="react", model=react, model_name="s", out=tmp_path)
    assert summary["scores"]["exact"] == 1.0 and summary["format"] is None
    assert [c["tool"] for r in records(tmp_path) for c in r["calls"]] == ["echo", "echo"]


cli = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "unknown dataset 'nope': choose one of"),
        (["hotpotqa", "--split", "train"], "unknown split 'train'"),
        (["hotpotqa", "--agent", "langchain"], "unknown agent 'langchain'"),
        (["hotpotqa", "--format", "xml"], "unknown format 'xml'"),
        (["hotpotqa", "--concurrency", "0"], "concurrency must be at least 1"),
        (["hotpotqa", "--every", "0"], "every must be at least 1"),
        (["hotpotqa", "--n-ctx", "64"], "n_ctx must be at least 256"),
        (["hotpotqa", "--join-thought", "maybe"], "unknown join thought 'maybe'"),
        (["hotpotqa", "--model", "nonsense"], "unknown model 'nonsense'"),
        ([], "name a dataset"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = cli.invoke(app, ["eval", *args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written


def test_list_names_the_datasets() -> None:
    result = cli.invoke(app, ["eval", "--list"])
    assert result.exit_code == 0
    assert {"hotpotqa", "fanoutqa"} <= set(result.output.split())


def test_the_cli_runs_and_resumes(tmp_path: Path) -> None:
    pytest.importorskip("bm25s", reason="needs the eval extra: pip install -e '.[eval]'")
    args = ["eval", "hotpotqa", "--model", "gold", "--limit", "2", "--out", str(tmp_path)]
    first = cli.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "2 to run" in first.output and "| hotpotqa | dev | parcall | gold |" in first.output
    second = cli.invoke(app, args)
    assert "0 to run" in second.output
    assert len(records(tmp_path)) == 2


@pytest.mark.timeout(240)  # starting a local Ray cluster takes ~10 s, more on a busy machine
def test_ray_runs_the_same_records_as_the_local_runner(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray", reason="needs the ray extra: pip install -e '.[ray]'")
    pytest.importorskip("bm25s", reason="needs the eval extra: pip install -e '.[eval]'")
    run_eval("hotpotqa", model="gold", limit=2, out=tmp_path / "local")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        summary = run_eval("hotpotqa", model="gold", limit=2, out=tmp_path / "ray", ray="local")
    finally:
        ray.shutdown()
    assert summary["n"] == 2 and summary["scores"]["em"] == 1.0
    assert "--ray local" in summary["command"]

    def stable(folder: Path) -> dict[str, Any]:
        out = {}
        for r in records(folder):
            r.pop("wall_s")
            for c in r["calls"]:
                c.pop("start"), c.pop("end")
            for m in r["model_call_times"]:
                m.pop("first_chunk_s"), m.pop("s")
            out[r["id"]] = r
        return out

    assert stable(tmp_path / "ray") == stable(tmp_path / "local")


@pytest.mark.llama
@pytest.mark.timeout(300)  # a planner and a joiner call of a real model, on a busy machine
def test_the_tiny_model_runs_one_example_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp", reason="needs the llama extra: pip install -e '.[llama]'")
    pytest.importorskip("bm25s", reason="needs the eval extra: pip install -e '.[eval]'")
    if tiny_model_path() is None:
        pytest.skip(TINY_MISSING)
    summary = run_eval("hotpotqa", model="local:tiny", limit=1, out=tmp_path)
    (record,) = records(tmp_path)
    assert summary["n"] == 1 and summary["constrained"] is True
    assert record["model_calls"] >= 1 and record["tokens_in"] > 0


def test_an_http_model_spec_runs_through_the_cli(tmp_path: Path) -> None:
    pytest.importorskip("bm25s", reason="needs the eval extra: pip install -e '.[eval]'")
    from faults._server import MisbehavingServer, stream

    plan = '1. search(query="Scott Derrickson")\njoin()\n'
    server = MisbehavingServer([stream(plan), stream("Action: Finish(yes)")])
    server.start()
    try:
        spec = f"{server.base_url}#any-model"
        result = cli.invoke(
            app, ["eval", "hotpotqa", "--model", spec, "--limit", "1", "--out", str(tmp_path)]
        )
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    (record,) = records(tmp_path)
    assert record["calls"][0]["args"] == {"query": "Scott Derrickson"}
    assert record["prediction"] == "yes" and record["scores"]["em"] == 1.0
    assert record["error"] is None and record["model_calls"] == 2
    assert server.requests[0]["model"] == "any-model"


def test_each_worker_gets_its_own_local_model_and_http_models_are_shared(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import parcall.eval._evaluation as runner

    made: list[dict[str, object]] = []

    def fake_resolve(spec: str, **options: object) -> ScriptedModel:
        made.append({"spec": spec, **options})
        return ScriptedModel(['1. echo(text="w")\njoin()\n', "Action: Finish(w)"], cycle=True)

    monkeypatch.setattr(runner, "resolve_model", fake_resolve)
    local = runner.ModelSource("local:tiny", Echo(), concurrency=2)
    first, second = local.new_worker(), local.new_worker()
    example = Echo().examples("dev")[0]
    assert first(example) is not second(example) and first(example) is first(example)
    assert len(local.to_load) == 2 and made[0]["spec"] == "local:tiny"
    assert made[0]["n_threads"] == max(1, (os.cpu_count() or 1) // 2)
    assert "n_ctx" not in made[0]  # the backend's default

    made.clear()
    runner.ModelSource("local:tiny", Echo(), n_ctx=8192).new_worker()
    assert made == [{"spec": "local:tiny", "n_threads": os.cpu_count() or 1, "n_ctx": 8192}]

    made.clear()
    remote = runner.ModelSource("http://127.0.0.1:9/v1#m", Echo(), concurrency=3)
    assert remote.new_worker()(example) is remote.new_worker()(example)
    assert len(made) == 1 and not remote.to_load


def test_the_format_label_asks_the_settings_whether_plans_are_constrained() -> None:
    from parcall.eval._runner import EvalConfig

    assert EvalConfig("echo", model="gold").grammar is False  # a script takes no grammar
    assert EvalConfig("echo", model="http://h:1/v1#m").grammar is False
    local = EvalConfig("echo", model="local:tiny")
    assert local.grammar is True and local.run.endswith(".text-constrained")
    assert local.settings.constrained is True  # what the agent is built with
    assert EvalConfig("echo", model="local:tiny", constrained=False).settings.constrained is False
