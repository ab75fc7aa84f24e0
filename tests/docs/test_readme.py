"""The README's code example runs and prints what the README says it prints."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


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


FRESH_MACHINE = [
    "python3 -m venv .venv && .venv/bin/pip install -e '.[llama,dev]' && .venv/bin/parcall run"
    ' "Were Scott Derrickson and Ed Wood of the same nationality?"',
    ".venv/bin/python -m pytest",
]


def test_the_readme_is_short_and_starts_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    first_bash = re.findall(r"```bash\n(.*?)```", text, re.S)[0]
    assert first_bash.splitlines() == FRESH_MACHINE


def test_every_link_and_image_of_the_readme_points_to_a_file() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if "://" not in t]
    assert len(local) > 10
    missing = [t for t in local if not (README.parent / t).exists()]
    assert missing == []
