"""How the command reports a mistake: one `error: ...` line on stderr and an exit code."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["USAGE_ERROR", "fail"]

USAGE_ERROR = 2
"""Exit code of a mistake in what was asked (a bad option, model spec or question, a missing
extra), found before anything is downloaded or run; 1 is a run that failed."""


def fail(message: object, code: int = USAGE_ERROR) -> typer.Exit:
    """Print `error: message` on a line of its own (stderr) and return the exit to raise."""
    Console(stderr=True).print(
        f"[red]error:[/red] {escape(str(message))}", highlight=False, soft_wrap=True
    )
    return typer.Exit(code)
