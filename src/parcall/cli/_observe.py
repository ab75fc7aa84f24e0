"""`parcall trace show|view` and `parcall runs list|show|view`."""

from __future__ import annotations

import datetime
import json
import webbrowser
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from ..observe._page import write_page
from ..observe._runlog import RunLog
from ._errors import fail
from ._run import run

__all__ = ["runs_app", "trace_app"]


class _ShowByDefault(TyperGroup):
    """`parcall trace FILE` still means `parcall trace show FILE`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # click's or typer's Context
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


trace_app = typer.Typer(
    cls=_ShowByDefault,
    help="Read a JSONL trace: `show` summarises it (the default), `view` writes its page.",
    no_args_is_help=True,
)
runs_app = typer.Typer(
    help="Logged runs (`parcall run --log`): list them, show one, write its page; and "
    "`resume` for runs of `parcall run --durable` that stopped.",
    no_args_is_help=True,
)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="The run log (default: $PARCALL_RUNS_DB or ~/.local/share)."),
]


def _read_trace(file: Path) -> list[dict[str, Any]]:
    try:
        rows = [
            json.loads(line)
            for line in file.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read {file}: {exc}", 1) from None
    if not all(isinstance(r, dict) and "kind" in r and "time" in r for r in rows):
        raise fail(f"{file} is not a parcall trace (each line must be an event with a kind)", 1)
    return rows


def _task_table(rows: list[dict[str, Any]]) -> Table:
    table = Table("#", "tool", "status", "start", "end", "result")
    for row in rows:
        if row.get("kind") in ("task_finished", "task_failed"):
            obs = row["observation"]
            start = obs.get("started_at")
            table.add_row(
                str(obs["idx"]),
                obs["tool"],
                obs["status"],
                "" if start is None else f"{start:.3f}",
                f"{obs['finished_at']:.3f}",
                str(obs.get("value") if obs["status"] == "done" else obs.get("error"))[:60],
            )
    return table


@trace_app.command("show")
def trace_show(
    file: Annotated[Path, typer.Argument(help="A JSONL trace from `parcall run --trace`.")],
    html: Annotated[Path | None, typer.Option(help="Write a timeline as HTML.")] = None,
    png: Annotated[Path | None, typer.Option(help="Write a timeline as PNG (matplotlib).")] = None,
) -> None:
    """Summarise a trace: tasks with their times and results; optionally draw its timeline."""
    rows = _read_trace(file)
    console = Console()
    console.print(_task_table(rows))
    answers = [r["answer"] for r in rows if r.get("kind") == "answered"]
    if answers:
        console.print(f"answer: {answers[-1]}")
    if html or png:
        from ..bench import timeline_from_events, write_html, write_png

        timeline = timeline_from_events(rows, title=file.name)
        if html:
            write_html([timeline], html, title=file.name)
        if png:
            write_png([timeline], png, title=file.name)


OutOption = Annotated[
    Path | None, typer.Option("--out", "-o", help="Where to write the page (default: beside).")
]
OpenOption = Annotated[bool, typer.Option("--open", help="Open the page in a browser.")]


def _written(path: Path, open_it: bool) -> None:
    typer.echo(str(path))
    if open_it:
        webbrowser.open(path.resolve().as_uri())


@trace_app.command("view")
def trace_view(
    file: Annotated[Path, typer.Argument(help="A JSONL trace from `parcall run --trace`.")],
    out: OutOption = None,
    open_it: OpenOption = False,
) -> None:
    """Write the trace's page: timeline, plan DAG, tasks with arguments and results, tokens."""
    rows = _read_trace(file)
    target = out or file.with_suffix(".html")
    _written(write_page(rows, target, title=f"parcall trace {file.name}"), open_it)


def _log(db: Path | None) -> RunLog:
    try:
        return RunLog(db)
    except Exception as exc:  # sqlite3 errors: not a database, unwritable folder
        raise fail(f"cannot open the run log {db or ''}: {exc}", 1) from None


def _when(started: float) -> str:
    return datetime.datetime.fromtimestamp(started).strftime("%Y-%m-%d %H:%M:%S")


