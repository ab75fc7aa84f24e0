"""The second hour, as a new user meets it: own tools, one of which fails; an action that is
refused; a dry run. `parcall run` shows the status and exits with its code, the answer
never carries an invented value, and `serve` reports the status beside the answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import plan
from core.test_outcomes import add, search, shipping_cost, weight_kg
from parcall import Agent, ScriptedModel, tool
from parcall.cli import _run as cli_run
from parcall.cli import app

SENT: list[str] = []


@tool
def email_of(name: str) -> str:
    """A person's email address."""
    return f"{name.lower()}@example.com"


@tool(side_effects=True)
def send(to: str, text: str) -> str:
    """Send an email."""
    SENT.append(to)
    return f"sent to {to}"


SHOP = [weight_kg, add, shipping_cost]
LOOKUP = [search]
MAIL = [email_of, send]
QUESTION = "What do a kettle, a lamp and a rug weigh together, and what does shipping cost?"
SHOP_PLAN = plan(
    '1. weight_kg(item="kettle")',
    '2. weight_kg(item="lamp")',
    '3. weight_kg(item="rug")',
    "4. add(a=$1, b=$2)",
    "5. add(a=$4, b=$3)",
    "6. shipping_cost(weight_kg=$5)",
)
MAIL_PLAN = plan('1. email_of(name="Ann")', '2. send(to=$1, text="The parcel is on its way.")')
INVENTED = "Action: Finish(8.4 kg, 10.8 euros)"


