"""A new `parcall run` process with a warm embedded model: wall time and its breakdown.

    python bench/warm_model.py --out bench/results [--model local] [--runs 2]

Runs the README's first command (`parcall run "<question>" --json`) `--runs` times, each in a
new process, with the saved states in a fresh folder (so the first run builds the state of
the system prompt and the later ones restore it). Records each process's wall time, the
run's breakdown (load, prefill, generate, tools, join), the time from the end of loading to
the first task, and whether the answer came from a `finish(...)` template or the joiner.
Writes `warm_model.json` and `warm_model.md` to `--out`. Targets (issue 12): a later run
≤ 6 s, first task ≤ 2 s after load. On a shared machine, say so next to the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

QUESTION = "Were Scott Derrickson and Ed Wood of the same nationality?"
PARCALL = Path(sys.executable).with_name("parcall")


def one_run(model: str, states: Path) -> dict[str, Any]:
    env = {**os.environ, "PARCALL_STATE_DIR": str(states)}
    began = time.perf_counter()
    done = subprocess.run(
        [str(PARCALL), "run", QUESTION, "--model", model, "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - began
    if done.returncode != 0:
        return {"wall_s": round(wall, 2), "error": done.stderr.strip()[-800:]}
    payload = json.loads(done.stdout)
    timing = payload["timing_s"]
    return {
        "wall_s": round(wall, 2),
        "answer": payload["answer"],
        "answered_by": payload["answered_by"],
        "first_task_after_load_s": payload["first_task_s"],
        "breakdown_s": {k: round(v, 2) for k, v in timing.items() if isinstance(v, float)},
        "usage": payload["usage"],
        "plan": payload["plans"],
    }


def table(runs: list[dict[str, Any]], note: str) -> str:
    lines = [
        "| run | wall (s) | load | prefill | generate | tools | join | first task after load (s) "
        "| answered by |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n, run in enumerate(runs, 1):
        if "error" in run:
            lines.append(f"| {n} | {run['wall_s']} | error: {run['error'][:80]} |")
            continue
        b = run["breakdown_s"]
        first = run["first_task_after_load_s"]
        lines.append(
            f"| {n} | {run['wall_s']:.2f} | {b['load']:.2f} | {b['prefill']:.2f} | "
            f"{b['generate']:.2f} | {b['tools']:.2f} | {b['join']:.2f} | "
            f"{'–' if first is None else f'{first:.2f}'} | {run['answered_by']} |"
        )
    lines += ["", note]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="local")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--note", default="", help="A line under the table (machine load).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parcall-states-") as states:
        runs = [one_run(args.model, Path(states)) for _ in range(args.runs)]
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    note = args.note or (f"load average at the end: {load[0]:.1f}" if load else "")
    report = {
        "kind": "parcall-bench-warm-model",
        "question": QUESTION,
        "model": args.model,
        "cpus": os.cpu_count(),
        "load_average_end": load,
        "note": note,
        "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "warm_model.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / "warm_model.md").write_text(table(runs, note) + "\n")
    print(table(runs, note))


if __name__ == "__main__":
    main()
