"""`parcall eval`: flags in, `parcall.eval` calls out.

`parcall eval DATASET ...` runs an evaluation (the group's default command, `run`);
`parcall eval compare A B` and `parcall eval summary FILE...` read records back."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.console import Console
from typer.core import TyperGroup

from ._compare import COMPARE_HELP, SUMMARY_HELP, compare_command, summary_command
from ._options import SealedOption

__all__ = ["eval_app", "eval_command"]


def eval_command(
    dataset: Annotated[
        str | None, typer.Argument(help="A dataset name (see --list).", show_default=False)
    ] = None,
    agent: Annotated[str, typer.Option(help="parcall, react or parallel.")] = "parcall",
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="local, local:tiny|small|medium, a .gguf path, openai:MODEL, "
            "http://HOST:PORT/v1#MODEL, or gold (the dataset's reference script).",
        ),
    ] = "local",
    plan_format: Annotated[
        str, typer.Option("--format", help="Plan format of the parcall agent: text, json, tools.")
    ] = "text",
    constrained: Annotated[
        bool | None,
        typer.Option(
            "--constrained/--free", help="Grammar-constrained plans (default: on for local)."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N examples.")] = None,
    split: Annotated[str, typer.Option(help="dev (for tuning) or test (for reporting).")] = "dev",
    concurrency: Annotated[
        int, typer.Option(help="Examples at once (one local model per worker).")
    ] = 1,
    tool_latency: Annotated[
        float, typer.Option(help="Every tool call takes at least this many seconds.")
    ] = 0.0,
    max_replans: Annotated[int, typer.Option(help="New plans the joiner may ask for.")] = 2,
    join_thought: Annotated[
        str,
        typer.Option(
            help="The joiner writes a thought before answering: auto (only to choose between "
            "options the question names), always, restate (a longer one that first restates "
            "the question) or never."
        ),
    ] = "auto",
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for records and summary (default: a new ./eval-DATE)."),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(help="Fan examples out over Ray: a cluster address, or 'local'."),
    ] = None,
    n_ctx: Annotated[
        int | None,
        typer.Option(
            "--n-ctx",
            help="Context size in tokens of a local model (default 4096); raise it for "
            "datasets with long tool lists, such as nestful.",
            show_default=False,
        ),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the datasets and exit.")] = False,
    sealed: SealedOption = False,
) -> None:
    """Score an agent and a model on a dataset: one JSON line per example in OUT, resumable
    (run again with the same --out), and a summary (summary.json, summary.md)."""
    from ..eval import _registry
    from ..eval._runner import execute, prepare

    console = Console(stderr=True)
    if list_:
        names = _registry.dataset_names()
        width = max(map(len, names), default=0)
        for name in names:
            sys.stdout.write(_describe(name, width) + "\n")
        return
    if dataset is None:
        console.print("[red]error:[/red] name a dataset (parcall eval --list shows them)")
        raise typer.Exit(2)
    try:
        evaluation = prepare(
            dataset,
            agent=cast(Any, agent),
            model=model,
            plan_format=cast(Any, plan_format),
            constrained=constrained,
            split=cast(Any, split),
            limit=limit,
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
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    from .._core.errors import ParcallError

    todo = len(evaluation.todo)
    console.print(
        f"{evaluation.config.run}: {len(evaluation.examples)} examples, {todo} to run → "
        f"{evaluation.records.path}"
    )
    import anyio

    status = 0
    try:
        summary = anyio.run(lambda: execute(evaluation, progress=True))
    except (ParcallError, ValueError) as exc:
        console.print(f"[red]error:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    except BaseException as exc:
        if not _interrupted(exc):
            raise
        console.print("[yellow]interrupted: finished records are kept; run again to resume[/]")
        status = 130
        summary = None
    from ..eval._summary import markdown_table

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
