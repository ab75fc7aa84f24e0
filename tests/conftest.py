"""Shared fixtures: small tool sets and plans driven by the scripted model."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

# anyio's submodules load on first use, and pytest rewrites a module (ast.parse) as it
# loads. Loaded inside a test while a server thread parses a plan, that can fail on CPython
# 3.11, whose parser is not safe for two threads at once (see parcall._core.pyast): load them now.
import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
import pytest

from parcall import Tool, tool


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Gate:
    """Counts running calls and lets a test hold tools until it releases them."""

    def __init__(self) -> None:
        self.running = 0
        self.peak = 0
        self.started: list[str] = []
        self.release = anyio.Event()

    def enter(self, name: str) -> None:
        self.running += 1
        self.peak = max(self.peak, self.running)
        self.started.append(name)

    def leave(self) -> None:
        self.running -= 1


@pytest.fixture
def gate() -> Iterator[Gate]:
    yield Gate()


def make_search(table: dict[str, object] | None = None) -> Tool:
    values = table or {}

    @tool
    async def search(query: str) -> object:
        """Look a fact up.

        Args:
            query: what to look for.
        """
        await anyio.lowlevel.checkpoint()
        return values.get(query, f"result for {query}")

    return search


def plan(*lines: str) -> str:
    """A plan text from task lines, ending in join()."""
    return "\n".join(lines) + "\njoin()\n"


FINISH = "Thought: enough.\nAction: Finish(done)"


def live_tasks(backend: str) -> set[object]:
    """Every task alive in the event loop now (asyncio or trio)."""
    if backend == "asyncio":
        import asyncio

        return set(asyncio.all_tasks())
    import trio

    found: set[object] = set()
    stack = [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        if task is None:
            continue
        found.add(task)
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return found


def tiny_model_path() -> Path | None:
    """The tiny GGUF test model if it is here (cache or installed package), else None."""
    from parcall import ParcallError
    from parcall.models import resolve_local

    try:
        return resolve_local("local:tiny", download=False)
    except ParcallError:
        return None


TINY_MISSING = "the tiny test model is not here: run `parcall models pull local:tiny`"


def _tracked_state(root: Path) -> tuple[str, ...] | None:
    """Changed tracked files with their size and mtime; None outside a git checkout."""
    import shutil
    import subprocess

    if shutil.which("git") is None or not (root / ".git").exists():
        return None
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return None
    state = []
    for line in done.stdout.splitlines():
        path = root / line[3:].split(" -> ")[-1]
        stat = path.stat() if path.exists() else None
        state.append(f"{line} {stat and (stat.st_size, stat.st_mtime_ns)}")
    return tuple(state)


@pytest.fixture(scope="session", autouse=True)
def no_tracked_file_changes() -> Iterator[None]:
    """Tests write only to temporary folders: fail the session if a tracked file changed."""
    import os

    root = Path(__file__).resolve().parents[1]
    before = None if os.environ.get("PARCALL_FIGURES_DIR") else _tracked_state(root)
    yield
    if before is not None:
        after = _tracked_state(root)
        changed = sorted(set(after or ()) ^ set(before))
        assert not changed, f"tests modified tracked files: {changed}"


@pytest.fixture(autouse=True, scope="session")
def _saved_states_in_a_temporary_folder(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """llama.cpp states saved by warm starts go to a temporary folder, not the user's cache."""
    previous = os.environ.get("PARCALL_STATE_DIR")
    os.environ["PARCALL_STATE_DIR"] = str(tmp_path_factory.mktemp("states"))
    yield
    if previous is None:
        os.environ.pop("PARCALL_STATE_DIR", None)
    else:
        os.environ["PARCALL_STATE_DIR"] = previous


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: Path, out: Path, profile: Path, *, height: int, timeout: float) -> None:
    """A headless Chromium screenshot of `page`, 1300 pixels wide, written to `out`."""
    assert CHROMIUM is not None
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size=1300,{height}",
            f"--screenshot={out}",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=timeout,
    )
