"""Intervals and tests behind eval summaries and `parcall eval compare`, and how numbers are
shown."""

from __future__ import annotations

import math

import pytest

from parcall.eval._stats import (
    bootstrap_mean,
    is_binary,
    mcnemar_exact,
    paired_difference,
    paired_ratio,
)
from parcall.eval._summary import interval_text, markdown_table, number, summarise


@pytest.mark.parametrize(
    ("only_a", "only_b", "p"),
    [
        (1, 6, 16 / 128),  # 2 * (C(7,0) + C(7,1)) / 2^7
        (0, 5, 2 / 32),
        (2, 10, 2 * (1 + 12 + 66) / 4096),
        (3, 3, 1.0),
        (0, 0, 1.0),  # no discordant pair: no evidence either way
        (0, 1, 1.0),
    ],
)
def test_mcnemar_is_the_exact_two_sided_binomial_on_discordant_pairs(
    only_a: int, only_b: int, p: float
) -> None:
    assert mcnemar_exact(only_a, only_b) == pytest.approx(p)
    assert mcnemar_exact(only_b, only_a) == pytest.approx(p)  # symmetric


def test_mcnemar_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="negative"):
        mcnemar_exact(-1, 2)


def test_a_bootstrap_interval_holds_the_mean_and_is_deterministic() -> None:
    values = [0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1]
    estimate = bootstrap_mean(values)
    assert estimate.value == pytest.approx(sum(values) / len(values))
    assert 0 <= estimate.low < estimate.value < estimate.high <= 1
    assert bootstrap_mean(values) == estimate  # the same seed, the same interval
    assert bootstrap_mean(values, seed=1) != estimate


def test_a_bootstrap_interval_shrinks_as_examples_grow() -> None:
    widths = []
    for k in (10, 40, 400):
        estimate = bootstrap_mean([0.0, 1.0] * k)
        widths.append(estimate.high - estimate.low)
    assert widths[0] > widths[1] > widths[2]
    # n = 800, p = 0.5: the normal interval is ±1.96 * sqrt(0.25 / 800) = ±0.035
    assert widths[2] == pytest.approx(2 * 1.96 * math.sqrt(0.25 / 800), rel=0.15)


def test_identical_values_have_a_zero_width_interval() -> None:
    estimate = bootstrap_mean([0.4, 0.4, 0.4])
    assert (estimate.low, estimate.value, estimate.high) == (0.4, 0.4, 0.4)
    assert not bootstrap_mean([0.0, 0.0]).excludes_zero


def test_a_mean_of_no_examples_is_an_error() -> None:
    with pytest.raises(ValueError, match="no examples"):
        bootstrap_mean([])


def test_a_paired_difference_resamples_pairs_not_runs() -> None:
    a = [float(i) for i in range(30)]
    b = [x + 2 for x in a]  # spread out, but always exactly 2 more
    difference = paired_difference(a, b)
    assert (difference.low, difference.value, difference.high) == (2.0, 2.0, 2.0)
    assert difference.excludes_zero
    with pytest.raises(ValueError, match="length"):
        paired_difference([1.0], [1.0, 2.0])


def test_a_paired_ratio_of_means() -> None:
    a = [1.0, 2.0, 3.0, 4.0]
    ratio = paired_ratio(a, [2 * x for x in a])
    assert ratio is not None and ratio.value == pytest.approx(2.0)
    assert ratio.low == pytest.approx(2.0) and ratio.high == pytest.approx(2.0)
    assert paired_ratio([0.0, 0.0], [1.0, 2.0]) is None


def test_binary_scores_are_told_apart_from_graded_ones() -> None:
    assert is_binary([0.0, 1.0, 1.0]) and not is_binary([0.0, 0.5])


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (2037.333, "2037"),
        (1814.0, "1814"),
        (65.0, "65"),
        (0.0, "0"),
        (12.44, "12.4"),
        (5.214, "5.21"),
        (0.25, "0.25"),
        (0.001, "0"),
        (None, "–"),
    ],
)
def test_means_are_shown_without_raw_floats(value: float | None, shown: str) -> None:
    assert number(value) == shown


def test_a_score_is_shown_with_its_interval() -> None:
    assert interval_text(0.2857, [0.1429, 0.4643], fixed=3) == "0.286 [0.143, 0.464]"
    assert interval_text(5.214, [4.8, 5.66]) == "5.21 [4.80, 5.66]"
    assert interval_text(0.5, None, fixed=3) == "0.500"  # a row written before intervals


def test_a_summary_carries_intervals_for_scores_and_mean_latency() -> None:
    records = [
        {
            "scores": {"em": float(i % 3 == 0)},
            "wall_s": 1.0 + i,
            "tokens_in": 100,
            "tokens_cached": 0.0,
            "tokens_out": 0,
            "model_calls": 2.0,
            "replans": 0.0,
        }
        for i in range(12)
    ]
    row = summarise(records, dataset="d", primary="em")
    low, high = row["scores_ci95"]["em"]
    assert low < row["scores"]["em"] < high
    low, high = row["latency_s"]["mean_ci95"]
    assert low < row["latency_s"]["mean"] == 6.5 < high
    assert row["intervals"]["level"] == 0.95
    table = markdown_table([row])
    assert "| 12 | em 0.333 [" in table
    assert " | 100 / 0 / 0 | 2 | 0 | 0 |" in table  # no `100.0`, `2.0` or `0.0`
