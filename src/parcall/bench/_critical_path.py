"""The critical-path lower bound of a run under a scripted model and scripted tools.

Vendored from `bench/peers/critical_path.py` (the definition the peer harnesses use), typed,
and extended to plans with replans; `tests/bench/test_bench.py` checks that both give the same
bound on every shared workload. This module is parcall's single implementation.

Model: the k-th token (1-based) of a reply arrives `ttft + (k - 1) * per_token` after the
request. Tokens are 4-character pieces of each line and the newline belongs to the line's last
piece. A task starts when its plan line has streamed and its inputs exist; the joiner starts
when the plan has streamed and every task has settled; a replan's plan starts when the
joiner's reply has arrived.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..models._scripted import split_tokens

__all__ = [
    "REFERENCE_TIMING",
    "Bound",
    "ModelTiming",
    "critical_path",
    "line_ready_times",
    "reply_duration",
    "rounds_bound",
    "tokenize",
]


@dataclass(frozen=True, slots=True)
class ModelTiming:
    """Scripted model pace: first token after `ttft_s`, then one per `per_token_s`."""

    ttft_s: float = 0.30
    per_token_s: float = 0.01
    chars_per_token: int = 4


REFERENCE_TIMING = ModelTiming()


def tokenize(text: str, chars_per_token: int = 4) -> list[str]:
    """Pieces of `chars_per_token` characters that never span a newline (the scripted
    model's own tokenisation, so the bound and the simulation agree by construction)."""
    return split_tokens(text, chars_per_token)


def token_arrivals(n_tokens: int, timing: ModelTiming = REFERENCE_TIMING) -> list[float]:
    return [timing.ttft_s + k * timing.per_token_s for k in range(n_tokens)]


def reply_duration(text: str, timing: ModelTiming = REFERENCE_TIMING) -> float:
    """Time until the last token of `text` has arrived."""
    n = len(tokenize(text, timing.chars_per_token))
    return timing.ttft_s + max(n - 1, 0) * timing.per_token_s


def line_ready_times(text: str, timing: ModelTiming = REFERENCE_TIMING) -> list[float]:
    """For each line of `text`, the arrival time of the token that completes it."""
    tokens = tokenize(text, timing.chars_per_token)
    arrivals = token_arrivals(len(tokens), timing)
    ready = [t for tok, t in zip(tokens, arrivals) if tok.endswith("\n")]
    if tokens and not tokens[-1].endswith("\n"):
        ready.append(arrivals[-1])  # last line without a newline ends with the reply
    return ready


_LINE_IDX = re.compile(r"^\s*(\d+)\.\s")


@dataclass(frozen=True, slots=True)
class Bound:
    bound_s: float
    plan_duration_s: float
    joiner_duration_s: float
    join_start_s: float
    task_start_s: Mapping[int, float]
    task_finish_s: Mapping[int, float]


@dataclass(frozen=True, slots=True)
class BoundTask:
    idx: int
    deps: tuple[int, ...]
    latency_s: float
    fails: bool = False


@dataclass(frozen=True, slots=True)
class BoundRound:
    tasks: tuple[BoundTask, ...]
    plan_text: str
    joiner_text: str
    joiner: bool = True
    """False: the plan's answer template answers once the tasks settle, with no joiner call."""


def critical_path(
    tasks: Sequence[tuple[int, Sequence[int], float]],
    plan_text: str,
    joiner_text: str,
    timing: ModelTiming = REFERENCE_TIMING,
) -> Bound:
    """The bound of one plan (the peers' definition): tasks as `(idx, deps, latency_s)`."""
    rounds = [
        BoundRound(
            tuple(BoundTask(i, tuple(d), lat) for i, d, lat in tasks), plan_text, joiner_text
        )
    ]
    return rounds_bound(rounds, timing)


def rounds_bound(rounds: Sequence[BoundRound], timing: ModelTiming = REFERENCE_TIMING) -> Bound:
    """The bound of a run of one or more plans; a task with a failed input settles (as
    skipped) the moment that input fails, and a replan starts after the joiner's reply."""
    t = 0.0
    start: dict[int, float] = {}
    finish: dict[int, float] = {}
    failed: set[int] = set()
    plan_s = joiner_s = join_start = 0.0
    for rnd in rounds:
        lines = rnd.plan_text.split("\n")
        ready = line_ready_times(rnd.plan_text, timing)
        assert len(ready) == len(lines)
        line_of: dict[int, float] = {}
        for line, at in zip(lines, ready):
            m = _LINE_IDX.match(line)
            if m:
                line_of[int(m.group(1))] = t + at
        settled: list[float] = []
        for task in sorted(rnd.tasks, key=lambda x: x.idx):
            begin = max([line_of[task.idx], *(finish[d] for d in task.deps)])
            if any(d in failed for d in task.deps):
                failed.add(task.idx)  # skipped: settles with its failed input
                finish[task.idx] = begin
            else:
                start[task.idx] = begin
                finish[task.idx] = begin + task.latency_s
                if task.fails:
                    failed.add(task.idx)
            settled.append(finish[task.idx])
        join_start = max([t + ready[-1], *settled])
        plan_s += reply_duration(rnd.plan_text, timing)
        joiner = reply_duration(rnd.joiner_text, timing) if rnd.joiner else 0.0
        joiner_s += joiner
        t = join_start + joiner
    return Bound(t, plan_s, joiner_s, join_start, start, finish)
