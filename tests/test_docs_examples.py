"""The Python examples in docs/observe.md and docs/serve.md run and print what they say."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def examples(name: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / name).read_text(encoding="utf-8"), re.S)


def run_example(code: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(folder)  # examples write their files here, never into the repository
    script = folder / "example.py"
    script.write_text(code, encoding="utf-8")
    runpy.run_path(str(script), run_name="__main__")


def test_the_opentelemetry_example_prints_the_span_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip(
        "opentelemetry.sdk", reason="needs the otel extra: pip install -e '.[otel]'"
    )
    run_example(examples("observe.md")[0], tmp_path, monkeypatch)
    names = capsys.readouterr().out.split("\n")
    assert names.count("execute_tool search") == 2
    assert names.count("attempt 1") == 2
    assert {"plan", "join", "chat scripted", "invoke_agent parcall"} <= set(names)


def test_the_page_example_writes_a_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_example(examples("observe.md")[1], tmp_path, monkeypatch)
    page = (tmp_path / "run.html").read_text(encoding="utf-8")
    assert page.count("class='node'") == 2 and page.count("class='edge'") == 1


def test_the_serve_example_answers_and_streams_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip(
        "openai", reason="needs the openai client (the dev extra): pip install -e '.[dev]'"
    )
    run_example(examples("serve.md")[0], tmp_path, monkeypatch)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "330 m and 96 m"
    assert lines.count("event: task_finished") == 2
    assert lines[-1] == "330 m and 96 m"
