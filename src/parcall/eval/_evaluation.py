"""One evaluation's parts: what it runs (`EvalConfig`), where each worker's model comes
from, the records file it appends to and its progress bar. The local runner and the Ray
runner both run an `Evaluation`."""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, get_args

from .._core.settings import JoinPolicy, JoinThought, PlanFormat, Settings
from ..models._base import Model
from ..models._resolve import is_local_spec, resolve_model
from ..models._scripted import ScriptedModel
from ._dataset import Dataset, Example, Split
from ._record import AGENTS, AgentName, AgentOptions
from ._summary import merge_summary, summarise

__all__ = [
    "SCRIPTED",
    "EvalConfig",
    "Evaluation",
    "ModelSource",
    "ModelSpec",
    "Progress",
    "RecordsFile",
    "has_gold",
    "model_slug",
]

ModelSpec = str | Model | Callable[[Example], Model]
"""A spec string as `parcall run` takes (`local`, `local:small`, a `.gguf` path,
`http://host:port/v1#model`, `openai:model`) or `gold`; a `Model`; or a function giving a
model per example (e.g. a `ScriptedModel` with that example's script)."""


@dataclass(frozen=True)
class EvalConfig:
    """What one evaluation runs; validated before any data or model is loaded."""

    dataset: str
    agent: AgentName = "parcall"
    model: str = "local"
    """The model's spec or name (names the records file)."""
    plan_format: PlanFormat = "text"
    constrained: bool | None = None
    """Grammar-constrained plans (parcall agent); None: on for local models."""
    split: Split = "dev"
    limit: int | None = None
    every: int = 1
    """Only every `every`-th example of the split (its 1st, `every`+1-th, ...), before
    `limit`: a fixed sample spread over the whole split."""
    concurrency: int = 1
    tool_latency: float = 0.0
    max_replans: int = 2
    join_thought: JoinThought = "auto"
    ray: str | None = None
    n_ctx: int | None = None
    """Context size of an in-process (llama.cpp) model; None: the backend's default."""
    sealed: bool = False
    """The parcall agent runs under the sealed policy (`Agent(policy="sealed")`)."""

    def __post_init__(self) -> None:
        if self.agent not in AGENTS:
            raise ValueError(f"unknown agent {self.agent!r}: choose one of {', '.join(AGENTS)}")
        if self.split not in get_args(Split):
            raise ValueError(f"unknown split {self.split!r}: choose dev or test")
        if self.plan_format not in get_args(PlanFormat):
            raise ValueError(f"unknown format {self.plan_format!r}: choose text, json or tools")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be at least 1, not {self.limit}")
        if self.every < 1:
            raise ValueError(f"every must be at least 1, not {self.every}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {self.concurrency}")
        if self.tool_latency < 0:
            raise ValueError(f"tool latency must be >= 0 seconds, not {self.tool_latency}")
        if self.max_replans < 0:
            raise ValueError(f"max replans must be >= 0, not {self.max_replans}")
        if self.join_thought not in get_args(JoinThought):
            raise ValueError(
                f"unknown join thought {self.join_thought!r}: choose auto, always, restate or never"
            )
        if self.n_ctx is not None and self.n_ctx < 256:
            raise ValueError(f"n_ctx must be at least 256 tokens, not {self.n_ctx}")

    def agent_options(self) -> AgentOptions:
        """How each example's agent is built."""
        return AgentOptions(
            agent=self.agent,
            settings=self.settings,
            tool_latency=self.tool_latency,
            sealed=self.sealed,
        )

    @property
    def settings(self) -> Settings:
        """The parcall agent's run options, `constrained` resolved for the model. The gold
        script answers from the dataset's labels, not from results: its numbers are not
        checked against them."""
        return Settings(
            plan_format=self.plan_format,
            constrained=self.grammar,
            max_replans=self.max_replans,
            join=JoinPolicy(thought=self.join_thought, check_numbers=self.model != "gold"),
        )

    @property
    def grammar(self) -> bool:
        """Whether plans are constrained: `Settings.constrained_for` the model the spec
        names (of those, only the embedded llama.cpp models take a grammar)."""
        named = _Named(supports_grammar=is_local_spec(self.model))
        return Settings(constrained=self.constrained).constrained_for(named)

    @property
    def run(self) -> str:
        """The records file's stem: `dataset.split.agent.model[.format][.latency-Ss]...`."""
        parts = [self.dataset, self.split, self.agent, model_slug(self.model)]
        if self.agent == "parcall":
            parts.append(self.plan_format + ("-constrained" if self.grammar else ""))
            if self.max_replans != 2:
                parts.append(f"replans-{self.max_replans}")
            if self.join_thought != "auto":
                parts.append(f"thought-{self.join_thought}")
            if self.sealed:
                parts.append("sealed")
        if self.tool_latency > 0:
            parts.append(f"latency-{self.tool_latency:g}s")
        return ".".join(parts)

    def command(self) -> str:
        """The `parcall eval` command that reproduces this evaluation (without `--out`)."""
        args = ["parcall", "eval", self.dataset, "--agent", self.agent, "--model", self.model]
        if self.agent == "parcall":
            args += ["--format", self.plan_format]
            args += ["--constrained" if self.grammar else "--free"]
            args += ["--max-replans", str(self.max_replans)]
            if self.join_thought != "auto":
                args += ["--join-thought", self.join_thought]
            if self.sealed:
                args.append("--sealed")
        args += ["--split", self.split]
        if self.every != 1:
            args += ["--every", str(self.every)]
        if self.limit is not None:
            args += ["--limit", str(self.limit)]
        if self.concurrency != 1:
            args += ["--concurrency", str(self.concurrency)]
        if self.tool_latency:
            args += ["--tool-latency", f"{self.tool_latency:g}"]
        if self.ray:
            args += ["--ray", self.ray]
        if self.n_ctx is not None:
            args += ["--n-ctx", str(self.n_ctx)]
        return shlex.join(args)


