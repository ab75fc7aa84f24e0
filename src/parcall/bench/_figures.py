"""`RunFigures`: what one benchmark run measured, as the simulated benchmark reports it."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["RunFigures"]


@dataclass(frozen=True, slots=True)
class RunFigures:
    workload: str
    agent: str
    repeat: int
    makespan_s: float
    bound_s: float
    ideal_s: float
    """The agent's own zero-overhead makespan (its script's model and tool time)."""
    model_calls: int
    input_tokens: int
    output_tokens: int
    answer_ok: bool
    dispatch_p50_ms: float
    dispatch_p99_ms: float
    dispatch_max_ms: float
    task_late_ms: dict[int, float] = field(default_factory=dict)
    """parcall only: each task's start minus its start in the bound."""
    join_late_ms: float | None = None
    """parcall only: the last joiner call's start minus its start in the bound."""
    measured_bound_s: float | None = None
    """parcall only: the bound with each tool's measured duration instead of its scripted
    latency (sleeps overshoot by a millisecond or two), so ratio to it is the engine's share."""

    @property
    def ratio(self) -> float:
        return self.makespan_s / self.bound_s
