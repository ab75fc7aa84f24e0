"""Durable runs survive SIGKILL: a run killed at random points and resumed each time ends
with the answer of a run never killed, and no step the journal had finished runs again."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).parent / "worker.py"
KILLS = int(os.environ.get("PARCALL_KILL_TRIALS", "8"))
"""Random kills per test run (more by hand: PARCALL_KILL_TRIALS=200)."""

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def start(db: Path, log: Path, mode: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(WORKER), str(db), str(log), mode, "r1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready", process.stderr and process.stderr.read()
    return process


def finished_steps(db: Path) -> set[int]:
    """Task indices the journal holds a value for."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT idx FROM journal_tasks WHERE state = 'done'").fetchall()
    return {row[0] for row in rows}


def starts(log: Path, pid: int) -> list[int]:
    if not log.exists():
        return []
    return [
        int(line.split()[1])
        for line in log.read_text().splitlines()
        if line.startswith("start") and line.endswith(f" {pid}")
    ]


def drain(process: subprocess.Popen[str]) -> tuple[str, str]:
    """What the process wrote after `ready`, once it has ended. Read through the same
    buffered pipes as `ready` was (`communicate` reads the raw pipes and would miss lines
    already buffered, from a process that ended right after `ready`)."""
    assert process.stdout is not None and process.stderr is not None
    with process.stdout, process.stderr:
        out, err = process.stdout.read(), process.stderr.read()
    process.wait(timeout=60)
    return out, err


def answer_of(process: subprocess.Popen[str]) -> str:
    out, err = drain(process)
    assert process.returncode == 0, err
    assert out.startswith("answer "), (out, err)
    return out.removeprefix("answer ").strip()


@pytest.mark.timeout(600)
def test_runs_killed_at_random_points_resume_to_the_same_answer(tmp_path: Path) -> None:
    expected = answer_of(start(tmp_path / "clean.db", tmp_path / "clean.log", "run"))
    rng = random.Random(int(os.environ.get("PARCALL_KILL_SEED", "7")))
    kills = resumes = runs = 0
    while kills < KILLS:
        runs += 1  # a run of its own (journal, log) until it ends, however often it is killed
        db, log = tmp_path / f"run{runs}.db", tmp_path / f"run{runs}.log"
        process, answer = start(db, log, "run"), None
        while answer is None:
            done_before = finished_steps(db) if db.exists() else set()
            try:
                process.wait(timeout=rng.uniform(0.0, 1.4))
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                drain(process)
                kills += 1
            else:
                answer = answer_of(process)
            again = set(starts(log, process.pid)) & done_before
            assert not again, f"steps {sorted(again)} ran again after the journal had them"
            if answer is None:
                process = start(db, log, "resume")
                resumes += 1
        assert answer == expected
    assert resumes >= KILLS
