"""What a benchmark dataset gives the eval runner: examples, per-example tools, a scorer.

Every dataset has a fixed `dev` split (for tuning prompts) and a `test` split (for
reporting), chosen by a stable hash of each example's id, so a split never changes when
examples are added or reordered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .._core.result import RunResult
from .._core.tool import Tool

__all__ = ["Dataset", "Example", "GoldScripted", "Split", "split_of"]

Split = Literal["dev", "test"]


@dataclass(frozen=True, slots=True)
class Example:
    """One question of a dataset. `gold` is the reference answer (answer datasets) or the
    reference calls (plan datasets); `meta` holds what the dataset's tools need."""

    id: str
    question: str
    gold: Any
    meta: Mapping[str, Any] = field(default_factory=dict)


class Dataset(Protocol):
    """A benchmark the eval runner can run with any agent and model."""

    name: str
    """Registry name, e.g. `hotpotqa`."""
    kind: Literal["answer", "plan"]
    """`answer` datasets score the final answer; `plan` datasets score the calls made."""
    primary: str
    """The score key shown as running accuracy and in summaries (e.g. `em`)."""

    def examples(self, split: Split) -> Sequence[Example]:
        """The examples of a split, in a fixed order."""
        ...

    def tools(self, example: Example) -> Sequence[Tool]:
        """Fresh tools for one example (they may close over the example's documents)."""
        ...

    def score(self, example: Example, result: RunResult) -> dict[str, float]:
        """Scores of one finished run, each in [0, 1]; must include `primary`."""
        ...


class GoldScripted(Protocol):
    """A dataset that can also give, per example, the model outputs of a correct run
    (`parcall eval --model gold` replays them with a `ScriptedModel`)."""

    def gold_script(self, example: Example) -> list[str]:
        """The planner's and joiner's outputs, in call order, of a run that scores 100 %."""
        ...


def split_of(example_id: str, dev_fraction: float = 0.5) -> Split:
    """The split an id belongs to: a stable hash, independent of order and Python's seed."""
    digest = hashlib.sha256(example_id.encode("utf-8")).digest()
    return "dev" if int.from_bytes(digest[:8], "big") / 2**64 < dev_fraction else "test"