@pytest.fixture
def outputs(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The scripted model's outputs, which a test fills in; `-m` resolves to that model."""
    SENT.clear()
    script: list[Any] = []
    monkeypatch.setattr(cli_run, "resolve_model", lambda spec: ScriptedModel(script))
    return script


def run(tools: str, *args: str, question: str = QUESTION) -> Any:
    return CliRunner().invoke(
        app,
        ["run", question, "-m", "scripted", "--tools", f"cli.test_cli_outcomes:{tools}", *args],
    )


def test_a_failed_tool_exits_4_and_the_answer_states_no_invented_cost(
    outputs: list[Any],
) -> None:
    outputs[:] = [SHOP_PLAN, INVENTED, plan("7. shipping_cost(weight_kg=$5)"), INVENTED]
    result = run("SHOP", "--json")
    assert result.exit_code == 4, result.output
    payload = json.loads(result.stdout)
    assert payload["status"] == "partial"
    assert "10.8" not in payload["answer"]
    assert payload["answer"].startswith("8.4 kg, (unknown) euros (incomplete: task 6")
    assert [(f["idx"], f["tool"], f["how"]) for f in payload["failed"]] == [
        (6, "shipping_cost", "failed"),
        (7, "shipping_cost", "failed"),
    ]
    assert payload["rests_on"] == [1, 2, 3, 4, 5]


def test_the_status_line_names_the_task_that_failed(outputs: list[Any]) -> None:
    outputs[:] = [SHOP_PLAN, "Action: Finish(8.4 kg; shipping unknown (HTTP 503))"]
    result = run("SHOP")
    assert result.exit_code == 4, result.output
    assert "status: partial" in result.output
    assert "task 6 shipping_cost failed: shipping API is down (HTTP 503)" in result.output


def test_a_number_no_result_holds_is_marked_and_exits_4(outputs: list[Any]) -> None:
    # Nothing failed, yet the answer's sum came from nowhere: marked, and a script can tell.
    invented = "Action: Finish(1,234 + 1,234)"
    looked = plan('1. search(query="Paris")', '2. search(query="Lyon")')
    outputs[:] = [looked, invented, plan('3. search(query="Lyon population")'), invented]
    result = run("LOOKUP", "--json", question="What is the population of Paris plus Lyon?")
    assert result.exit_code == 4, result.output
    payload = json.loads(result.stdout)
    assert payload["status"] == "partial" and payload["failed"] == []
    assert payload["unknown"] == ["1,234"]
    assert payload["answer"] == "(unknown) + (unknown) (not in the results)"
    outputs[:] = [looked, invented, plan('3. search(query="Lyon population")'), invented]
    shown = run("LOOKUP", question="What is the population of Paris plus Lyon?")
    assert shown.exit_code == 4, shown.output
    assert "status: partial" in shown.output and "not in the results: 1,234" in shown.output


def test_a_refused_action_exits_5(outputs: list[Any]) -> None:
    outputs[:] = [MAIL_PLAN, "Action: Finish(Ann)"]
    result = run("MAIL", question="Tell Ann the parcel is on its way.")
    assert result.exit_code == 5, result.output  # no terminal to ask: refused
    assert SENT == []
    assert "status: refused" in result.output
    assert "task 2 send refused" in result.output


def test_a_dry_run_exits_6(outputs: list[Any]) -> None:
    outputs[:] = [MAIL_PLAN, "Action: Finish(Ann)"]
    result = run("MAIL", "--dry-run", question="Tell Ann the parcel is on its way.")
    assert result.exit_code == 6, result.output
    assert SENT == []
    assert "status: dry run" in result.output
    assert "task 2 send not made (dry run)" in result.output


def test_an_approved_action_exits_0(outputs: list[Any]) -> None:
    outputs[:] = [MAIL_PLAN, "Action: Finish(sent to Ann)"]
    result = run("MAIL", "--yes", question="Tell Ann the parcel is on its way.")
    assert result.exit_code == 0, result.output
    assert SENT == ["ann@example.com"]
    assert "status: answered" in result.output


def test_a_dry_run_with_nothing_to_act_exits_0(outputs: list[Any]) -> None:
    outputs[:] = [plan('1. email_of(name="Ann")'), "Action: Finish(ann@example.com)"]
    result = run("MAIL", "--dry-run", question="What is Ann's email?")
    assert result.exit_code == 0, result.output


# --- serve ------------------------------------------------------------------------------


def test_serve_reports_the_status_beside_the_answer() -> None:
    openai = pytest.importorskip("openai", reason="the serve tests use the official openai client")
    pytest.importorskip("starlette", reason="parcall serve needs pip install 'parcall[serve]'")
    from parcall.serve import create_app, running_server

    model = ScriptedModel(
        [SHOP_PLAN, "Action: Finish(8.4 kg; no shipping cost: the API is down)"], cycle=True
    )
    app = create_app(Agent(model, SHOP))
    with running_server(app) as url:
        c = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0, timeout=30)
        try:
            reply = c.chat.completions.create(
                model="parcall", messages=[{"role": "user", "content": QUESTION}]
            )
            chunks = list(
                c.chat.completions.create(
                    model="parcall", messages=[{"role": "user", "content": QUESTION}], stream=True
                )
            )
        finally:
            c.close()
    assert reply.choices[0].message.content.startswith("8.4 kg")
    extension = reply.model_extra["parcall"]
    assert extension["status"] == "partial"
    assert extension["failed"][0]["tool"] == "shipping_cost"
    last = next(ch for ch in reversed(chunks) if ch.choices and ch.choices[0].finish_reason)
    assert last.choices[0].finish_reason == "stop"  # what OpenAI clients know
    assert last.model_extra["parcall"]["status"] == "partial"


@pytest.mark.parametrize(("flag", "offered"), [((), True), (("--no-calculator",), False)])
def test_the_calculator_is_offered_unless_the_command_line_says_no(
    monkeypatch: pytest.MonkeyPatch, flag: tuple[str, ...], offered: bool
) -> None:
    model = ScriptedModel([plan('1. email_of(name="Ann")'), "Action: Finish(ann@example.com)"])
    monkeypatch.setattr(cli_run, "resolve_model", lambda spec: model)
    result = run("MAIL", "--yes", *flag, question="What is Ann's address?")
    assert result.exit_code == 0, result.output
    system = model.requests[0].messages[0].content
    assert ("\n- calculator(expression: str)" in system) is offered
    assert "\n- email_of(name: str)" in system
