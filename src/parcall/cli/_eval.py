"""`parcall eval`: flags in, `parcall.eval` calls out.

`parcall eval DATASET ...` runs an evaluation (the group's default command, `run`);
`parcall eval compare A B` and `parcall eval summary FILE...` read records back."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import anyio
import typer
from rich.console import Console
from typer.core import TyperGroup

from .._core.errors import ParcallError
from ._compare import COMPARE_HELP, SUMMARY_HELP, compare_command, summary_command
from ._errors import fail
from ._options import (
    EvalFormatOption,
    EvalModelOption,
    LocalConstrainedOption,
    MaxReplansOption,
    SealedOption,
)

if TYPE_CHECKING:
    from ..eval._evaluation import Evaluation

__all__ = ["eval_app", "eval_command"]


AgentOption = Annotated[str, typer.Option(help="parcall, react or parallel.")]
DatasetArgument = Annotated[
    str | None, typer.Argument(help="A dataset name (see --list).", show_default=False)
]
LimitOption = Annotated[int | None, typer.Option(help="Only the first N examples.")]
EveryOption = Annotated[
    int,
    typer.Option(
        help="Only every K-th example of the split (the 1st, the K+1-th, ...), before "
        "--limit: a fixed sample spread over the whole split."
    ),
]
SplitOption = Annotated[str, typer.Option(help="dev (for tuning) or test (for reporting).")]
ConcurrencyOption = Annotated[
    int, typer.Option(help="Examples at once (one local model per worker).")
]
ToolLatencyOption = Annotated[
    float, typer.Option(help="Every tool call takes at least this many seconds.")
]
JoinThoughtOption = Annotated[
    str,
    typer.Option(
        help="The joiner writes a thought before answering: auto (only to choose between "
        "options the question names), always, restate (a longer one that first restates "
        "the question) or never."
    ),
]
OutOption = Annotated[
    Path | None,
    typer.Option(help="Folder for records and summary (default: a new ./eval-DATE)."),
]
RayOption = Annotated[
    str | None,
    typer.Option(help="Fan examples out over Ray: a cluster address, or 'local'."),
]
NCtxOption = Annotated[
    int | None,
    typer.Option(
        "--n-ctx",
        help="Context size in tokens of a local model (default 4096); raise it for "
        "datasets with long tool lists, such as nestful.",
        show_default=False,
    ),
]
ListOption = Annotated[bool, typer.Option("--list", help="List the datasets and exit.")]


def eval_command(
    dataset: DatasetArgument = None,
    agent: AgentOption = "parcall",
    model: EvalModelOption = "local",
    plan_format: EvalFormatOption = "text",
    constrained: LocalConstrainedOption = None,
    limit: LimitOption = None,
    every: EveryOption = 1,
    split: SplitOption = "dev",
    concurrency: ConcurrencyOption = 1,
    tool_latency: ToolLatencyOption = 0.0,
    max_replans: MaxReplansOption = 2,
    join_thought: JoinThoughtOption = "auto",
    out: OutOption = None,
    ray: RayOption = None,
    n_ctx: NCtxOption = None,
    list_: ListOption = False,
    sealed: SealedOption = False,
) -> None:
    """Score an agent and a model on a dataset: one JSON line per example in OUT, resumable
    (run again with the same --out), and a summary (summary.json, summary.md)."""
    from ..eval._runner import prepare

    if list_:
        _list_datasets()
        return
    if dataset is None:
        raise fail("name a dataset (parcall eval --list shows them)")
    try:
        evaluation = prepare(
            dataset,
            agent=cast(Any, agent),
            model=model,
            plan_format=cast(Any, plan_format),
            constrained=constrained,
            split=cast(Any, split),
            limit=limit,
            every=every,
            concurrency=concurrency,
            tool_latency=tool_latency,
            max_replans=max_replans,
            join_thought=cast(Any, join_thought),
            out=out,
            ray=ray,
            n_ctx=n_ctx,
            sealed=sealed,
        )
    except (ValueError, ImportError) as exc:
        raise fail(exc) from None
    _score(evaluation)


def _list_datasets() -> None:
    from ..eval import _registry

    names = _registry.dataset_names()
    width = max(map(len, names), default=0)
    for name in names:
        sys.stdout.write(_describe(name, width) + "\n")


def _score(evaluation: Evaluation) -> None:
    """Run the examples still to do, then print the summary table and where the files are;
    Ctrl-C keeps the finished records (exit 130)."""
    from ..eval._runner import execute
    from ..eval._summary import markdown_table

    console = Console(stderr=True)
    todo = len(evaluation.todo)
    console.print(
        f"{evaluation.config.run}: {len(evaluation.examples)} examples, {todo} to run → "
        f"{evaluation.records.path}"
    )
    status = 0
    try:
        summary = anyio.run(lambda: execute(evaluation, progress=True))
    except (ParcallError, ValueError) as exc:
        raise fail(f"{type(exc).__name__}: {exc}", 1) from None
    except BaseException as exc:
        if not _interrupted(exc):
            raise
        console.print("[yellow]interrupted: finished records are kept; run again to resume[/]")
        status = 130
        summary = None
    rows = [summary] if summary is not None else []
    if rows:
        typer.echo(markdown_table(rows))
    typer.echo(f"wrote: {evaluation.records.path}, {evaluation.out / 'summary.md'}")
    if status:
        raise typer.Exit(status)


def _interrupted(exc: BaseException) -> bool:
    """Ctrl-C, also when it reached a worker and comes wrapped in an exception group."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    inner = getattr(exc, "exceptions", None) or ()
    return bool(inner) and all(_interrupted(e) for e in inner)


def _describe(name: str, width: int = 12) -> str:
    """`name  kind  primary score  split sizes`, or why the dataset cannot load here."""
    from ..eval._registry import load_dataset

    try:
        data = load_dataset(name)
        sizes = f"dev {len(data.examples('dev'))}, test {len(data.examples('test'))}"
    except Exception as exc:  # a missing extra: say so, list the others
        return f"{name:<{width}}  unavailable: {exc}"
    return f"{name:<{width}}  {data.kind:<7} primary={data.primary:<8} {sizes}"


class _EvalGroup(TyperGroup):
    """Arguments that name no subcommand go to `run`, so `parcall eval hotpotqa ...` and
    `parcall eval --list` work as they always have."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] != "--help"):
            args = ["run", *args]
        return list(super().parse_args(ctx, args))


eval_app = typer.Typer(
    cls=_EvalGroup,
    add_completion=False,
    help="Score agents on datasets (parcall eval DATASET ...), compare two runs' records "
    "(parcall eval compare A B), summarise records files (parcall eval summary FILE...).",
)
eval_app.command(
    "run",
    help="Score an agent and a model on a dataset (the default: "
    "parcall eval DATASET is parcall eval run DATASET).",
)(eval_command)
eval_app.command("compare", help=COMPARE_HELP)(compare_command)
eval_app.command("summary", help=SUMMARY_HELP)(summary_command)