@dataclass(frozen=True)
class _Named:
    """What the run options need to know of the model a spec names, before it is made."""

    supports_grammar: bool


def model_slug(spec: str) -> str:
    """A file-name-safe name for a model spec (`local:small` → `local-small`)."""
    if spec.lower().endswith(".gguf"):
        spec = Path(spec).stem
    return re.sub(r"[^A-Za-z0-9._-]+", "-", spec).strip("-.") or "model"


SCRIPTED = ("gold", "gullible")
"""Model specs a dataset plays itself: its reference script, its worst-case model."""


def has_gold(dataset: Dataset) -> bool:
    return callable(getattr(dataset, "gold_script", None))


class ModelSource:
    """Where each worker's model comes from: one per worker for in-process models, one
    shared for HTTP models, one per example for `gold` and model functions."""

    def __init__(
        self, spec: ModelSpec, dataset: Dataset, concurrency: int = 1, n_ctx: int | None = None
    ) -> None:
        self.spec = spec
        self.dataset = dataset
        self.concurrency = concurrency
        self.n_ctx = n_ctx
        self._shared: Model | None = None
        self.to_load: list[Model] = []
        """In-process models made for workers, to load before the first example (so a model
        that cannot load stops the run instead of failing every example)."""
        if isinstance(spec, str) and spec not in SCRIPTED and not is_local_spec(spec):
            self._shared = resolve_model(spec)  # a bad spec fails here, before any loading
        if spec == "gold" and not has_gold(dataset):
            raise ValueError(
                f"dataset {getattr(dataset, 'name', '?')!r} has no gold script; "
                "--model gold needs a dataset with gold_script()"
            )
        if spec == "gullible" and not callable(getattr(dataset, "gullible_model", None)):
            raise ValueError(
                f"dataset {getattr(dataset, 'name', '?')!r} has no gullible model; "
                "--model gullible is for the AgentDojo datasets"
            )

    def new_worker(self) -> Callable[[Example], Model]:
        spec = self.spec
        if spec == "gold":
            script: Callable[[Example], list[str]] = self.dataset.gold_script  # type: ignore[attr-defined]
            return lambda example: ScriptedModel(script(example), name="gold")
        if spec == "gullible":
            gullible: Callable[[Example], Model] = self.dataset.gullible_model  # type: ignore[attr-defined]
            return gullible
        if isinstance(spec, str):
            if self._shared is not None:
                shared = self._shared
                return lambda example: shared
            threads = max(1, (os.cpu_count() or 1) // self.concurrency)
            options: dict[str, object] = {"n_threads": threads}
            if self.n_ctx is not None:
                options["n_ctx"] = self.n_ctx
            own = resolve_model(spec, **options)
            self.to_load.append(own)
            return lambda example: own
        if isinstance(spec, Model):
            return lambda example: spec
        return spec


@dataclass
class RecordsFile:
    """The JSONL records of one run: what is done (ids), and appending as examples finish."""

    path: Path
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    _file: TextIO | None = None

    def load(self) -> RecordsFile:
        if not self.path.exists():
            return self
        lines = self.path.read_text(encoding="utf-8").splitlines()
        kept: list[str] = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut short by an interruption: that example runs again
            if isinstance(record, dict) and "id" in record:
                self.records[str(record["id"])] = record
                kept.append(line)
        if len(kept) != len(lines):
            self.path.write_text("".join(f"{k}\n" for k in kept), encoding="utf-8")
        return self

    def write(self, record: Mapping[str, Any]) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._file.flush()
        self.records[str(record["id"])] = dict(record)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class Progress:
    """A rich progress bar on stderr with the running primary score and an ETA."""

    def __init__(self, title: str, total: int, done: Sequence[float], enabled: bool) -> None:
        self.scores = list(done)
        self._bar: Any = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        self._bar = Bar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[score]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._task = self._bar.add_task(title, total=total, completed=len(done), score=self._text())

    def _text(self) -> str:
        if not self.scores:
            return "–"
        return f"{100 * sum(self.scores) / len(self.scores):.1f} %"

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, score: float) -> None:
        self.scores.append(score)
        if self._bar is not None:
            self._bar.update(self._task, advance=1, score=self._text())


