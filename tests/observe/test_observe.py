"""Observability: OpenTelemetry spans from events, the trace page, the run log and their CLI."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest
from typer.testing import CliRunner

from conftest import CHROMIUM, FINISH, plan, screenshot
from parcall import (
    Agent,
    ModelCallFinished,
    ParcallError,
    RunResult,
    ScriptedModel,
    TaskParsed,
    TaskStarted,
    Tool,
    tool,
)
from parcall._core.trace import write_trace
from parcall.cli import app
from parcall.observe import RunLog, SpanRecorder, record_spans, render_page
from parcall.observe._page import COLORS

REPLAN = "Thought: need more.\nAction: Replan(look again)"


def make_tools() -> list[Tool]:
    calls = {"flaky": 0}

    @tool
    async def search(query: str) -> str:
        """Look a fact up."""
        await anyio.lowlevel.checkpoint()
        return f"<b>{query}</b> found"

    @tool(retries=1, retry_delay=0.02)
    async def flaky(text: str) -> str:
        """Fails once, then works."""
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise ConnectionError("dropped")
        return text.upper()

    @tool
    def broken(text: str) -> str:
        """Always fails."""
        raise ValueError(f"cannot take {text}")

    return [search, flaky, broken]


def run_with_replan() -> RunResult:
    """Round 0: two searches, a retried call on both, a failing tool and a task it blocks;
    the joiner replans; round 1: one task reading round 0's result."""
    model = ScriptedModel(
        [
            plan(
                '1. search("a")',
                '2. search("b")',
                "3. flaky(text=$1)",
                "4. broken(text=$2)",
                "5. search(query=$4)",
            ),
            REPLAN,
            plan("6. search(query=$3)"),
            FINISH,
        ]
    )
    return anyio.run(Agent(model, make_tools()).run, "q")


@pytest.fixture(scope="module")
def result() -> RunResult:
    return run_with_replan()


# --- OpenTelemetry ---------------------------------------------------------------------------


def exporter_and_provider() -> tuple[Any, Any]:
    pytest.importorskip(
        "opentelemetry.sdk", reason="needs the otel extra: pip install -e '.[otel]'"
    )
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter, provider


def tree(spans: Any) -> tuple[Any, dict[int, list[Any]]]:
    by_id = {s.context.span_id: s for s in spans}
    roots = [s for s in spans if s.parent is None]
    assert len(roots) == 1, [s.name for s in roots]
    children: dict[int, list[Any]] = {}
    for s in spans:
        if s.parent is not None:
            assert s.parent.span_id in by_id, f"{s.name} has a parent outside the run"
            children.setdefault(s.parent.span_id, []).append(s)
    return roots[0], children


def test_the_span_tree_matches_the_runs_events(result: RunResult) -> None:
    exporter, provider = exporter_and_provider()
    record_spans(result.events, request="q", model="scripted", tracer_provider=provider)
    spans = exporter.get_finished_spans()
    root, children = tree(spans)
    assert root.name == "invoke_agent parcall"
    assert root.attributes["parcall.answer"] == result.answer
    assert result.answer.startswith("done (incomplete: task 4 broken failed")
    assert root.attributes["parcall.replans"] == 1
    usage = result.usage
    assert root.attributes["gen_ai.usage.input_tokens"] == usage.input_tokens
    assert root.attributes["gen_ai.usage.output_tokens"] == usage.output_tokens

    top = children[root.context.span_id]
    kinds = Counter(s.name.split(" ")[0] for s in top)
    assert kinds == {"plan": 2, "join": 2, "execute_tool": 6}

    # Each model call is a `chat` span under its plan or join span, with the call's usage.
    calls = [e for e in result.events if isinstance(e, ModelCallFinished)]
    chats = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert len(chats) == len(calls) == 4
    for call in calls:
        (span,) = [
            s
            for s in chats
            if s.attributes["parcall.purpose"] == call.purpose
            and s.attributes["parcall.round"] == call.round
        ]
        parent = next(s for s in top if s.context.span_id == span.parent.span_id)
        assert parent.name == call.purpose
        assert span.attributes["gen_ai.request.model"] == "scripted"
        assert span.attributes["gen_ai.usage.input_tokens"] == call.usage.input_tokens
        assert span.attributes["gen_ai.usage.output_tokens"] == call.usage.output_tokens
        assert span.start_time - root.start_time == pytest.approx(call.started * 1e9, abs=2)
        assert span.end_time - root.start_time == pytest.approx(call.time * 1e9, abs=2)

    # One execute_tool span per parsed task, with one attempt child per TaskStarted.
    parsed = {e.task.idx: e for e in result.events if isinstance(e, TaskParsed)}
    attempts = Counter(e.idx for e in result.events if isinstance(e, TaskStarted))
    tools = {s.attributes["parcall.task.index"]: s for s in top if s.name.startswith("execute")}
    assert set(tools) == set(parsed) == {1, 2, 3, 4, 5, 6}
    for idx, span in tools.items():
        task = parsed[idx].task
        assert span.attributes["gen_ai.tool.name"] == task.tool
        assert span.attributes["gen_ai.tool.call.id"] == str(idx)
        assert tuple(span.attributes["parcall.task.deps"]) == task.deps
        assert span.attributes["parcall.round"] == parsed[idx].round
        assert span.start_time - root.start_time == pytest.approx(parsed[idx].time * 1e9, abs=2)
        kids = children.get(span.context.span_id, [])
        assert len(kids) == attempts[idx]
        assert span.attributes["parcall.task.status"] == result.observation(idx).status
    assert attempts[3] == 2  # flaky: failed once, then retried
    assert [s.status.is_ok for s in children[tools[3].context.span_id]] == [False, True]
    assert tools[4].status.status_code.name == "ERROR"
    assert tools[5].attributes["error.type"] == "DependencyFailedError"
    assert tools[6].attributes["parcall.round"] == 1
    assert tools[1].attributes["parcall.task.result"] == "<b>a</b> found"


