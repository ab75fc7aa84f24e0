"""`parcall eval compare A B` and `parcall eval summary FILE...`: records files read back,
paired or summarised, each mean with its 95 % interval."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..eval._compare import Comparison, MetricComparison, compare_runs
from ..eval._runs import RunRecords, load_run
from ..eval._summary import interval_text, markdown_table, number, summarise

__all__ = ["compare_command", "summary_command"]

RunArgument = Annotated[
    str,
    typer.Argument(
        help="A records file: parcall eval's JSONL, or the reference agents' output as "
        "FILE#AGENT (e.g. reference.jsonl#react).",
        show_default=False,
    ),
]


def _fail(message: object) -> typer.Exit:
    Console(stderr=True).print(
        f"[red]error:[/red] {escape(str(message))}", highlight=False, soft_wrap=True
    )
    return typer.Exit(2)


COMPARE_HELP = (
    "Pair runs A and B on their common examples: per score and cost the means, B − A with "
    "its 95 % paired-bootstrap interval, an exact McNemar test for 0/1 scores, and the "
    "examples that flipped."
)
SUMMARY_HELP = (
    "Summarise records files as the table parcall eval prints: n, each mean score and the "
    "mean seconds with their 95 % intervals."
)


def compare_command(
    a: RunArgument,
    b: RunArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
    flips: Annotated[
        int, typer.Option(help="Flipped examples listed per 0/1 score (all with --json).")
    ] = 10,
) -> None:
    """Pair runs A and B on their common examples: per score and cost the means, B − A with
    its 95 % paired-bootstrap interval, an exact McNemar test for 0/1 scores, and the
    examples that flipped."""
    try:
        comparison = compare_runs(a, b)
    except (OSError, ValueError) as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(comparison.as_dict(), indent=2, ensure_ascii=False))
        return
    show_comparison(comparison, Console(width=max(Console().width, 110)), flips=flips)


def show_comparison(comparison: Comparison, console: Console, *, flips: int = 10) -> None:
    """The comparison as rich text: the runs, the pairing, a table of metrics, the flips."""
    for side, run in (("A", comparison.a), ("B", comparison.b)):
        about = ", ".join(str(run.about[k]) for k in ("agent", "model") if run.about.get(k))
        console.print(
            f"{side}: {escape(run.label)}"
            + (f" ({escape(about)})" if about else "")
            + f", {len(run.records)} records",
            highlight=False,
        )
    dataset = comparison.a.dataset or comparison.b.dataset or "?"
    console.print(
        f"paired: {len(comparison.paired)} examples of {dataset}; only in A: "
        f"{len(comparison.only_in_a)}, only in B: {len(comparison.only_in_b)}",
        highlight=False,
    )
    for side, ids in (("A", comparison.only_in_a), ("B", comparison.only_in_b)):
        if ids:
            shown = ", ".join(ids[:5]) + (", …" if len(ids) > 5 else "")
            console.print(f"  only in {side}: {escape(shown)}", highlight=False)
    table = Table(show_edge=False)
    for column in ("metric", "A", "B", "B − A [95 % CI]", "test", "verdict"):
        table.add_column(column, justify="right" if column in ("A", "B") else "left")
    for m in comparison.metrics:
        table.add_row(m.name, _value(m, m.a), _value(m, m.b), _difference(m), _test(m), m.verdict)
    console.print(table)
    for key, found in comparison.flips.items():
        gained = [f for f in found if f.b > f.a]
        lost = [f for f in found if f.a > f.b]
        console.print(
            f"{key} flipped: {len(gained)} gained (0→1 in B), {len(lost)} lost (1→0)",
            highlight=False,
        )
        for f in [*gained, *lost][:flips]:
            sign = "+" if f.b > f.a else "−"
            console.print(
                f"  {sign} {escape(f.id)}  A: {escape(repr(_cut(f.prediction_a)))}  "
                f"B: {escape(repr(_cut(f.prediction_b)))}\n      {escape(_cut(f.question, 90))}",
                highlight=False,
            )
        if len(found) > flips:
            console.print(f"  … {len(found) - flips} more (--flips N, or --json)")


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_score(m: MetricComparison) -> bool:
    return not m.cost and 0 <= m.a <= 1 and 0 <= m.b <= 1


def _value(m: MetricComparison, x: float) -> str:
    return f"{x:.3f}" if _is_score(m) else number(x)


def _difference(m: MetricComparison) -> str:
    d = m.difference

    def signed(x: float) -> str:
        text = f"{x:.3f}" if _is_score(m) else number(x)
        return text if text.startswith("-") or text == "0" else f"+{text}"

    return f"{signed(d.value)} [{signed(d.low)}, {signed(d.high)}]"


def _test(m: MetricComparison) -> str:
    if m.p_value is not None:
        return f"McNemar p={m.p_value:.2g} (+{m.gained} −{m.lost})"
    if m.ratio is not None:
        return f"B/A {interval_text(m.ratio.value, [m.ratio.low, m.ratio.high])}"
    return "bootstrap"


def summary_command(
    files: Annotated[
        list[str],
        typer.Argument(
            help="Records files: parcall eval's JSONL, or the reference agents' output as "
            "FILE#AGENT.",
            show_default=False,
        ),
    ],
    split: Annotated[
        str | None,
        typer.Option(help="Only the examples of this split (dev or test).", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Summarise records files as the table `parcall eval` prints: n, each mean score and
    the mean seconds with their 95 % intervals."""
    if split not in (None, "dev", "test"):
        raise _fail(f"unknown split {split!r}: choose dev or test")
    try:
        runs = [load_run(f) for f in files]
    except (OSError, ValueError) as exc:
        raise _fail(exc) from None
    rows = [summary_row(r, split) for r in runs]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    typer.echo(markdown_table(rows))


def summary_row(run: RunRecords, split: str | None = None) -> dict[str, Any]:
    """The summary of one run's records (of one split when given), labelled by its file."""
    from ..eval._dataset import split_of

    if split is not None:
        run = run.only({i for i in run.records if split_of(i) == split})
    about = dict(run.about)
    row = summarise(
        list(run.records.values()),
        run=run.label,
        dataset=run.dataset or about.get("dataset") or "?",
        split=run.split,
        agent=about.get("agent", "?"),
        model=about.get("model", "?"),
        format=about.get("format"),
        primary=run.primary,
        records_file=run.label,
        command=about.get("command", "–"),
    )
    row["machine"] = about.get("machine")  # where the records were made, not this machine
    row["date"] = about.get("date", "–")
    return row
