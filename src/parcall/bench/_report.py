"""Reports: markdown tables of the figures, peers' figures, and a rich progress bar."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._figures import RunFigures

__all__ = ["PUBLISHED", "load_peers", "new_out_dir", "progress", "simulated_table", "write_report"]

PUBLISHED = Path("bench/results")
"""Where the published figures live; written only when asked for with `--out bench/results`."""


def write_report(out_dir: str | Path, stem: str, data: Any, table: str) -> list[str]:
    """`<stem>.json` and `<stem>.md` under `out_dir` (made if missing); their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(data, indent=1) + "\n")
    (out / f"{stem}.md").write_text(table + "\n")
    return [str(out / f"{stem}.json"), str(out / f"{stem}.md")]


def new_out_dir(prefix: str = "parcall-bench", *, under: str | Path = ".") -> Path:
    """A fresh `prefix-YYYYmmdd-HHMMSS` folder name under `under` (not created yet).

    Benchmarks write here unless given an `--out`, so a partial run never replaces the
    published tables.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(under) / f"{prefix}-{stamp}"
    n = 2
    while path.exists():
        path = Path(under) / f"{prefix}-{stamp}-{n}"
        n += 1
    return path


def load_peers(path: str | Path | None) -> list[dict[str, Any]]:
    """The peers' summary rows from a `peers.json` (written by bench/peers), if there is one."""
    if path is None or not Path(path).is_file():
        return []
    data = json.loads(Path(path).read_text())
    rows = data.get("summary", []) if isinstance(data, dict) else data
    return [r for r in rows if isinstance(r, dict)]


def _fmt(value: float, digits: int = 3) -> str:
    return "–" if value != value else f"{value:.{digits}f}"


def simulated_table(runs: Sequence[RunFigures], peers: Sequence[dict[str, Any]]) -> str:
    """One row per workload and agent (medians over repeats), peers next to parcall."""
    header = (
        "| workload | agent | makespan (s) | bound (s) | ratio | own ideal (s) | vs own ideal "
        "| model calls | tokens in / out | speedup vs ReAct | of DAG's allowed "
        "| dispatch p99 (ms) | engine ratio |"
    )
    lines = [header, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    keys = list(dict.fromkeys((r.workload, r.agent) for r in runs))
    for workload in dict.fromkeys(w for w, _ in keys):
        react = _median([r for r in runs if (r.workload, r.agent) == (workload, "react")])
        react_ideal = next(
            (r.ideal_s for r in runs if (r.workload, r.agent) == (workload, "react")), None
        )
        for w, agent in keys:
            if w != workload:
                continue
            rs = [r for r in runs if (r.workload, r.agent) == (w, agent)]
            first, mid = rs[0], _median(rs)
            speedup = react / mid if react else float("nan")
            allowed = react_ideal / first.bound_s if react_ideal else float("nan")
            ok = "" if all(r.answer_ok for r in rs) else " (wrong answer!)"
            lines.append(
                f"| {w} | {agent}{ok} | {mid:.3f} | {first.bound_s:.3f} | "
                f"**{mid / first.bound_s:.3f}** | {first.ideal_s:.3f} | "
                f"{mid / first.ideal_s:.3f} | {first.model_calls} | "
                f"{first.input_tokens} / {first.output_tokens} | {_fmt(speedup, 2)}× | "
                f"{_fmt(100 * speedup / allowed, 1)} % | "
                f"{_fmt(max(r.dispatch_p99_ms for r in rs), 2)} | {_engine(rs)} |"
            )
        for peer in (p for p in peers if p.get("workload") == workload):
            mid = float(peer["makespan_median_s"])
            speedup = react / mid if react else float("nan")
            calls = ",".join(map(str, peer.get("model_calls", [])))
            lines.append(
                f"| {workload} | {peer['peer']} {peer.get('version', '')} (peer) | {mid:.3f} | "
                f"{float(peer['bound_s']):.3f} | **{float(peer['ratio_median']):.3f}** | – | – | "
                f"{calls} | – | {_fmt(speedup, 2)}× | – | – | – |"
            )
    lines.append("")
    lines.append(
        "Medians over repeats. ratio = makespan / critical-path bound (model time until each "
        "task's plan line has streamed + tool latencies along the longest chain + the joiner). "
        "own ideal = the agent's own script with zero overhead. of DAG's allowed = speedup over "
        "ReAct / (ReAct's ideal / the bound). Peers' rows come from bench/results/peers.json "
        "(another run: compare their ratios, not their seconds). engine ratio (parcall) = "
        "makespan / the bound recomputed with the tools' measured durations (asyncio sleeps "
        "overshoot): the engine's own share. parcall-finish = the same plans ending in "
        "`finish($N)`, an answer template: no joiner call when every task succeeded (the "
        "joiner still runs after a failure); its ratio is to the same plan → tools → joiner "
        "bound, its own ideal has no joiner."
    )
    return "\n".join(lines)


def _engine(rs: Sequence[RunFigures]) -> str:
    ratios = [r.makespan_s / r.measured_bound_s for r in rs if r.measured_bound_s]
    return f"{statistics.median(ratios):.4f}" if ratios else "–"


def _median(rs: Sequence[RunFigures]) -> float:
    return statistics.median(r.makespan_s for r in rs) if rs else float("nan")


@contextmanager
def progress(show: bool, total: int) -> Iterator[Callable[[str], None]]:
    """`with progress(True, n) as step: step("label")` — a rich bar, or nothing."""
    if not show:
        yield lambda label: None
        return
    from rich.progress import Progress

    done = -1
    with Progress(refresh_per_second=4) as bar:
        task = bar.add_task("starting", total=total)

        def step(label: str) -> None:
            nonlocal done
            done += 1
            bar.update(task, completed=done, description=label)

        yield step
        bar.update(task, completed=total, description="done")
