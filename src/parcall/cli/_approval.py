"""Approval for `parcall run`: ask on the terminal, or (`--dry-run`) refuse and list the calls."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import anyio
from rich.console import Console
from rich.markup import escape
from rich.prompt import Prompt
from rich.table import Table

from .._core.plan import Plan
from .._run.approval import ApprovalRequest, Approve, PlannedCall, Reject

__all__ = ["DryRun", "TerminalApprover"]

QUESTION = escape("Run them? [y]es, [n]o, [e]dit arguments")
"""The approval question, its brackets escaped: rich would read `[y]` as markup and drop it."""


def _table(calls: Iterable[PlannedCall], title: str) -> Table:
    table = Table("#", "call", "acts", title=title, title_justify="left", box=None)
    for call in calls:
        mark = "[bold red]asks[/bold red]" if call.asked else ("yes" if call.acts else "")
        table.add_row(str(call.idx), escape(call.describe().split(". ", 1)[1]), mark)
    return table


class TerminalApprover:
    """Shows the plan so far and asks y(es) / n(o) / e(dit) for the calls that act."""

    def __init__(
        self,
        console: Console,
        pause: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext,
    ) -> None:
        self._console = console
        self._pause = pause

    async def __call__(self, request: ApprovalRequest) -> Approve | Reject:
        if not sys.stdin.isatty():
            return Reject("there is no terminal to ask for approval (run with --yes to allow)")
        with self._pause():
            return await anyio.to_thread.run_sync(self._ask, request, abandon_on_cancel=True)

    def _ask(self, request: ApprovalRequest) -> Approve | Reject:
        console = self._console
        console.print(_table(request.calls, "These calls act on the world:"))
        _show_concerns(console, request.asked)
        answer = Prompt.ask(
            QUESTION,
            choices=["y", "n", "e"],
            default="n",
            console=console,
        )
        if answer == "y":
            return Approve()
        if answer == "n":
            reason = Prompt.ask("Why (the model is told)", default="declined", console=console)
            return Reject(reason)
        edits: dict[int, dict[str, Any]] = {}
        for call in request.asked:
            for name, value in call.args.items():
                shown = json.dumps(value, default=str)
                text = Prompt.ask(
                    escape(f"{call.idx}. {call.tool} {name}"), default=shown, console=console
                )
                if text != shown:
                    edits.setdefault(call.idx, {})[name] = _literal(text)
        return Approve(edits=edits)


def _show_concerns(console: Console, calls: Iterable[PlannedCall]) -> None:
    """Why the agent's policy would not run a call unasked, and where its arguments came
    from (see `Agent(policy=...)`)."""
    for call in calls:
        if call.concern is None:
            continue
        console.print(f"[bold red]{call.idx}. policy:[/bold red] {call.concern}", markup=True)
        for name, provenance in call.provenance.items():
            console.print(f"   {name} ← {provenance.describe()}", markup=False, highlight=False)


def _literal(text: str) -> Any:
    """JSON if it parses (42, true, "x", [1]), else the text as typed."""
    try:
        return json.loads(text)
    except ValueError:
        return text


class DryRun:
    """Refuses every call that acts, remembering what it would have run."""

    reason = "dry run: calls that act are shown, not made"

    def __init__(self) -> None:
        self.calls: dict[int, PlannedCall] = {}
        self.acting: set[str] = set()

    async def __call__(self, request: ApprovalRequest) -> Reject:
        self.calls.update((c.idx, c) for c in request.asked)
        self.acting.update(c.tool for c in request.calls if c.acts)
        return Reject(self.reason, dry_run=True)

    def report(self, console: Console, plans: Sequence[Plan]) -> None:
        """Print each plan and the calls that act: as they would be made, or as planned
        when an input they need was never available."""
        for n, plan in enumerate(plans):
            console.print(f"[bold]plan {n}[/bold]")
            console.print(plan.text.strip() or "(empty)", markup=False, highlight=False)
        would = [
            self.calls[t.idx].describe() if t.idx in self.calls else f"{t.describe()}  (as planned)"
            for plan in plans
            for t in plan.tasks
            if t.tool in self.acting
        ]
        console.print("[bold]calls that act (not made):[/bold]" if would else "no call acts")
        for line in would:
            console.print(f"  {line}", markup=False, highlight=False)
