"""The examples of docs/agents.md run and print what the page says they print."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from docs.test_docs_examples import DOCS, examples, run_example


def printed(name: str) -> list[str]:
    """The page's "prints" blocks, in order."""
    text = (DOCS / name).read_text(encoding="utf-8")
    return re.findall(r"prints\n\n```\n(.*?)```", text, re.S)


@pytest.mark.parametrize("n", range(4))
def test_each_example_prints_what_the_page_says(
    n: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, expected = examples("agents.md")[n], printed("agents.md")[n]
    run_example(code, tmp_path, monkeypatch)
    assert capsys.readouterr().out == expected


def test_the_page_has_as_many_outputs_as_examples() -> None:
    assert len(examples("agents.md")) == len(printed("agents.md")) == 4