@dataclass
class Evaluation:
    """One prepared evaluation: the examples still to run, where records go."""

    config: EvalConfig
    dataset: Dataset
    examples: Sequence[Example]
    out: Path
    records: RecordsFile
    models: ModelSource | None
    command: str

    @property
    def todo(self) -> list[Example]:
        return [e for e in self.examples if e.id not in self.records.records]

    def primary(self, record: Mapping[str, Any]) -> float:
        return float(record["scores"].get(self.dataset.primary, 0.0))

    def summary(self) -> dict[str, Any]:
        """Summarise the records of this run's examples, merged into OUT/summary.*."""
        ids = {e.id for e in self.examples}
        chosen = [r for i, r in self.records.records.items() if i in ids]
        row = summarise(
            chosen,
            run=self.config.run,
            dataset=self.config.dataset,
            split=self.config.split,
            agent=self.config.agent,
            model=self.config.model,
            format=self.config.plan_format if self.config.agent == "parcall" else None,
            constrained=self.config.grammar if self.config.agent == "parcall" else None,
            settings=self.config.settings.model_dump(mode="json")
            if self.config.agent == "parcall"
            else None,
            primary=self.dataset.primary,
            dataset_settings=getattr(self.dataset, "settings", None),
            tool_latency_s=self.config.tool_latency,
            records_file=self.records.path.name,
            command=self.command,
        )
        if chosen:  # a run stopped before its first record leaves earlier summaries alone
            merge_summary(self.out, row)
        return row
