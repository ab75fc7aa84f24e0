"""The Python examples in docs/output.md run and print what the page says."""

from __future__ import annotations

from pathlib import Path

import pytest

from docs.test_docs_examples import examples, run_example


def run(
    n: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    run_example(examples("output.md")[n], tmp_path, monkeypatch)
    return capsys.readouterr().out.splitlines()


def test_the_typed_example_prints_the_difference_and_the_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(0, tmp_path, monkeypatch, capsys) == [
        "234",
        '{"first":{"name":"Eiffel Tower","metres":330},"second":{"name":"Big Ben","metres":96}}',
    ]


def test_the_retry_example_retries_once_then_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = run(1, tmp_path, monkeypatch, capsys)
    assert lines[0] == "4"
    assert lines[1].startswith(
        """Your answer "three" does not fit the answer's type: Input should be a valid integer"""
    )
    assert lines[2] == "a few 1"


def test_the_structured_dict_example_checks_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(2, tmp_path, monkeypatch, capsys) == ["{'city': 'Paris', 'people': 2100000}"]


def test_the_streaming_example_gets_the_answer_in_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(3, tmp_path, monkeypatch, capsys) == ["True True"]


def test_the_serve_example_parses_a_pydantic_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("openai", reason="the example uses the official openai client")
    assert run(4, tmp_path, monkeypatch, capsys) == ["name='Eiffel Tower' metres=330"]
