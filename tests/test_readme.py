"""The README's code example runs and prints what the README says it prints."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)[0]
    script = tmp_path / "example.py"
    script.write_text(example, encoding="utf-8")
    runpy.run_path(str(script), run_name="__main__")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("237 m taller in ")
    # Both searches ran at once: the second started before the first finished.
    spans = [re.search(r"([\d.]+)–([\d.]+) s$", line) for line in lines[1:3]]
    assert spans[0] and spans[1], lines
    assert float(spans[1].group(1)) < float(spans[0].group(2))
