"""What `parcall run` says, and exits with, when an answer lacks something.

A script reads the exit code; a person reads the `status:` line under the answer, which
names each task that failed, was refused or was not made.

| code | meaning |
|---:|---|
| 0 | answered: every task the answer needed succeeded |
| 1 | the run failed: no answer (a model error, a tool that cancelled the run, …) |
| 2 | a mistake in what was asked, found before anything ran |
| 4 | partial: a task failed, or a number no result holds is marked `(unknown)` |
| 5 | refused: approval refused an action, which was not done |
| 6 | dry run: actions were shown (`--dry-run`), none was made |
| 130 | interrupted (Ctrl-C) |
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from .._core.outcome import Status, how_missing
from .._core.result import RunResult

__all__ = ["EXIT_CODES", "print_outcome"]

EXIT_CODES: dict[Status, int] = {"answered": 0, "partial": 4, "refused": 5, "dry_run": 6}
"""The exit code of `parcall run` for each status of a run that answered."""

_SAYS: dict[Status, str] = {
    "answered": "answered",
    "partial": "partial: a result the answer needs is missing",
    "refused": "refused: an action was not done",
    "dry_run": "dry run: actions were shown, not made",
}
_STYLE: dict[Status, str] = {
    "answered": "dim",
    "partial": "yellow",
    "refused": "red",
    "dry_run": "yellow",
}
_HOW = {"failed": "failed", "refused": "refused", "dry_run": "not made (dry run)"}


def print_outcome(console: Console, result: RunResult) -> None:
    """The `status:` line, then the numbers the answer had that no result holds, then one
    line per task the answer lacks."""
    status = result.status
    style = _STYLE[status]
    console.print(f"[{style}]status: {_SAYS[status]}[/{style}]", highlight=False)
    if result.unknown:
        console.print(
            f"  [{style}]not in the results:[/{style}] {escape(', '.join(result.unknown))}",
            highlight=False,
            soft_wrap=True,
        )
    for obs in result.failed:
        how = how_missing(obs)
        # A dry run's reason is the dry run itself: the line says it already.
        why = "" if how == "dry_run" else f": {' '.join((obs.error or '').split())}"
        console.print(
            f"  [{style}]task {obs.idx} {escape(obs.tool)} {_HOW[how]}[/{style}]{escape(why)}",
            highlight=False,
            soft_wrap=True,
        )
