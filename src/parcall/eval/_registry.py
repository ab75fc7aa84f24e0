"""Dataset names → factories: what `parcall eval NAME` and `load_dataset(NAME)` know."""

from __future__ import annotations

from collections.abc import Callable

from ._agentdojo import agentdojo_datasets
from ._dataset import Dataset
from ._plan_datasets import PLAN_DATASETS

__all__ = ["DATASETS", "dataset_names", "load_dataset", "register_dataset"]


def _hotpotqa() -> Dataset:
    from ._hotpotqa import HotpotQA

    return HotpotQA()


def _fanoutqa() -> Dataset:
    from ._fanoutqa import FanOutQA

    return FanOutQA()


DATASETS: dict[str, Callable[[], Dataset]] = {
    "hotpotqa": _hotpotqa,
    "fanoutqa": _fanoutqa,
    **PLAN_DATASETS,
    **agentdojo_datasets(),
}
"""Every known dataset; a factory builds it with its default settings (imports are lazy,
so listing names loads nothing)."""


def register_dataset(name: str, factory: Callable[[], Dataset]) -> None:
    """Make `factory` known as `name` (e.g. a dataset of your own, for `run_eval`)."""
    if name in DATASETS:
        raise ValueError(f"a dataset named {name!r} is already registered")
    DATASETS[name] = factory


def dataset_names() -> list[str]:
    return sorted(DATASETS)


def load_dataset(name: str) -> Dataset:
    """The dataset registered as `name`; a `ValueError` lists the known names otherwise."""
    factory = DATASETS.get(name)
    if factory is None:
        raise ValueError(f"unknown dataset {name!r}: choose one of {', '.join(dataset_names())}")
    return factory()
