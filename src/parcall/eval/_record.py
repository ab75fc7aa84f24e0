"""One example, run and written down: the JSON record every runner (local, Ray) produces."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._agent import Agent
from .._core.events import JoinDecided
from .._core.observation import format_value
from .._core.result import RunResult
from .._core.settings import Settings
from .._core.tool import Tool
from ..baselines._parallel_calls import ParallelToolCallAgent
from ..baselines._react import ReActAgent
from ..models._base import Model
from ._dataset import Dataset, Example
from ._latency import with_latency

__all__ = ["AGENTS", "AgentName", "AgentOptions", "run_example"]

AgentName = Literal["parcall", "react", "parallel"]
AGENTS: tuple[AgentName, ...] = ("parcall", "react", "parallel")
VALUE_CHARS = 300


@dataclass(frozen=True, slots=True)
class AgentOptions:
    """How the agent under test is built, and how slow its tools are made."""

    agent: AgentName = "parcall"
    settings: Settings = field(default_factory=lambda: Settings(constrained=False))
    """The parcall agent's run options."""
    tool_latency: float = 0.0
    sealed: bool = False


def build_agent(
    model: Model, tools: Sequence[Tool], options: AgentOptions
) -> Agent | ReActAgent | ParallelToolCallAgent:
    """The agent under test; the baselines take the same model and tools (and no plan
    format: they write one call or one batch per turn)."""
    if options.agent == "parcall":
        return Agent(
            model,
            tools,
            # A dataset's tools are the ones under test, as they are for the baselines.
            settings=options.settings.model_copy(update={"calculator": False}),
            policy="sealed" if options.sealed else None,
        )
    if options.agent == "react":
        return ReActAgent(model, tools)
    if options.agent == "parallel":
        return ParallelToolCallAgent(model, tools)
    raise ValueError(f"unknown agent {options.agent!r}: choose one of {', '.join(AGENTS)}")


async def run_example(
    dataset: Dataset,
    example: Example,
    model: Model,
    options: AgentOptions,
    *,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """Run one example and return its record. A run that raises still gets a record: its
    error, what it did before (plans, calls, tokens) and prediction ""; its scores are 0 on
    an answer dataset, and those of the calls it made on a plan dataset or one that
    `scores_failed_runs` (AgentDojo)."""
    tools = list(dataset.tools(example))
    if options.tool_latency > 0:
        tools = [with_latency(t, options.tool_latency) for t in tools]
    runner = build_agent(model, tools, options)
    start = clock()
    result: RunResult | None = None
    error: dict[str, str] | None = None
    try:
        result = await runner.run(example.question)
    except Exception as exc:  # a failed example is data, not the end of the evaluation
        partial = getattr(exc, "result", None)
        result = partial if isinstance(partial, RunResult) else None
        error = {"type": type(exc).__name__, "message": str(exc)}
    wall = clock() - start
    scores: dict[str, float] | None = None
    # A plan dataset scores the calls made, so a run that made them and failed afterwards
    # (e.g. at a turn limit) is scored on them; so does a dataset that scores what the calls
    # did (AgentDojo: an attack whose transfer ran succeeded, whatever came next); an
    # answer dataset has no answer to score.
    partial = dataset.kind == "plan" or getattr(dataset, "scores_failed_runs", False)
    if result is not None and (error is None or partial):
        try:
            scores = {k: float(v) for k, v in dataset.score(example, result).items()}
        except Exception as exc:
            if error is None:
                error = {"type": type(exc).__name__, "message": f"scoring failed: {exc}"}
    if scores is None:
        scores = zero_scores(dataset, example)
    return make_record(example, result, scores, wall, error)


def zero_scores(dataset: Dataset, example: Example) -> dict[str, float]:
    """Every score the dataset gives, at 0 (the keys come from scoring an empty answer)."""
    empty = RunResult(
        request=example.question, answer="", plans=(), observations=(), events=(), duration=0.0
    )
    try:
        keys = list(dataset.score(example, empty))
    except Exception:
        keys = []
    return {k: 0.0 for k in [*keys, dataset.primary]}


def make_record(
    example: Example,
    result: RunResult | None,
    scores: dict[str, float],
    wall: float,
    error: dict[str, str] | None,
) -> dict[str, Any]:
    usage = result.usage if result is not None else None
    return {
        "id": example.id,
        "question": example.question,
        "gold": example.gold,
        "prediction": result.answer if result is not None and error is None else "",
        "scores": scores,
        "plans": [p.text for p in result.plans] if result is not None else [],
        "decisions": [
            {
                "round": e.round,
                "decision": e.decision,
                "text": e.text,
                "thought": e.thought,
                "source": e.source,
            }
            for e in (result.events if result is not None else ())
            if isinstance(e, JoinDecided)
        ],
        "calls": [
            {
                "idx": o.idx,
                "tool": o.tool,
                "args": o.args,
                "value": format_value(o.value, VALUE_CHARS) if o.ok else None,
                "error": None if o.ok else f"{o.error_type}: {o.error}",
                "start": o.started_at,
                "end": o.finished_at,
            }
            for o in (result.observations if result is not None else ())
        ],
        "tokens_in": usage.input_tokens if usage else 0,
        "tokens_cached": usage.cached_tokens if usage else 0,
        "tokens_out": usage.output_tokens if usage else 0,
        "model_calls": len(result.model_calls) if result is not None else 0,
        "model_call_times": [
            {
                "purpose": c.purpose,
                "round": c.round,
                "tokens_in": c.usage.input_tokens,
                "tokens_cached": c.usage.cached_tokens,
                "tokens_out": c.usage.output_tokens,
                "first_chunk_s": None
                if c.first_chunk is None
                else round(c.first_chunk - c.started, 4),
                "s": round(c.time - c.started, 4),
            }
            for c in (result.model_calls if result is not None else ())
        ],
        "replans": result.replans if result is not None else 0,
        "wall_s": round(wall, 4),
        "error": error,
    }
