"""The approval question reads as written: rich markup does not eat its `[y]es`."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from parcall import ApprovalRequest, Approve, PlannedCall, Reject
from parcall.cli._approval import TerminalApprover

CALL = PlannedCall(2, "send", {"to": "bob@example.com"}, acts=True, asked=True)


def asked(monkeypatch: pytest.MonkeyPatch, *answers: str) -> tuple[Approve | Reject, str]:
    """What the approver decides given `answers`, and everything it printed."""
    typed = list(answers)
    monkeypatch.setattr("builtins.input", lambda *args: typed.pop(0))
    out = io.StringIO()
    approver = TerminalApprover(Console(file=out, width=120))
    return approver._ask(ApprovalRequest("q", (CALL,))), out.getvalue()


def test_the_question_shows_its_bracketed_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    decision, shown = asked(monkeypatch, "y")
    assert decision == Approve()
    assert "Run them? [y]es, [n]o, [e]dit arguments [y/n/e] (n): " in shown
    assert "es, o, dit" not in shown


def test_arguments_with_brackets_are_shown_as_they_are(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    call = PlannedCall(3, "send", {"to": "[bold]x[/bold]"}, acts=True, asked=True)
    typed = ["e", '"y"']
    monkeypatch.setattr("builtins.input", lambda *args: typed.pop(0))
    out = io.StringIO()
    decision = TerminalApprover(Console(file=out, width=120))._ask(ApprovalRequest("q", (call,)))
    assert decision == Approve(edits={3: {"to": "y"}})
    assert "send(to='[bold]x[/bold]')" in out.getvalue()  # the table
    assert '3. send to ("[bold]x[/bold]"): ' in out.getvalue()  # the edit prompt
