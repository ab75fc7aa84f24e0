"""How sure a score is: bootstrap intervals over examples and the exact McNemar test.

Pure Python and deterministic: every interval draws its resamples from `random.Random(seed)`
with a fixed seed, so the same records always give the same interval. Intervals are the
percentile bootstrap (2,000 resamples, 95 %): each resample draws n examples with
replacement, the statistic is computed on it, and the interval holds the middle 95 % of
those statistics. Paired intervals resample examples, keeping each one's two runs together.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "RESAMPLES",
    "SEED",
    "Estimate",
    "bootstrap_mean",
    "is_binary",
    "mcnemar_exact",
    "paired_difference",
    "paired_ratio",
    "quantile",
]

RESAMPLES = 2000
SEED = 0
LEVEL = 0.95


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean over `n` examples and its 95 % interval `[low, high]`."""

    value: float
    low: float
    high: float
    n: int

    def as_dict(self, digits: int = 4) -> dict[str, float | int]:
        return {
            "value": round(self.value, digits),
            "low": round(self.low, digits),
            "high": round(self.high, digits),
            "n": self.n,
        }

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval lies wholly on one side of 0 (a difference beyond noise)."""
        return self.low > 0 or self.high < 0


def quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default) of sorted values."""
    if not ordered:
        raise ValueError("quantile of no values")
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def bootstrap_mean(
    values: Sequence[float], *, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
) -> Estimate:
    """The mean of `values` with its percentile-bootstrap interval."""
    data = [float(v) for v in values]
    n = len(data)
    if n == 0:
        raise ValueError("a mean of no examples has no interval")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, not {resamples}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level}")
    if min(data) == max(data):
        return Estimate(data[0], data[0], data[0], n)  # every resample is the same
    mean = math.fsum(data) / n
    rng = random.Random(seed)
    means = sorted(math.fsum(rng.choices(data, k=n)) / n for _ in range(resamples))
    tail = (1 - level) / 2
    # a percentile of resampled means can fall a rounding error outside the data's range
    low = max(min(data), min(mean, quantile(means, tail)))
    high = min(max(data), max(mean, quantile(means, 1 - tail)))
    return Estimate(mean, low, high, n)


def paired_difference(
    a: Sequence[float],
    b: Sequence[float],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
) -> Estimate:
    """The mean of `b - a` over paired examples, with its paired-bootstrap interval."""
    if len(a) != len(b):
        raise ValueError(f"paired values differ in length: {len(a)} and {len(b)}")
    return bootstrap_mean(
        [float(y) - float(x) for x, y in zip(a, b)], resamples=resamples, seed=seed, level=level
    )


def is_binary(values: Sequence[float]) -> bool:
    """Whether every value is 0 or 1 (a pass/fail score)."""
    return all(v in (0.0, 1.0) for v in values)


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: of the discordant pairs (`only_a` passed only in A,
    `only_b` only in B), how unlikely a split this uneven is when each side is a fair coin.
    No discordant pair gives 1."""
    if only_a < 0 or only_b < 0:
        raise ValueError("counts of discordant pairs cannot be negative")
    n = only_a + only_b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(only_a, only_b) + 1))
    return min(1.0, 2 * tail / (1 << n))


def paired_ratio(
    a: Sequence[float],
    b: Sequence[float],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
) -> Estimate | None:
    """`mean(b) / mean(a)` over paired examples with its paired-bootstrap interval (e.g. how
    many times A's seconds B takes); None when A's mean is 0."""
    if len(a) != len(b):
        raise ValueError(f"paired values differ in length: {len(a)} and {len(b)}")
    n = len(a)
    if n == 0:
        raise ValueError("a ratio of no examples has no interval")
    xs, ys = [float(v) for v in a], [float(v) for v in b]
    if math.fsum(xs) == 0:
        return None
    ratio = math.fsum(ys) / math.fsum(xs)
    rng = random.Random(seed)
    ratios = []
    for _ in range(resamples):
        picks = rng.choices(range(n), k=n)
        below = math.fsum(xs[i] for i in picks)
        if below > 0:
            ratios.append(math.fsum(ys[i] for i in picks) / below)
    if not ratios:
        return Estimate(ratio, ratio, ratio, n)
    ratios.sort()
    tail = (1 - level) / 2
    low = min(ratio, quantile(ratios, tail))
    high = max(ratio, quantile(ratios, 1 - tail))
    return Estimate(ratio, low, high, n)
