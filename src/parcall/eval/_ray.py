"""Fan an evaluation's examples out over a Ray cluster (the `ray` extra): one actor per
worker, each with its own dataset and model, producing the same records as the local runner."""

from __future__ import annotations

from typing import Any

import anyio

from .._core.extras import require
from ._dataset import Example
from ._evaluation import EvalConfig, Evaluation, ModelSource, Progress
from ._record import run_example
from ._registry import load_dataset

__all__ = ["run_ray"]


def _ray() -> Any:
    return require("ray", needed_for="--ray")


class EvalWorker:
    """One Ray actor: loads the dataset by name and its own model, runs examples."""

    def __init__(self, config: EvalConfig) -> None:
        self.config = config
        self.dataset = load_dataset(config.dataset)
        source = ModelSource(config.model, self.dataset, config.concurrency, config.n_ctx)
        self.models = source.new_worker()
        for model in source.to_load:
            load = getattr(model, "load", None)
            if load is not None:
                anyio.run(load)

    def run(self, example: Example) -> dict[str, Any]:
        config = self.config

        async def one() -> dict[str, Any]:
            return await run_example(
                self.dataset, example, self.models(example), config.agent_options()
            )

        return anyio.run(one)


def run_ray(evaluation: Evaluation, progress: Progress) -> None:
    """Run the examples still to do on `concurrency` actors, writing records as they come.

    `config.ray` is a cluster address, or `local` for a cluster started here (and stopped at
    the end). An already initialised Ray (`ray.init(...)` by the caller) is used as it is.
    """
    ray = _ray()
    config = evaluation.config
    todo = evaluation.todo
    if not todo:
        return
    workers = min(config.concurrency, len(todo))
    started = not ray.is_initialized()
    if started:
        address = None if config.ray == "local" else config.ray
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    actors: list[Any] = []
    try:
        cpus = ray.cluster_resources().get("CPU", 0)
        if cpus < workers:
            raise ValueError(
                f"the Ray cluster has {cpus:g} CPU(s) for {workers} workers: "
                "lower --concurrency or add nodes"
            )
        actor = ray.remote(num_cpus=1, scheduling_strategy="SPREAD")(EvalWorker)
        actors = [actor.remote(config) for _ in range(workers)]
        pool = ray.util.ActorPool(actors)
        for record in pool.map_unordered(lambda a, example: a.run.remote(example), todo):
            evaluation.records.write(record)
            progress.advance(evaluation.primary(record))
    finally:
        for a in actors:
            ray.kill(a)
        if started:
            ray.shutdown()