def test_spans_recorded_live_match_the_finished_runs_events() -> None:
    exporter, provider = exporter_and_provider()
    model = ScriptedModel([plan('1. search("a")', "2. search(query=$1)"), FINISH])
    agent = Agent(model, make_tools())

    async def go() -> RunResult:
        recorder = SpanRecorder(request="q", model=model.name, tracer_provider=provider)
        async with agent.stream("q") as run:
            async for event in run:
                recorder(event)
        recorder.close()
        return run.result

    result = anyio.run(go)
    spans = exporter.get_finished_spans()
    root, children = tree(spans)
    names = sorted(s.name for s in children[root.context.span_id])
    assert names == ["execute_tool search", "execute_tool search", "join", "plan"]
    assert root.attributes["parcall.answer"] == result.answer
    assert root.status.is_ok


def test_a_failed_run_ends_every_span_and_marks_the_run_as_an_error() -> None:
    exporter, provider = exporter_and_provider()
    gate = anyio.Event()

    @tool
    async def hang(x: str) -> str:
        """Never returns."""
        await gate.wait()
        return x

    model = ScriptedModel([plan('1. hang("a")')])  # no joiner output: the run fails

    async def go() -> None:
        recorder = SpanRecorder(tracer_provider=provider)
        try:
            async with Agent(model, [hang]).stream("q") as run:
                async for event in run:
                    recorder(event)
                    if isinstance(event, TaskStarted):
                        gate.set()
        except ParcallError as exc:
            recorder.close(exc)

    anyio.run(go)
    spans = exporter.get_finished_spans()
    root, _ = tree(spans)
    assert root.status.status_code.name == "ERROR"
    assert "ScriptedModel has 1 output" in (root.status.description or "")
    (join,) = [s for s in spans if s.name == "join"]
    assert join.status.status_code.name == "ERROR"  # the call in flight when it failed
    assert {s.name for s in spans} >= {"plan", "join", "execute_tool hang", "attempt 1"}


def test_without_opentelemetry_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ImportError, match=r"parcall\[otel\]"):
        SpanRecorder()


# --- the page --------------------------------------------------------------------------------


def test_the_page_is_self_contained_and_shows_every_task(result: RunResult) -> None:
    page = result.to_html()
    assert "http" not in page and "<script" not in page and "<link" not in page
    for obs in result.observations:
        assert f"data-task='{obs.idx}'" in page
    assert "&lt;b&gt;a&lt;/b&gt; found" in page  # results are escaped, not markup
    assert "<b>a</b>" not in page
    assert "search(query=$1)" not in page  # the plan's calls keep their refs …
    assert "flaky(text=$1)" in page
    assert "broken(text=$2)" in page
    assert page.count("class='bar task'") == 4  # … and each successful task has a bar
    assert page.count("class='bar failed'") == 2  # flaky's first attempt, broken
    assert page.count("class='node'") == 6
    assert page.count("class='edge'") == 4  # 1→3, 2→4, 4→5, 3→6
    assert "round 1: planner" in page and "round 0: joiner (replan)" in page


def test_the_page_of_a_trace_file_equals_the_page_of_the_run(
    result: RunResult, tmp_path: Path
) -> None:
    path = tmp_path / "run.jsonl"
    write_trace(result.events, path)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert render_page(rows, request="q") == result.to_html()


