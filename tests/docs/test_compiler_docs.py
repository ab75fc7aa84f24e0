"""The examples in docs/compiler.md run and do what the page says."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "compiler.md"


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


def test_the_passes_example_reuses_the_repeated_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the example writes cache.db
    (tmp_path / "example.py").write_text(examples()[0], encoding="utf-8")
    result = runpy.run_path(str(tmp_path / "example.py"))["result"]
    assert result.values == {1: "result for a", 2: "result for b", 3: "result for a"}
    assert "cse" in {getattr(e, "pass_name", None) for e in result.events}
    assert (tmp_path / "cache.db").exists()


def test_the_pass_written_by_hand_reports_slow_calls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from parcall import Agent, Observation, ScriptedModel

    (tmp_path / "example.py").write_text(examples()[1], encoding="utf-8")
    made = runpy.run_path(str(tmp_path / "example.py"))["LogSlowCalls"]()
    Agent(ScriptedModel([]), [], passes=[made])  # accepted as a pass
    run = made.start(None)
    run.settled(Observation(4, "search", {}, "done", started_at=0.0, finished_at=2.5))
    run.settled(Observation(5, "search", {}, "done", started_at=0.0, finished_at=0.5))
    assert capsys.readouterr().out == "$4 search took 2.5 s\n"
