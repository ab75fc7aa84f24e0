"""`parcall bench simulated|micro|passes`: the benchmarks, figures written to --out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._errors import fail

__all__ = ["bench_app"]

bench_app = typer.Typer(
    help="Benchmarks: simulated workloads and engine figures.", no_args_is_help=True
)

OUT_HELP = (
    "Folder for the figures (default: a new parcall-bench-DATE-TIME folder here; "
    "the published ones are refreshed only with --out bench/results)."
)


def _out_dir(out: Path | None) -> Path:
    from ..bench import new_out_dir

    return out if out is not None else new_out_dir()


def _check_backend(backend: str) -> None:
    if backend not in ("asyncio", "trio"):
        raise fail(f"--backend must be asyncio or trio, not {backend!r}")


@bench_app.command("simulated")
def bench_simulated(
    workloads: Annotated[
        str | None,
        typer.Option(help="Comma-separated workload names (default: all)."),
    ] = None,
    repeats: Annotated[int, typer.Option(help="Runs per workload and agent.")] = 3,
    out: Annotated[Path | None, typer.Option(help=OUT_HELP)] = None,
    peers: Annotated[
        Path, typer.Option(help="The peers' figures to show next to parcall's (read only).")
    ] = Path("bench/results/peers.json"),
    timelines: Annotated[bool, typer.Option(help="Draw a timeline per workload.")] = True,
    backend: Annotated[str, typer.Option(help="asyncio or trio.")] = "asyncio",
) -> None:
    """parcall, parallel tool calling and ReAct on scripted workloads, against the critical
    path (and the peers' figures from --peers when present)."""
    from ..bench import run_simulated, suite

    _check_backend(backend)
    if repeats < 1:
        raise fail(f"--repeats must be at least 1, not {repeats}")
    try:
        chosen = suite(workloads.split(",") if workloads else None)
    except KeyError as exc:
        raise fail(exc.args[0]) from None
    report = run_simulated(
        [w.name for w in chosen],
        repeats=repeats,
        out_dir=_out_dir(out),
        peers=peers,
        timelines=timelines,
        backend=backend,
    )
    typer.echo(report.table())  # markdown: printed as it is, not wrapped
    typer.echo("wrote: " + ", ".join(str(f) for f in report.files))


@bench_app.command("micro")
def bench_micro(
    sizes: Annotated[str, typer.Option(help="Plan sizes, comma-separated.")] = "1000,10000,100000",
    concurrent_runs: Annotated[int, typer.Option(help="Runs at once in one process.")] = 1000,
    out: Annotated[Path | None, typer.Option(help=OUT_HELP)] = None,
    backend: Annotated[str, typer.Option(help="asyncio or trio.")] = "asyncio",
    profile: Annotated[
        bool, typer.Option(help="Also write a cProfile summary (micro_profile.txt).")
    ] = False,
) -> None:
    """Engine figures: dispatch delay, overhead per task, large plans (engine alone and end
    to end through Agent.run), concurrent runs."""
    from ..bench import run_micro

    _check_backend(backend)
    try:
        plan_sizes = tuple(int(s) for s in sizes.split(","))
    except ValueError:
        raise fail(f"--sizes {sizes!r}: write whole numbers separated by commas") from None
    if any(n < 1 for n in plan_sizes) or concurrent_runs < 0:
        raise fail("--sizes must be positive and --concurrent-runs at least 0")
    report = run_micro(
        plan_sizes,
        concurrent_runs=concurrent_runs,
        out_dir=_out_dir(out),
        backend=backend,
        profile=profile,
    )
    typer.echo(report.table())  # markdown: printed as it is, not wrapped
    typer.echo("wrote: " + ", ".join(str(f) for f in report.files))


@bench_app.command("passes")
def bench_passes(
    cases: Annotated[
        str | None,
        typer.Option(help="Comma-separated pass cases (default: all)."),
    ] = None,
    repeats: Annotated[int, typer.Option(help="Runs per case and setting (median).")] = 3,
    out: Annotated[Path | None, typer.Option(help=OUT_HELP)] = None,
    backend: Annotated[str, typer.Option(help="asyncio or trio.")] = "asyncio",
) -> None:
    """Each plan pass off and on, on a workload built for it (see docs/compiler.md)."""
    from ..bench import run_passes

    _check_backend(backend)
    try:
        report = run_passes(
            cases.split(",") if cases else None,
            repeats=repeats,
            out_dir=_out_dir(out),
            backend=backend,
        )
    except ValueError as exc:
        raise fail(exc) from None
    typer.echo(report.table())  # markdown: printed as it is, not wrapped
    typer.echo("wrote: " + ", ".join(str(f) for f in report.files))
