"""`parcall run --durable` and `parcall runs resume`: a stopped run is finished later."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import pytest
from typer.testing import CliRunner

from conftest import FINISH, plan
from parcall import Agent, ScriptedModel, tool
from parcall.cli import _run as cli_run
from parcall.cli import app

CALLS: list[str] = []
STOP = {"now": True}


@tool
async def lookup(name: str) -> str:
    """Find an address."""
    CALLS.append(f"lookup {name}")
    return f"{name.lower()}@example.com"


@tool
async def check(address: str) -> str:
    """Check an address; stands for a long call that the user interrupts."""
    CALLS.append(f"check {address}")
    if STOP["now"]:
        with anyio.fail_after(10):  # the plan is journaled once the model's stream ends
            while not _plan_journaled():  # noqa: ASYNC110 - another connection writes it
                await anyio.sleep(0.01)
        raise KeyboardInterrupt
    return "valid"


TOOLS = [lookup, check]
JOURNAL: dict[str, Path] = {}


def _plan_journaled() -> bool:
    with sqlite3.connect(JOURNAL["path"]) as db:
        return bool(db.execute("SELECT count(*) FROM journal_model_calls").fetchone()[0])


@pytest.fixture
def models(monkeypatch: pytest.MonkeyPatch) -> list[ScriptedModel]:
    """The models the CLI makes, one per command, in order."""
    CALLS.clear()
    STOP["now"] = True
    scripts = [[plan('1. lookup(name="Bob")', "2. check(address=$1)")], [FINISH]]
    made: list[ScriptedModel] = []

    def make(spec: str, **options: Any) -> ScriptedModel:
        made.append(ScriptedModel(scripts[len(made)]))
        return made[-1]

    monkeypatch.setattr(cli_run, "resolve_model", make)
    return made


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_a_stopped_durable_run_is_listed_and_resumed(
    models: list[ScriptedModel], tmp_path: Path
) -> None:
    JOURNAL["path"] = tmp_path / "journal.db"
    journal = str(JOURNAL["path"])
    tools = "cli.test_cli_journal:TOOLS"
    first = invoke(
        "run",
        "Is Bob's address valid?",
        "-m",
        "scripted",
        "--tools",
        tools,
        "--durable",
        "--journal",
        journal,
    )
    assert first.exit_code == 130, first.output
    run_id = first.output.split("parcall runs resume ")[1].split()[0]
    assert CALLS == ["lookup Bob", "check bob@example.com"]

    listed = invoke("runs", "resume", "--journal", journal)
    assert listed.exit_code == 0 and run_id in listed.output and "Bob's address" in listed.output

    STOP["now"] = False
    resumed = invoke("runs", "resume", run_id, "--journal", journal)
    assert resumed.exit_code == 0, resumed.output
    assert "done" in resumed.output  # FINISH's answer
    assert CALLS == ["lookup Bob", "check bob@example.com", "check bob@example.com"]
    assert [r.purpose for r in models[1].requests] == ["join"]  # the plan came from the journal
    assert "no unfinished runs" in invoke("runs", "resume", "--journal", journal).output


def test_resume_names_what_is_missing(tmp_path: Path) -> None:
    nothing = invoke("runs", "resume", "abc", "--journal", str(tmp_path / "none.db"))
    assert nothing.exit_code == 1 and "there is no journal at" in " ".join(nothing.output.split())

    journal = tmp_path / "journal.db"
    agent = Agent(ScriptedModel([plan('1. lookup(name="A")'), FINISH]), TOOLS, store=journal)
    run_id = agent.run_sync("Where is A?").run_id
    assert run_id is not None
    unknown = invoke("runs", "resume", "nope", "--journal", str(journal))
    assert unknown.exit_code == 1 and "has no run 'nope'" in " ".join(unknown.output.split())
    from_code = invoke("runs", "resume", run_id, "--journal", str(journal))
    assert from_code.exit_code == 1 and "agent.resume(run_id)" in " ".join(from_code.output.split())


@pytest.mark.parametrize("layout", ["settings", "flat"])
def test_a_durable_run_keeps_its_settings_and_older_journals_still_resume(
    models: list[ScriptedModel], tmp_path: Path, layout: str
) -> None:
    JOURNAL["path"] = tmp_path / "journal.db"
    journal = str(JOURNAL["path"])
    args = [
        "run",
        "Is Bob's address valid?",
        "-m",
        "scripted",
        "--tools",
        "cli.test_cli_journal:TOOLS",
    ]
    first = invoke(*args, "--max-replans", "1", "--durable", "--journal", journal)
    assert first.exit_code == 130, first.output
    run_id = first.output.split("parcall runs resume ")[1].split()[0]
    with sqlite3.connect(journal) as db:
        (text,) = db.execute("SELECT meta FROM journal_runs WHERE id = ?", (run_id,)).fetchone()
        meta = json.loads(text)
        assert meta["settings"] == {"plan_format": "text", "constrained": None, "max_replans": 1}
        if layout == "flat":  # as journals were written before Settings
            meta.update(meta.pop("settings"))
            db.execute("UPDATE journal_runs SET meta = ? WHERE id = ?", (json.dumps(meta), run_id))
    STOP["now"] = False
    resumed = invoke("runs", "resume", run_id, "--journal", journal)
    assert resumed.exit_code == 0, resumed.output
    assert [r.purpose for r in models[1].requests] == ["join"]  # the same plan, from the journal


@pytest.mark.parametrize("older", [False, True])
def test_a_durable_run_keeps_no_calculator_and_older_journals_without_it_resume(
    models: list[ScriptedModel], tmp_path: Path, older: bool
) -> None:
    JOURNAL["path"] = tmp_path / "journal.db"
    journal = str(JOURNAL["path"])
    tools = "cli.test_cli_journal:TOOLS"
    offer = () if older else ("--no-calculator",)  # older journals: the calculator was offered
    first = invoke(
        "run", "Is Bob's address valid?", "-m", "scripted", "--tools", tools, *offer,
        "--durable", "--journal", journal,
    )  # fmt: skip
    assert first.exit_code == 130, first.output
    offered = "\n- calculator(expression: str)"
    assert (offered in models[0].requests[0].messages[0].content) is older
    run_id = first.output.split("parcall runs resume ")[1].split()[0]
    if older:  # as journals were written before the choice was kept
        with sqlite3.connect(journal) as db:
            (text,) = db.execute("SELECT meta FROM journal_runs WHERE id = ?", (run_id,)).fetchone()
            meta = json.loads(text)
            del meta["calculator"]
            db.execute("UPDATE journal_runs SET meta = ? WHERE id = ?", (json.dumps(meta), run_id))
    STOP["now"] = False
    resumed = invoke("runs", "resume", run_id, "--journal", journal)
    assert resumed.exit_code == 0, resumed.output
    assert [r.purpose for r in models[1].requests] == ["join"]  # the same prompt: plan replayed
    assert (offered in models[1].requests[0].messages[0].content) is older
