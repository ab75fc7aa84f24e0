"""`parcall run`: asking before tools that act, `--dry-run`, `--yes`, `--mcp`."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from conftest import FINISH, plan
from parcall import ApprovalRequest, Approve, PlannedCall, Reject, ScriptedModel, tool
from parcall.cli import _run as cli_run
from parcall.cli import app
from parcall.cli._approval import TerminalApprover

SENT: list[str] = []


@tool
def lookup(name: str) -> str:
    """Find an address."""
    return f"{name.lower()}@example.com"


@tool(side_effects=True)
def send(to: str) -> str:
    """Send a mail."""
    SENT.append(to)
    return f"sent to {to}"


TOOLS = [lookup, send]
SCRIPT = [plan('1. lookup(name="Bob")', "2. send(to=$1)"), FINISH]


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> ScriptedModel:
    SENT.clear()
    model = ScriptedModel(list(SCRIPT))
    monkeypatch.setattr(cli_run, "resolve_model", lambda spec: model)
    return model


def run(*args: str) -> Any:
    return CliRunner().invoke(
        app,
        ["run", "q", "--model", "scripted", "--tools", "cli.test_cli_approval:TOOLS", *args],
    )


def test_dry_run_prints_the_plan_and_the_calls_it_would_make(scripted: ScriptedModel) -> None:
    result = run("--dry-run")
    assert result.exit_code == 6, result.output  # an action was shown, not made
    assert SENT == []  # the tool's own record
    assert 'lookup(name="Bob")' in result.output  # the plan
    assert "calls that act (not made)" in result.output
    assert "2. send(to='bob@example.com')" in result.output  # resolved from the read
    assert "dry run" in scripted.prompts[-1]  # the joiner is told


def test_without_a_terminal_acting_calls_are_refused(scripted: ScriptedModel) -> None:
    result = run()
    assert result.exit_code == 5, result.output  # the action was refused
    assert SENT == []
    assert "no terminal" in scripted.prompts[-1]


def test_yes_runs_acting_tools_without_asking(scripted: ScriptedModel) -> None:
    result = run("--yes")
    assert result.exit_code == 0, result.output
    assert SENT == ["bob@example.com"]


def test_mcp_tools_join_the_run(scripted: ScriptedModel) -> None:
    pytest.importorskip("mcp", reason="needs the mcp extra: pip install -e '.[mcp]'")
    scripted.outputs[:] = [plan('1. shout(text="hi")', "2. lookup(name=$1)"), FINISH]
    server = Path(__file__).parents[1] / "servers" / "mcp_demo.py"
    result = run("--mcp", f"{sys.executable} {server} stdio", "--json")
    assert result.exit_code == 0, result.output
    assert '"value": "HI"' in result.stdout
    assert '"value": "hi@example.com"' in result.stdout


def test_a_missing_mcp_server_is_a_clear_error(scripted: ScriptedModel) -> None:
    pytest.importorskip("mcp", reason="needs the mcp extra: pip install -e '.[mcp]'")
    result = run("--mcp", "/nonexistent/mcp-server")
    assert result.exit_code == 2  # a usage error, found before the model loads
    assert "error: --mcp '/nonexistent/mcp-server': there is no command" in result.output


def asking(*calls: PlannedCall) -> ApprovalRequest:
    return ApprovalRequest("q", calls)


def answering(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> list[str]:
    questions: list[str] = []

    def ask(prompt: str, **kwargs: Any) -> str:
        questions.append(prompt)
        return answers.pop(0)

    monkeypatch.setattr("parcall.cli._approval.Prompt.ask", ask)
    return questions


CALL = PlannedCall(2, "send", {"to": "bob@example.com", "cc": None}, acts=True, asked=True)


def test_the_terminal_prompt_approves_rejects_and_edits(monkeypatch: pytest.MonkeyPatch) -> None:
    approver = TerminalApprover(Console(file=io.StringIO()))
    answering(monkeypatch, ["y"])
    assert approver._ask(asking(CALL)) == Approve()
    answering(monkeypatch, ["n", "too many mails"])
    assert approver._ask(asking(CALL)) == Reject("too many mails")
    questions = answering(monkeypatch, ["e", '"alice@example.com"', "null"])
    assert approver._ask(asking(CALL)) == Approve(edits={2: {"to": "alice@example.com"}})
    assert questions[1:] == ["2. send to", "2. send cc"]