@runs_app.command("list")
def runs_list(
    db: DbOption = None,
    limit: Annotated[int, typer.Option(help="How many of the newest runs.")] = 20,
) -> None:
    """The newest logged runs."""
    table = Table("id", "when", "model", "request", "answer", "tasks", "tokens", "time")
    for r in _log(db).list(limit=limit):
        shown = r.answer if r.error is None else f"[red]{r.error}[/red]"
        table.add_row(
            str(r.id),
            _when(r.started),
            r.model,
            r.request[:40],
            (shown or "")[:40],
            str(r.tasks),
            f"{r.input_tokens}/{r.output_tokens}",
            f"{r.duration:.2f} s",
        )
    Console().print(table)


def _get(db: Path | None, run_id: int) -> Any:
    try:
        return _log(db).get(run_id)
    except KeyError as exc:
        raise fail(str(exc.args[0]), 1) from None


@runs_app.command("show")
def runs_show(
    run_id: Annotated[int, typer.Argument(help="The run's id (see `parcall runs list`).")],
    db: DbOption = None,
) -> None:
    """One run: request, answer, tasks."""
    run = _get(db, run_id)
    console = Console()
    console.print(f"run {run.id} · {_when(run.started)} · {run.model} · {run.duration:.3f} s")
    console.print(f"request: {run.request}")
    console.print(_task_table(list(run.events)))
    console.print(f"answer: {run.answer}" if run.error is None else f"error: {run.error}")
    console.print(f"tokens: {run.input_tokens} in, {run.output_tokens} out")


@runs_app.command("view")
def runs_view(
    run_id: Annotated[int, typer.Argument(help="The run's id (see `parcall runs list`).")],
    db: DbOption = None,
    out: OutOption = None,
    open_it: OpenOption = False,
) -> None:
    """Write one run's page (as `parcall trace view` does for a trace file)."""
    run = _get(db, run_id)
    target = out or Path(f"parcall-run-{run.id}.html")
    page = write_page(run.events, target, title=f"parcall run {run.id}", request=run.request)
    _written(page, open_it)


@runs_app.command("resume")
def runs_resume(
    run_id: Annotated[
        str | None,
        typer.Argument(help="A run of `parcall run --durable`; none: list the unfinished ones."),
    ] = None,
    journal: Annotated[
        Path | None,
        typer.Option(help="The journal (default: $PARCALL_JOURNAL or ~/.local/share)."),
    ] = None,
) -> None:
    """Finish a run of `parcall run --durable` that stopped: what its journal holds (model
    outputs, finished tool calls) is not done again. Tools that act and were running are
    reported, not repeated."""
    import anyio

    from .._core.settings import Settings
    from ..store._runs import SQLiteRunStore, default_journal_path

    path = journal or default_journal_path()
    if not path.is_file():
        raise fail(f"there is no journal at {path} (runs are journaled with --durable)", 1)
    store = SQLiteRunStore(path)
    try:
        if run_id is None:
            _list_unfinished(anyio.run(lambda: store.runs(status="running")))
            return
        stored = anyio.run(store.get, run_id)
    finally:
        store.close()
    if stored is None:
        raise fail(f"the journal {path} has no run {run_id!r}", 1)
    if stored.meta.get("started_by") != "parcall run":
        raise fail(
            f"run {run_id!r} was not started by `parcall run --durable`, so its tools are not "
            "known here: resume it in Python with agent.resume(run_id) and the same tools",
            1,
        )
    if stored.status == "done":
        Console(stderr=True).print(f"[dim]run {run_id} had finished; its answer again:[/dim]")
    options = {k: v for k, v in stored.meta.items() if k in _RUN_OPTIONS}
    if isinstance(stored.meta.get("settings"), dict):  # older runs kept these three flat
        try:
            chosen = Settings.model_validate(stored.meta["settings"])
        except ValueError as exc:
            message = f"run {run_id!r} was journaled with settings parcall cannot read: {exc}"
            raise fail(message, 1) from None
        options.update(
            plan_format=chosen.plan_format,
            constrained=chosen.constrained,
            max_replans=chosen.max_replans,
        )
    run(question=stored.request, resume_id=run_id, journal_path=path, **options)


_RUN_OPTIONS = (
    "model",
    "tools",
    "plan_format",
    "constrained",
    "max_replans",
    "mcp",
    "openapi",
    "sealed",
    "calculator",
)
"""What `parcall run --durable` keeps with a run, to build the same agent again."""


def _list_unfinished(runs: list[Any]) -> None:
    console = Console()
    if not runs:
        console.print("no unfinished runs")
        return
    table = Table("id", "started", "request")
    for stored in runs:
        table.add_row(stored.id, _when(stored.started), stored.request[:80])
    console.print(table)
