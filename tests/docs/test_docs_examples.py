"""Every Python example of the README and the docs runs; some also print what they say.

`test_every_example_of_a_page_runs` runs each page's ```python blocks in order, in a fresh
folder per page. The conventions (also in docs/getting-started.md):

- `<!-- docs-test: skip (reason) -->` on the line above a block: not run (a fragment, or it
  needs a network server, an API key or a large model);
- `# file: NAME` as a block's first line: written to NAME for a later block, not run;
- a block that imports an optional dependency that is not installed is skipped, naming it.
"""

from __future__ import annotations

import re
import runpy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from parcall import MissingExtraError

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
MARKER = re.compile(r"<!-- docs-test:(.*?)-->")
SKIP = re.compile(r"^ skip \((.+)\) $")
FILE = re.compile(r"# file: ([\w.-]+)\n")


@dataclass(frozen=True)
class Block:
    line: int
    code: str
    skip: str | None


def blocks(page: Path) -> list[Block]:
    """The page's python blocks, each with the reason it is skipped, if it is."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = MARKER.fullmatch(before.strip())
        skip = None
        if marker:
            reason = SKIP.match(marker.group(1))
            line = text.count("\n", 0, match.start())
            assert reason, f"{page.name}:{line}: write <!-- docs-test: skip (why) -->"
            skip = reason.group(1)
        found.append(Block(text.count("\n", 0, match.start()) + 1, match.group(1), skip))
    return found


def missing_dependency(error: BaseException) -> str | None:
    """The optional package whose absence caused `error` (through its chain), if any."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, MissingExtraError):
            return str(seen)
        name = seen.name if isinstance(seen, ModuleNotFoundError) else None
        if name and name.split(".")[0] != "parcall":
            return name
        seen = seen.__cause__ or seen.__context__
    return None


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "page", [p for p in PAGES if any(not b.skip for b in blocks(p))], ids=page_id
)
def test_every_example_of_a_page_runs(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = 0
    namespace: dict[str, Any] = {}  # a page's blocks build on each other, as a reader reads them
    for block in blocks(page):
        if block.skip:
            continue
        named = FILE.match(block.code)
        if named:
            (tmp_path / named.group(1)).write_text(block.code, encoding="utf-8")
            continue
        try:
            namespace = run_example(block.code, tmp_path, monkeypatch, namespace)
        except Exception as error:
            missing = missing_dependency(error)
            if missing:  # the rest of the page may build on this block: skip it all
                pytest.skip(f"{page_id(page)}:{block.line}: needs {missing}")
            raise AssertionError(f"{page_id(page)}:{block.line}: {error!r}") from error
        ran += 1
    capsys.readouterr()
    assert ran > 0, f"{page_id(page)}: no example ran"


def test_the_markers_are_found_and_skips_say_why() -> None:
    marked = [b for p in PAGES for b in blocks(p) if b.skip]
    assert marked and all(len(b.skip or "") > 10 for b in marked)


def examples(name: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / name).read_text(encoding="utf-8"), re.S)


def run_example(
    code: str,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    namespace: dict[str, Any] | None = None,
) -> dict[str, Any]:
    monkeypatch.chdir(folder)  # examples write their files here, never into the repository
    results = folder / "bench"  # published results, which examples may read (as in a clone)
    if not results.exists():
        results.symlink_to(ROOT / "bench", target_is_directory=True)
    script = folder / "example.py"
    script.write_text(code, encoding="utf-8")
    return runpy.run_path(str(script), init_globals=namespace, run_name="__main__")


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