def bands(image: Any, color: str, tolerance: int = 8) -> list[tuple[int, int]]:
    """Runs of pixel rows holding at least 3 pixels of `color` (one per bar lane)."""
    target = tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    width, height = image.size
    pixels = image.load()
    rows = []
    for y in range(height):
        hits = sum(
            1
            for x in range(width)
            if all(abs(a - b) <= tolerance for a, b in zip(pixels[x, y][:3], target))
        )
        rows.append(hits >= 3)
    found: list[tuple[int, int]] = []
    for y, hit in enumerate(rows):
        if hit and (not found or found[-1][1] != y - 1):
            found.append((y, y))
        elif hit:
            found[-1] = (found[-1][0], y)
    return found


@pytest.mark.skipif(
    CHROMIUM is None, reason="needs a chromium browser (Debian: apt-get install chromium)"
)
def test_chromium_draws_one_bar_per_task_lane(result: RunResult, tmp_path: Path) -> None:
    image_module = pytest.importorskip(
        "PIL.Image", reason="needs pillow (the dev extra): pip install -e '.[dev]'"
    )
    page = tmp_path / "run.html"
    page.write_text(result.to_html(), encoding="utf-8")
    shot = tmp_path / "shot.png"
    screenshot(page, shot, tmp_path / "profile", height=700, timeout=50)
    image = image_module.open(shot).convert("RGB")
    # The legend's swatch is one band of each colour; every other band is a task's lane.
    green = bands(image, COLORS["task"])
    red = bands(image, COLORS["failed"])
    blue = bands(image, COLORS["plan"])
    purple = bands(image, COLORS["join"])
    assert len(green) - 1 == 4  # tasks 1, 2, 3 (its retry), 6 ran to the end
    assert len(red) - 1 == 2  # flaky's first attempt (lane of task 3) and broken
    assert len(blue) - 1 == 2 and len(purple) - 1 == 2  # a planner and a joiner per round
    # The retried task's red and green share one lane.
    assert any(abs(r[0] - g[0]) <= 1 for r in red[1:] for g in green[1:])


# --- CLI: trace view, run log ----------------------------------------------------------------


def test_trace_view_writes_the_page_and_trace_file_still_summarises(
    result: RunResult, tmp_path: Path
) -> None:
    path = tmp_path / "run.jsonl"
    write_trace(result.events, path)
    out = tmp_path / "page.html"
    runner = CliRunner()
    viewed = runner.invoke(app, ["trace", "view", str(path), "--out", str(out)])
    assert viewed.exit_code == 0, viewed.output
    assert out.read_text().count("class='node'") == 6
    shown = runner.invoke(app, ["trace", str(path)])
    assert shown.exit_code == 0, shown.output
    assert "answer: done" in shown.output


def test_trace_view_of_a_file_that_is_not_a_trace_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n')
    outcome = CliRunner().invoke(app, ["trace", "view", str(path)])
    assert outcome.exit_code == 1
    assert "not a parcall trace" in outcome.output
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit)


def test_the_run_log_keeps_runs_and_the_cli_lists_shows_and_views_them(
    result: RunResult, tmp_path: Path
) -> None:
    db = tmp_path / "runs.sqlite3"
    log = RunLog(db)
    first = log.record(result, model="scripted")
    second = log.record_events(
        result.events[:5], request="broken one", error=ParcallError("it broke")
    )
    assert [r.id for r in log.list()] == [second, first]
    got = log.get(first)
    assert got.answer == result.answer and got.tasks == 6 and got.error is None
    assert got.input_tokens == result.usage.input_tokens
    assert len(got.events) == len(result.events)
    assert log.get(second).error == "it broke" and log.get(second).answer is None

    runner = CliRunner(env={"COLUMNS": "200"})
    listed = runner.invoke(app, ["runs", "list", "--db", str(db)])
    assert listed.exit_code == 0, listed.output
    assert "broken one" in listed.output and "scripted" in listed.output
    shown = runner.invoke(app, ["runs", "show", str(first), "--db", str(db)])
    assert shown.exit_code == 0 and "answer: done" in shown.output
    out = tmp_path / "run.html"
    viewed = runner.invoke(app, ["runs", "view", str(first), "--db", str(db), "-o", str(out)])
    assert viewed.exit_code == 0, viewed.output
    assert out.read_text().count("class='node'") == 6
    missing = runner.invoke(app, ["runs", "show", "999", "--db", str(db)])
    assert missing.exit_code == 1 and "no run 999" in missing.output
