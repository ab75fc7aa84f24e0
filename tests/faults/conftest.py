"""Fixtures of the fault matrix: a session-wide count of injected faults, written to
`bench/results/faults.json`, and checks shared by the cells."""

from __future__ import annotations

import json
import os
import pathlib
import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from parcall import RunResult, TaskFailed, TaskFinished, TaskParsed, TaskStarted

RESULTS = pathlib.Path(__file__).resolve().parents[2] / "bench" / "results"


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
def faults() -> Iterator[FaultCounter]:
    yield _COUNTER
    # Written only for a run of the whole matrix, so a single test does not clobber the figures.
    if _COUNTER.cells and not os.environ.get("PYTEST_XDIST_WORKER"):
        RESULTS.mkdir(parents=True, exist_ok=True)
        cells = dict(sorted(_COUNTER.cells.items()))
        report = {"cells": cells, "total": sum(cells.values()), "n_cells": len(cells)}
        (RESULTS / "faults.json").write_text(json.dumps(report, indent=2) + "\n")


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
