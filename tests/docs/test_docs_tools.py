"""The examples in docs/tools.md run and print what the page says they print."""

from __future__ import annotations

import os
import re
import runpy
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "tools.md"
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def examples() -> list[tuple[str, str]]:
    """(code, the output the page shows after it), for every runnable python block."""
    found = []
    for n, (lang, code) in enumerate(BLOCKS):
        if lang != "python" or code.startswith("# file:"):
            continue
        following = BLOCKS[n + 1] if n + 1 < len(BLOCKS) else ("", "")
        shown = following[1] if following[0] == "" else ""
        found.append((code, shown))
    return found


def inline_output(code: str) -> str | None:
    """The `prints `...`` right after a block, for one-line outputs."""
    text = DOC.read_text(encoding="utf-8")
    after = text.split(code, 1)[1]
    match = re.match(r"```\n\nprints `([^`]+)`", after)
    return match.group(1) if match else None


@pytest.mark.parametrize("code", [c for c, _ in examples()], ids=lambda c: c.split("\n")[0][:30])
def test_a_docs_example_runs(
    code: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if "mcp_tools" in code:
        pytest.importorskip("mcp", reason="needs the mcp extra: pip install -e '.[mcp]'")
    if "langchain" in code:
        pytest.importorskip(
            "langchain_core", reason="needs the langchain extra: pip install -e '.[langchain]'"
        )
    if "openapi" in code:
        pytest.importorskip(
            "jsonref", reason="needs the openapi extra: pip install -e '.[openapi]'"
        )
    for lang, block in BLOCKS:  # the files the examples use (an MCP server)
        if lang == "python" and block.startswith("# file:"):
            name = block.split("\n", 1)[0].removeprefix("# file:").strip()
            (tmp_path / name).write_text(block, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out.strip()
    shown = dict(examples())[code].strip() or inline_output(code)
    assert shown, "the page shows no output for this example"
    assert out == shown
    assert os.getcwd() == str(tmp_path)
