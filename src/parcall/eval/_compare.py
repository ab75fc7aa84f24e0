"""Two runs on the same examples, paired: is B's difference from A more than noise?

Records are paired by example id. Per metric: both means over the paired examples and the
mean difference B − A with its paired-bootstrap 95 % interval; for 0/1 scores also the
exact McNemar test (a two-sided binomial test on the examples only one run got right) and
the examples that flipped; for seconds, model calls and tokens also the ratio B / A.

A difference is "within noise" when its interval holds 0 (for 0/1 scores: when McNemar's
p > 0.05).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._runs import RunRecords, load_run
from ._stats import Estimate, is_binary, mcnemar_exact, paired_difference, paired_ratio

__all__ = ["Comparison", "Flip", "MetricComparison", "compare_runs"]

ALPHA = 0.05
COSTS: tuple[tuple[str, str], ...] = (
    ("wall_s", "seconds"),
    ("model_calls", "model calls"),
    ("tokens_in", "tokens in"),
    ("tokens_out", "tokens out"),
)
"""Per-example costs compared after the scores: record field, name shown."""


@dataclass(frozen=True, slots=True)
class MetricComparison:
    """One metric over the paired examples."""

    name: str
    a: float
    b: float
    difference: Estimate
    """B − A, with its paired-bootstrap interval."""
    binary: bool
    gained: int = 0
    """0/1 scores: examples B got right and A did not."""
    lost: int = 0
    """0/1 scores: examples A got right and B did not."""
    p_value: float | None = None
    """0/1 scores: the exact McNemar test's two-sided p-value."""
    ratio: Estimate | None = None
    """Costs: mean B / mean A with its interval."""
    cost: bool = False
    """Lower is better (seconds, calls, tokens)."""

    @property
    def significant(self) -> bool:
        if self.p_value is not None:
            return self.p_value <= ALPHA
        return self.difference.excludes_zero

    @property
    def verdict(self) -> str:
        """`within noise`, or which way B differs beyond it."""
        if not self.significant or self.difference.value == 0:
            return "within noise"
        if self.cost:
            return "B lower (better)" if self.difference.value < 0 else "B higher (worse)"
        return "B higher (better)" if self.difference.value > 0 else "B lower (worse)"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "metric": self.name,
            "a": round(self.a, 4),
            "b": round(self.b, 4),
            "difference": self.difference.as_dict(),
            "binary": self.binary,
            "verdict": self.verdict,
        }
        if self.binary:
            out |= {"gained": self.gained, "lost": self.lost, "mcnemar_p": self.p_value}
        if self.ratio is not None:
            out["ratio"] = self.ratio.as_dict(3)
        return out


@dataclass(frozen=True, slots=True)
class Flip:
    """An example whose 0/1 score differs between the runs."""

    id: str
    question: str
    a: float
    b: float
    prediction_a: str
    prediction_b: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "a": self.a,
            "b": self.b,
            "prediction_a": self.prediction_a,
            "prediction_b": self.prediction_b,
        }


@dataclass(frozen=True)
class Comparison:
    """Runs A and B paired on their common examples."""

    a: RunRecords
    b: RunRecords
    paired: tuple[str, ...]
    only_in_a: tuple[str, ...]
    only_in_b: tuple[str, ...]
    metrics: tuple[MetricComparison, ...]
    flips: Mapping[str, tuple[Flip, ...]]
    """Per 0/1 score: the examples whose score differs, gains (0→1) first."""

    @property
    def primary(self) -> str | None:
        return self.a.primary or self.b.primary

    def metric(self, name: str) -> MetricComparison:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(f"no metric {name!r}: compared {', '.join(m.name for m in self.metrics)}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": _about(self.a),
            "b": _about(self.b),
            "dataset": self.a.dataset or self.b.dataset,
            "primary": self.primary,
            "paired": len(self.paired),
            "only_in_a": list(self.only_in_a),
            "only_in_b": list(self.only_in_b),
            "metrics": [m.as_dict() for m in self.metrics],
            "flips": {k: [f.as_dict() for f in v] for k, v in self.flips.items()},
            "intervals": "95 % paired bootstrap over examples (2000 resamples, seed 0); "
            "0/1 scores also an exact McNemar test",
        }


