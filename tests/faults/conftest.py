"""Fixtures of the fault matrix: a session-wide count of injected faults, written as
`faults.json` to the figures folder, and checks shared by the cells.

Figures go to a temporary folder, or to `$PARCALL_FIGURES_DIR` when it is set: tests never
write into the repository unless asked to (`PARCALL_FIGURES_DIR=bench/results pytest -m
faults` refreshes the published figures)."""

from __future__ import annotations

import json
import os
import pathlib
import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from parcall import RunResult, TaskFailed, TaskFinished, TaskParsed, TaskStarted

FIGURES_ENV = "PARCALL_FIGURES_DIR"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = pathlib.Path(__file__).parent
    for item in items:
        if here in pathlib.Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)


class FaultCounter:
    """How many faults each cell of the matrix injected (thread-safe: servers count too)."""

    def __init__(self) -> None:
        self.cells: Counter[str] = Counter()
        self._lock = threading.Lock()

    def inject(self, cell: str, n: int = 1) -> None:
        with self._lock:
            self.cells[cell] += n


_COUNTER = FaultCounter()


@pytest.fixture(scope="session")
def figures_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """Where the matrix and the load test write their figures (see the module docstring)."""
    chosen = os.environ.get(FIGURES_ENV)
    if chosen:
        path = pathlib.Path(chosen)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("figures")


@pytest.fixture(scope="session")
def faults(figures_dir: pathlib.Path) -> Iterator[FaultCounter]:
    yield _COUNTER
    if _COUNTER.cells and not os.environ.get("PYTEST_XDIST_WORKER"):
        cells = dict(sorted(_COUNTER.cells.items()))
        report = {"cells": cells, "total": sum(cells.values()), "n_cells": len(cells)}
        (figures_dir / "faults.json").write_text(json.dumps(report, indent=2) + "\n")


def assert_traced(result: RunResult, *, tasks: int | None = None) -> None:
    """The result's events tell the whole story: every task parsed, and each one that was run
    or skipped has its settling event."""
    parsed = {e.task.idx for e in result.events if isinstance(e, TaskParsed)}
    settled = {
        e.observation.idx for e in result.events if isinstance(e, (TaskFinished, TaskFailed))
    }
    started = {e.idx for e in result.events if isinstance(e, TaskStarted)}
    assert parsed == {o.idx for o in result.observations}
    assert settled == parsed, "a parsed task has no TaskFinished/TaskFailed event"
    assert started <= parsed
    if tasks is not None:
        assert len(parsed) == tasks
    assert result.events[-1].kind == "answered"
