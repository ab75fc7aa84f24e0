"""Critical-path lower bound for one LLMCompiler request under a scripted model and tools.

Pure functions, standard library only (besides the sibling ``workloads`` module for types).

Model: the k-th token (1-based) of a reply arrives ``ttft + (k - 1) * per_token`` after the
request; a reply takes as long as its last token. Tokens are 4-character pieces of each
line; the newline ends (belongs to) the line's last piece, so a line of L characters is
``max(1, ceil(L / 4))`` tokens.

Bound for a plan streamed from t=0 (the request):
    line_ready(i)  = arrival of the token that ends plan line i (its newline)
    start(task)    = max(line_ready(task's line), max(finish(dep) for dep in deps))
    finish(task)   = start(task) + tool latency
    join_start     = max(line_ready(join line), max(finish(task) for all tasks))
    bound          = join_start + joiner reply time (its ttft + its tokens)
This is what an ideal executor achieves: every task starts the instant its line has been
streamed and its inputs exist; no scheduling, parsing or framework overhead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

try:  # imported as a module of the bench.peers package or as a sibling script
    from .workloads import REFERENCE_TIMING, ModelTiming, Workload
except ImportError:  # pragma: no cover
    from workloads import REFERENCE_TIMING, ModelTiming, Workload  # type: ignore[no-redef]


def tokenize(text: str, chars_per_token: int = 4) -> list[str]:
    """Cut text into tokens of ``chars_per_token`` characters that never span a newline."""
    tokens: list[str] = []
    lines = text.split("\n")
    for n, line in enumerate(lines):
        pieces = [line[i : i + chars_per_token] for i in range(0, len(line), chars_per_token)]
        if not pieces:
            pieces = [""]
        if n < len(lines) - 1:
            pieces[-1] += "\n"
        elif pieces == [""]:
            continue  # text ends with a newline: nothing after it
        tokens.extend(pieces)
    return tokens


def token_arrivals(n_tokens: int, timing: ModelTiming = REFERENCE_TIMING) -> list[float]:
    """Arrival time of each token, relative to the request."""
    return [timing.ttft_s + k * timing.per_token_s for k in range(n_tokens)]


def reply_duration(text: str, timing: ModelTiming = REFERENCE_TIMING) -> float:
    """Time until the last token of ``text`` has arrived (what a non-streaming call takes)."""
    n = len(tokenize(text, timing.chars_per_token))
    return timing.ttft_s + max(n - 1, 0) * timing.per_token_s


def line_ready_times(text: str, timing: ModelTiming = REFERENCE_TIMING) -> list[float]:
    """For each line of ``text``, the arrival time of the token that completes it."""
    tokens = tokenize(text, timing.chars_per_token)
    arrivals = token_arrivals(len(tokens), timing)
    ready: list[float] = []
    for tok, t in zip(tokens, arrivals, strict=True):
        if tok.endswith("\n"):
            ready.append(t)
    if tokens and not tokens[-1].endswith("\n"):
        ready.append(arrivals[-1])  # last line, no trailing newline: ends with the reply
    return ready


_LINE_IDX = re.compile(r"^\s*(\d+)\.\s")


@dataclass(frozen=True)
class Bound:
    bound_s: float
    plan_duration_s: float
    joiner_duration_s: float
    join_start_s: float
    task_start_s: Mapping[int, float]
    task_finish_s: Mapping[int, float]


def critical_path(
    tasks: Sequence[tuple[int, Sequence[int], float]],
    plan_text: str,
    joiner_text: str,
    timing: ModelTiming = REFERENCE_TIMING,
) -> Bound:
    """Bound for tasks given as ``(idx, deps, latency_s)``; the join is the plan's last line."""
    lines = plan_text.split("\n")
    ready = line_ready_times(plan_text, timing)
    assert len(ready) == len(lines)
    line_of: dict[int, float] = {}
    for line, t in zip(lines, ready, strict=True):
        m = _LINE_IDX.match(line)
        if m:
            line_of[int(m.group(1))] = t
    join_line_ready = ready[-1]
    start: dict[int, float] = {}
    finish: dict[int, float] = {}
    for idx, deps, latency in sorted(tasks, key=lambda x: x[0]):
        s = max([line_of[idx], *(finish[d] for d in deps)])
        start[idx] = s
        finish[idx] = s + latency
    join_start = max([join_line_ready, *finish.values()])
    jd = reply_duration(joiner_text, timing)
    return Bound(
        bound_s=join_start + jd,
        plan_duration_s=reply_duration(plan_text, timing),
        joiner_duration_s=jd,
        join_start_s=join_start,
        task_start_s=start,
        task_finish_s=finish,
    )


def workload_bound(
    wl: Workload,
    plan_text: str | None = None,
    joiner_text: str | None = None,
    timing: ModelTiming = REFERENCE_TIMING,
) -> Bound:
    """Bound for a workload; pass the peer-specific plan/joiner text if it differs."""
    return critical_path(
        [(t.idx, t.deps, t.latency_s) for t in wl.tasks],
        plan_text if plan_text is not None else "\n".join(wl.plan_lines),
        joiner_text if joiner_text is not None else wl.joiner_text,
        timing,
    )


def round_bound(b: Bound, ndigits: int = 4) -> float:
    return round(b.bound_s, ndigits) if math.isfinite(b.bound_s) else b.bound_s
