"""Shared plumbing for the peer harnesses (standard library only)."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

# The peers' imports emit deprecation/pydantic warnings that only clutter the output.
if "--verbose" not in sys.argv:
    warnings.filterwarnings("ignore")

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import critical_path as cp  # noqa: E402
import workloads as wls  # noqa: E402

now = time.perf_counter


def sleep_until(deadline: float) -> None:
    d = deadline - now()
    if d > 0:
        time.sleep(d)


async def asleep_until(deadline: float) -> None:
    d = deadline - now()
    if d > 0:
        await asyncio.sleep(d)


def token_schedule(text: str, timing: wls.ModelTiming = wls.REFERENCE_TIMING):
    """[(token, offset_s)] for a scripted reply."""
    toks = cp.tokenize(text, timing.chars_per_token)
    return list(zip(toks, cp.token_arrivals(len(toks), timing), strict=True))


class Recorder:
    """Thread-safe log of tool starts/ends and model calls, relative to the request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.t0 = now()
        self.events: list[tuple[float, str, str]] = []
        self.model_calls = 0

    def reset(self) -> None:
        with self.lock:
            self.t0 = now()
            self.events.clear()
            self.model_calls = 0

    def log(self, kind: str, what: str) -> None:
        with self.lock:
            self.events.append((round(now() - self.t0, 4), kind, what))

    def model_call(self, what: str) -> None:
        with self.lock:
            self.model_calls += 1
        self.log("model_start", what)

    def first(self, kind: str, what: str) -> float | None:
        for t, k, w in self.events:
            if k == kind and w == what:
                return t
        return None


def tool_latency(wl: wls.Workload, arg: str) -> tuple[int, float]:
    idx = wls.task_idx_from_arg(arg)
    return idx, wl.task(idx).latency_s


def parse_args(default_out: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument(
        "--workloads",
        default=",".join(wls.ALL_WORKLOADS),
        help="comma-separated workload names (default: all)",
    )
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=default_out, help="JSON-lines output path (appended to)")
    p.add_argument("--verbose", action="store_true", help="let the peer print its own logs")
    a = p.parse_args()
    a.workloads = [w.strip() for w in a.workloads.split(",") if w.strip()]
    for w in a.workloads:
        if w not in wls.WORKLOADS:
            p.error(f"unknown workload {w!r}; known: {', '.join(wls.ALL_WORKLOADS)}")
    return a


def run_all(
    args: argparse.Namespace, peer: str, version: str, run_one: Callable[[wls.Workload, int], dict]
) -> list[dict]:
    """run_one(workload, repeat) -> dict with makespan_s, bound_s, model_calls, detail."""
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with out.open("a") as fh:
        for name in args.workloads:
            wl = wls.get(name)
            for r in range(args.repeats):
                res = run_one(wl, r)
                row = {
                    "peer": peer,
                    "version": version,
                    "workload": name,
                    "repeat": r,
                    "makespan_s": round(res["makespan_s"], 4),
                    "bound_s": round(res["bound_s"], 4),
                    "ratio": round(res["makespan_s"] / res["bound_s"], 4),
                    "model_calls": res["model_calls"],
                    "detail": res.get("detail", {}),
                }
                rows.append(row)
                line = json.dumps(row)
                fh.write(line + "\n")
                fh.flush()
                print(json.dumps({k: v for k, v in row.items() if k != "detail"}), flush=True)
    for name in args.workloads:
        rs = [x["ratio"] for x in rows if x["workload"] == name]
        ms = [x["makespan_s"] for x in rows if x["workload"] == name]
        print(
            f"# {peer} {name}: median makespan {statistics.median(ms):.3f}s "
            f"median ratio {statistics.median(rs):.3f}",
            file=sys.stderr,
        )
    return rows


def run_figures(
    wl: wls.Workload, rec: Recorder, bound: cp.Bound, makespan: float, answer: object
) -> dict:
    """What `run_one` returns for one timed request: figures plus the trace that explains them."""
    ok = answer == wl.joiner_answer
    if not ok:
        print(f"WARNING {wl.name}: unexpected answer {answer!r}", file=sys.stderr)
    starts = {w: t for t, k, w in rec.events if k == "tool_start"}
    return {
        "makespan_s": makespan,
        "bound_s": bound.bound_s,
        "model_calls": rec.model_calls,
        "detail": {
            "answer_ok": ok,
            "tool_start_s": starts,
            "ideal_tool_start_s": {str(k): round(v, 4) for k, v in bound.task_start_s.items()},
            "events": rec.events,
        },
    }
