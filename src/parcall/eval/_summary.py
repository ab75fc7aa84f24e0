"""Summaries of eval records: one row per dataset × split × agent × model (× format), kept
in `summary.json` and `summary.md` of the output folder, merged with the rows already there.

Every mean score and the mean latency carry a 95 % bootstrap interval over the examples
(`_stats`), so a row says how far its numbers can be trusted."""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._stats import LEVEL, RESAMPLES, SEED, bootstrap_mean, quantile

__all__ = ["interval_text", "machine", "markdown_table", "merge_summary", "number", "summarise"]


def summarise(records: Sequence[Mapping[str, Any]], **about: Any) -> dict[str, Any]:
    """Means of every score with their 95 % intervals, latency mean (with its interval) /
    median / p90, tokens, model calls and replans per question, and the error count;
    `about` (dataset, agent, model, command, ...) goes first."""
    n = len(records)
    keys = sorted({k for r in records for k in r["scores"]})
    walls = sorted(float(r["wall_s"]) for r in records)

    def mean(field: str) -> float | None:
        """The mean over the records that have the field (None: none has it, e.g. cached
        tokens of the reference agents)."""
        known = [float(r[field]) for r in records if isinstance(r.get(field), (int, float))]
        return round(statistics.fmean(known), 3) if known else (0.0 if not n else None)

    scores = {k: [float(r["scores"].get(k, 0.0)) for r in records] for k in keys}
    latency: dict[str, Any] = {"mean": 0.0, "median": 0.0, "p90": 0.0}
    if n:
        latency = {
            "mean": round(statistics.fmean(walls), 3),
            "mean_ci95": _interval(walls, 3),
            "median": round(statistics.median(walls), 3),
            "p90": round(quantile(walls, 0.9), 3),
        }
    return {
        **about,
        "n": n,
        "scores": {k: round(statistics.fmean(v), 4) for k, v in scores.items()},
        "scores_ci95": {k: _interval(v, 4) for k, v in scores.items()},
        "latency_s": latency,
        "per_question": {
            "tokens_in": mean("tokens_in"),
            "tokens_cached": mean("tokens_cached"),
            "tokens_out": mean("tokens_out"),
            "model_calls": mean("model_calls"),
            "replans": mean("replans"),
        },
        "errors": sum(1 for r in records if r.get("error")),
        "intervals": {
            "level": LEVEL,
            "method": "percentile bootstrap over examples",
            "resamples": RESAMPLES,
            "seed": SEED,
        },
        "machine": machine(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _interval(values: Sequence[float], digits: int) -> list[float]:
    estimate = bootstrap_mean(values)
    return [round(estimate.low, digits), round(estimate.high, digits)]


def number(value: Any) -> str:
    """A mean for reading: whole numbers without a fraction, and no more digits than a
    mean over tens of examples carries (`2037`, `65`, `12.4`, `5.21`, `0.25`, `0`)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "–" if value is None else str(value)
    x = float(value)
    if x == round(x) and abs(x) < 1e15:
        return str(round(x))
    size = abs(x)
    digits = 0 if size >= 100 else 1 if size >= 10 else 2
    text = f"{x:.{digits}f}"
    return "0" if float(text) == 0 else text


def interval_text(value: Any, interval: Any, *, fixed: int | None = None) -> str:
    """`0.286 [0.143, 0.464]`; `fixed` digits after the point (scores use 3), or as
    `number` does. A value without an interval is shown alone."""

    def show(x: Any) -> str:
        if fixed is not None and isinstance(x, (int, float)):
            return f"{float(x):.{fixed}f}"
        return number(x)

    if isinstance(interval, (list, tuple)) and len(interval) == 2:
        return f"{show(value)} [{show(interval[0])}, {show(interval[1])}]"
    return show(value)


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
    """A table of the rows (primary score first, each mean with its 95 % interval), then
    the command of each row."""
    lines = [
        "| dataset | split | agent | model | format | n | scores [95 % CI] "
        "| s / question: mean [95 % CI] · median · p90 | tokens in / cached / out "
        "| model calls | replans | errors |",
        "| --- | --- | --- | --- | --- | ---: | --- | --- | --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append("| " + " | ".join(table_cells(r)) + " |")
    lines.append("")
    machines = {json.dumps(r["machine"], sort_keys=True) for r in rows if r.get("machine")}
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
    settings = [r for r in rows if r.get("settings")]
    if settings:
        lines += ["", "Agent settings (run):", ""]
        for r in settings:
            lines.append(f"- `{r.get('run')}`: `{json.dumps(r['settings'], sort_keys=True)}`")
    return "\n".join(lines) + "\n"


def table_cells(r: Mapping[str, Any]) -> list[str]:
    """The cells of one summary row, as `markdown_table` shows them."""
    scores: Mapping[str, float] = r.get("scores", {})
    intervals: Mapping[str, Any] = r.get("scores_ci95", {})
    primary = r.get("primary")
    ordered = sorted(scores, key=lambda k: (k != primary, k))
    shown = ", ".join(
        f"{k} {interval_text(scores[k], intervals.get(k), fixed=_score_digits(scores[k]))}"
        for k in ordered
    )
    lat, per = r.get("latency_s", {}), r.get("per_question", {})
    latency = (
        f"{interval_text(lat.get('mean'), lat.get('mean_ci95'))} · {number(lat.get('median'))}"
        f" · {number(lat.get('p90'))}"
    )
    tokens = " / ".join(number(per.get(k)) for k in ("tokens_in", "tokens_cached", "tokens_out"))
    return [
        str(r.get("dataset")),
        str(r.get("split")),
        str(r.get("agent")),
        str(r.get("model")),
        str(r.get("format") or "–"),
        str(r.get("n")),
        shown,
        latency,
        tokens,
        number(per.get("model_calls")),
        number(per.get("replans")),
        str(r.get("errors")),
    ]


def _score_digits(value: float) -> int | None:
    """Scores in [0, 1] with three decimals (`0.286`); other scores as `number` shows them."""
    return 3 if 0 <= value <= 1 else None
