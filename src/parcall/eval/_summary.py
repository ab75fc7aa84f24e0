"""Summaries of eval records: one row per dataset × split × agent × model (× format), kept
in `summary.json` and `summary.md` of the output folder, merged with the rows already there."""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["machine", "markdown_table", "merge_summary", "summarise"]


def summarise(records: Sequence[Mapping[str, Any]], **about: Any) -> dict[str, Any]:
    """Means of every score, latency mean/median/p90, tokens, model calls and replans per
    question, and the error count; `about` (dataset, agent, model, command, ...) goes first."""
    n = len(records)
    keys = sorted({k for r in records for k in r["scores"]})
    walls = sorted(float(r["wall_s"]) for r in records)

    def mean(field: str) -> float:
        return round(statistics.fmean(float(r[field]) for r in records), 3) if n else 0.0

    return {
        **about,
        "n": n,
        "scores": {
            k: round(statistics.fmean(float(r["scores"].get(k, 0.0)) for r in records), 4)
            for k in keys
        },
        "latency_s": {
            "mean": round(statistics.fmean(walls), 3) if n else 0.0,
            "median": round(statistics.median(walls), 3) if n else 0.0,
            "p90": round(_quantile(walls, 0.9), 3) if n else 0.0,
        },
        "per_question": {
            "tokens_in": mean("tokens_in"),
            "tokens_cached": mean("tokens_cached"),
            "tokens_out": mean("tokens_out"),
            "model_calls": mean("model_calls"),
            "replans": mean("replans"),
        },
        "errors": sum(1 for r in records if r.get("error")),
        "machine": machine(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def merge_summary(out: Path, row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Add `row` to `out/summary.json` (replacing the row of the same `run`), rewrite
    `out/summary.md` from all rows, and return them."""
    path = out / "summary.json"
    rows: list[dict[str, Any]] = []
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            rows = [r for r in loaded if isinstance(r, dict)] if isinstance(loaded, list) else []
        except ValueError:
            rows = []  # a damaged summary is rebuilt from this run on
    rows = [r for r in rows if r.get("run") != row["run"]] + [dict(row)]
    rows.sort(key=lambda r: str(r.get("run")))
    path.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "summary.md").write_text(markdown_table(rows), encoding="utf-8")
    return rows


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """A table of the rows (primary score first), then the command of each row."""
    lines = [
        "| dataset | split | agent | model | format | n | scores | latency mean / median "
        "/ p90 (s) | tokens in / cached / out | model calls | replans | errors |",
        "| --- | --- | --- | --- | --- | ---: | --- | --- | --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        scores: Mapping[str, float] = r.get("scores", {})
        primary = r.get("primary")
        ordered = sorted(scores, key=lambda k: (k != primary, k))
        shown = ", ".join(f"{k} {100 * scores[k]:.1f} %" for k in ordered)
        lat, per = r.get("latency_s", {}), r.get("per_question", {})
        lines.append(
            f"| {r.get('dataset')} | {r.get('split')} | {r.get('agent')} | {r.get('model')} "
            f"| {r.get('format') or '–'} | {r.get('n')} | {shown} "
            f"| {lat.get('mean')} / {lat.get('median')} / {lat.get('p90')} "
            f"| {per.get('tokens_in')} / {per.get('tokens_cached')} / {per.get('tokens_out')} "
            f"| {per.get('model_calls')} | {per.get('replans')} | {r.get('errors')} |"
        )
    lines.append("")
    machines = {json.dumps(r.get("machine"), sort_keys=True) for r in rows}
    for text in sorted(machines):
        m = json.loads(text) or {}
        lines.append(
            f"Machine: {m.get('cpu_model')}, {m.get('cpu_count')} CPUs, {m.get('platform')}, "
            f"Python {m.get('python')}."
        )
    lines.append("")
    lines.append("Commands (date, run):")
    lines.append("")
    for r in rows:
        lines.append(f"- {r.get('date')} `{r.get('run')}`: `{r.get('command')}`")
    return "\n".join(lines) + "\n"
