"""The eval runner: every example of a split, with one agent and one model, written as one
JSON line per example, resumable, summarised at the end.

`run_eval` runs examples on `concurrency` workers in one event loop (one model instance per
worker for in-process llama.cpp models; HTTP models are shared), or fans them out over a Ray
cluster (`ray=`). Records are appended as examples finish, so an interrupted evaluation keeps
what it finished and a second run with the same output folder skips those ids.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio

from .._agent import JoinThought, PlanFormat
from ..models._base import Model
from ._dataset import Dataset, Example, Split
from ._evaluation import (
    EvalConfig,
    Evaluation,
    ModelSource,
    ModelSpec,
    Progress,
    RecordsFile,
    has_gold,
)
from ._ray import run_ray
from ._record import AgentName, run_example
from ._registry import load_dataset

__all__ = ["arun_eval", "execute", "prepare", "run_eval"]


def prepare(
    dataset: str | Dataset,
    *,
    model: ModelSpec = "local",
    model_name: str | None = None,
    out: str | os.PathLike[str] | None = None,
    command: str | None = None,
    **settings: Any,
) -> Evaluation:
    """Check the arguments (`settings` are `EvalConfig`'s), load the dataset, read what is
    done; no model is loaded yet."""
    name = dataset if isinstance(dataset, str) else dataset.name
    if model_name is None:
        model_name = model if isinstance(model, str) else getattr(model, "name", "custom")
    try:
        config = EvalConfig(dataset=name, model=model_name, **settings)
    except TypeError as exc:  # a misspelt keyword
        raise ValueError(str(exc)) from None
    data = load_dataset(dataset) if isinstance(dataset, str) else dataset
    if config.ray is not None and not isinstance(model, str):
        raise ValueError("with ray, give the model as a spec string (workers build their own)")
    if config.ray is not None and not isinstance(dataset, str):
        raise ValueError("with ray, give the dataset by name (workers load their own)")
    if config.ray is not None and model == "gold" and not has_gold(data):
        raise ValueError(f"dataset {name!r} has no gold script for --model gold")
    examples = list(data.examples(config.split))[:: config.every][: config.limit]
    folder = Path(out) if out is not None else _new_folder()
    records = RecordsFile(folder / f"{config.run}.jsonl").load()
    models = (
        ModelSource(model, data, config.concurrency, config.n_ctx) if config.ray is None else None
    )
    return Evaluation(config, data, examples, folder, records, models, command or config.command())


def _new_folder() -> Path:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Path.cwd() / f"eval-{stamp}"


async def run_local(evaluation: Evaluation, progress: Progress) -> None:
    """Run the examples still to do on `concurrency` workers, writing each record."""
    assert evaluation.models is not None
    config = evaluation.config
    todo = evaluation.todo
    pending: Iterator[Example] = iter(todo)  # shared: each example goes to one worker

    async def worker(models: Callable[[Example], Model]) -> None:
        for example in pending:
            record = await run_example(
                evaluation.dataset, example, models(example), config.agent_options()
            )
            evaluation.records.write(record)
            progress.advance(evaluation.primary(record))

    workers = [evaluation.models.new_worker() for _ in range(min(config.concurrency, len(todo)))]
    for model in evaluation.models.to_load:
        load = getattr(model, "load", None)
        if load is not None:
            await load()
    async with anyio.create_task_group() as tg:
        for models in workers:
            tg.start_soon(worker, models)


async def arun_eval(
    dataset: str | Dataset, *, progress: bool = False, **options: Any
) -> dict[str, Any]:
    """`run_eval` inside a running event loop (the same arguments)."""
    return await execute(prepare(dataset, **options), progress=progress)


async def execute(evaluation: Evaluation, *, progress: bool = False) -> dict[str, Any]:
    """Run a prepared evaluation; the summary is written even when it is interrupted."""
    done = [
        evaluation.primary(evaluation.records.records[e.id])
        for e in evaluation.examples
        if e.id in evaluation.records.records
    ]
    bar = Progress(evaluation.config.run, len(evaluation.examples), done, progress)
    try:
        with bar:
            if evaluation.config.ray is not None:
                run_ray(evaluation, bar)  # blocking here, so Ctrl-C reaches it
            else:
                await run_local(evaluation, bar)
    finally:
        evaluation.records.close()
        summary = evaluation.summary()
    return summary


def run_eval(
    dataset: str | Dataset,
    *,
    agent: AgentName = "parcall",
    model: ModelSpec = "local",
    plan_format: PlanFormat = "text",
    constrained: bool | None = None,
    split: Split = "dev",
    limit: int | None = None,
    every: int = 1,
    concurrency: int = 1,
    tool_latency: float = 0.0,
    max_replans: int = 2,
    join_thought: JoinThought = "auto",
    out: str | os.PathLike[str] | None = None,
    ray: str | None = None,
    progress: bool = False,
    model_name: str | None = None,
    sealed: bool = False,
) -> dict[str, Any]:
    """Evaluate `agent` with `model` on a dataset split; returns the summary row.

    ```python
    summary = run_eval("hotpotqa", agent="parcall", model="local:small", limit=5, out="ev")
    print(summary["scores"]["em"], summary["latency_s"]["median"])
    ```

    `every=K` keeps every K-th example of the split (the 1st, the K+1-th, ...) before
    `limit`: a fixed sample spread over the whole split. Records go to `out/<run>.jsonl`
    (ids already there are skipped: run again to resume), the summary to
    `out/summary.json` and `out/summary.md`. `out` defaults to a new folder `eval-<date>`
    in the current directory.
    """
    options = dict(
        agent=agent,
        model=model,
        plan_format=plan_format,
        constrained=constrained,
        split=split,
        limit=limit,
        every=every,
        concurrency=concurrency,
        tool_latency=tool_latency,
        max_replans=max_replans,
        join_thought=join_thought,
        out=out,
        ray=ray,
        model_name=model_name,
        sealed=sealed,
    )
    return anyio.run(lambda: arun_eval(dataset, progress=progress, **options))