def _about(run: RunRecords) -> dict[str, Any]:
    return {
        "label": run.label,
        "path": str(run.path),
        "source": run.source,
        "records": len(run.records),
        **{k: run.about[k] for k in ("agent", "model", "split", "run") if k in run.about},
    }


def compare_runs(
    a: RunRecords | str | os.PathLike[str], b: RunRecords | str | os.PathLike[str]
) -> Comparison:
    """Pair two runs by example id and compare every score and cost (see the module).

    `a` and `b` are records files (parcall's JSONL, or a reference file as `FILE#AGENT`) or
    runs read with `load_run`. Raises `ValueError` when the runs are of different datasets or
    share no example, `FileNotFoundError` for a missing file."""
    run_a = a if isinstance(a, RunRecords) else load_run(a)
    run_b = b if isinstance(b, RunRecords) else load_run(b)
    if run_a.dataset and run_b.dataset and run_a.dataset != run_b.dataset:
        raise ValueError(
            f"different datasets: {run_a.label} is {run_a.dataset}, "
            f"{run_b.label} is {run_b.dataset}"
        )
    paired = tuple(i for i in run_a.records if i in run_b.records)
    if not paired:
        raise ValueError(
            f"no example in both runs: {run_a.label} has {len(run_a.records)} "
            f"({run_a.split}), {run_b.label} has {len(run_b.records)} ({run_b.split})"
        )
    only_a = tuple(i for i in run_a.records if i not in run_b.records)
    only_b = tuple(i for i in run_b.records if i not in run_a.records)
    ra = [run_a.records[i] for i in paired]
    rb = [run_b.records[i] for i in paired]
    primary = run_a.primary or run_b.primary
    shared = set(_score_keys(ra)) & set(_score_keys(rb))
    keys = sorted(shared, key=lambda k: (k != primary, k))
    metrics: list[MetricComparison] = []
    flips: dict[str, tuple[Flip, ...]] = {}
    for key in keys:
        xs = [_score(r, key) for r in ra]
        ys = [_score(r, key) for r in rb]
        metric = _compare_score(key, xs, ys)
        metrics.append(metric)
        if metric.binary:
            flips[key] = _flips(paired, ra, rb, xs, ys)
    for field, name in COSTS:
        if all(isinstance(r.get(field), (int, float)) for r in (*ra, *rb)):
            xs = [float(r[field]) for r in ra]
            ys = [float(r[field]) for r in rb]
            metrics.append(
                MetricComparison(
                    name,
                    _mean(xs),
                    _mean(ys),
                    paired_difference(xs, ys),
                    binary=False,
                    ratio=paired_ratio(xs, ys),
                    cost=True,
                )
            )
    return Comparison(run_a, run_b, paired, only_a, only_b, tuple(metrics), flips)


def _score_keys(records: Sequence[Mapping[str, Any]]) -> list[str]:
    return sorted({k for r in records for k in r.get("scores", {})})


def _score(record: Mapping[str, Any], key: str) -> float:
    value = record.get("scores", {}).get(key, 0.0)
    return float(value) if isinstance(value, (int, float)) else 0.0


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _compare_score(key: str, xs: Sequence[float], ys: Sequence[float]) -> MetricComparison:
    difference = paired_difference(xs, ys)
    if not (is_binary(xs) and is_binary(ys)):
        return MetricComparison(key, _mean(xs), _mean(ys), difference, binary=False)
    gained = sum(1 for x, y in zip(xs, ys) if x == 0 and y == 1)
    lost = sum(1 for x, y in zip(xs, ys) if x == 1 and y == 0)
    return MetricComparison(
        key,
        _mean(xs),
        _mean(ys),
        difference,
        binary=True,
        gained=gained,
        lost=lost,
        p_value=mcnemar_exact(lost, gained),
    )


def _flips(
    ids: Sequence[str],
    ra: Sequence[Mapping[str, Any]],
    rb: Sequence[Mapping[str, Any]],
    xs: Sequence[float],
    ys: Sequence[float],
) -> tuple[Flip, ...]:
    found = [
        Flip(
            i,
            str(a.get("question", "")),
            x,
            y,
            str(a.get("prediction", "")),
            str(b.get("prediction", "")),
        )
        for i, a, b, x, y in zip(ids, ra, rb, xs, ys)
        if x != y
    ]
    return tuple(sorted(found, key=lambda f: f.a > f.b))  # gains first, file order kept
