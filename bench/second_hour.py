"""A new user's second hour: their own small tools (some failing, some acting, numeric
lookups to add up), a question each, and a check of the outcome, not only of the absence
of a crash.

    python bench/second_hour.py [--model local] [--out bench/results/second-hour]
    python bench/second_hour.py --rescore bench/results/second-hour/second_hour.json

Eleven scenarios. Seven run through the Python API (`Agent(model, tools, approve=...)`),
four through `parcall run --tools module:TOOLS --json` in a subprocess (with no terminal,
so approval refuses), with the tools module written to a temporary folder. A tool that acts
appends a line to `actions.log` beside its module, so whether an action was made is read
from the world, not from the answer. Each run is checked for:

- `grounded` (a): every number in the answer is held by a result (a calculator task's
  included), an argument, an error or the question: parcall's own
  `parcall._join.finish_check.invented_numbers` ("8.4" is held by 8.399999999999999);
- `status` (b, c): the run's status is the one the scenario calls for: `partial` when a
  result the answer needs failed, `refused` when approval refused an action, `dry_run`
  for `--dry-run`, `answered` otherwise; from the CLI, the exit code must also be the one
  docs/outcomes.md gives for that status (its table is read here);
- `sum` (d): when the answer is a sum, product or average of looked-up numbers, it states
  the true value (a number in the answer equal to it at the decimals it is written with;
  with the scenario's unit after it when the question asks for two quantities);
- `claims` (b, c): the answer does not state the missing value (a pattern per scenario,
  e.g. an amount in euros when the cost is what failed), even with a number a result holds,
  and does not say that an action which was not made was made (e.g. "sent" with no "not");
- `action`: an acting tool ran exactly when it was approved.

A failing check is a finding. Writes `second_hour.json` and `second_hour.md` to `--out`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import anyio

from parcall import Agent, Approve, Observation, Reject, RunResult
from parcall._core.trace import event_to_dict
from parcall._join.finish_check import invented_numbers

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "outcomes.md"
Via = Literal["api", "cli"]
CHECKS = ("grounded", "status", "sum", "claims", "action")
EURO_AMOUNT = r"\d\s*(?:euros?|eur)\b|€\s*\d|\d\s*€"
"""An amount in euros: what an answer must not state when the euro value is missing."""


@dataclass(frozen=True)
class Scenario:
    """One thing a user tries: a tools module (source defining `TOOLS`), a question, and
    what the outcome must be."""

    name: str
    question: str
    module: str
    expect: str  # the status the run must end with
    via: Via = "api"
    approve: Literal["reject", "approve"] | None = None  # the API's approver
    cli_args: tuple[str, ...] = ()
    total: float | None = None  # the true sum/product/average the answer must state
    unit: str | None = None  # when set, the true value must be stated with this unit (regex)
    states_missing: str | None = None  # a regex: the answer stating the missing value
    claims_done: str | None = None  # a regex: the answer saying the unmade action was made
    action: str | None = None  # the acting tool, done exactly when approved
    approved: bool = False


@dataclass
class Outcome:
    """What a run gave: answer, status, results, the actions made, the exit code (CLI)."""

    answer: str
    status: str  # a run status, or "error" when the run raised / exited with no answer
    observations: list[Observation]
    actions: list[str]
    seconds: float
    exit_code: int | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_ACTS = """
        from pathlib import Path

        def _did(line: str) -> None:
            with open(Path(__file__).with_name("actions.log"), "a", encoding="utf-8") as log:
                log.write(line + "\\n")
"""
"""A tools module's helper (indented as the modules below are): an action is a line in
`actions.log` beside the module."""

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "shipping API down",
        "What is the total weight of a kettle, a lamp and a rug, and what does it cost to "
        "ship them?",
        '''
        import anyio
        from parcall import tool

        @tool
        async def weight_kg(item: str) -> float:
            """The weight of an item in kilograms."""
            await anyio.sleep(1)
            return {"kettle": 1.2, "lamp": 2.75, "rug": 4.45}[item]

        @tool
        def add(a: float, b: float) -> float:
            """Add two numbers."""
            return a + b

        @tool
        def shipping_cost(weight_kg: float) -> float:
            """The cost in euros of shipping a parcel of this weight."""
            raise RuntimeError("shipping API is down (HTTP 503)")

        TOOLS = [weight_kg, add, shipping_cost]
        ''',
        expect="partial",
        total=8.4,
        unit="kg",
        states_missing=EURO_AMOUNT,
    ),
    Scenario(
        "basket total",
        "How much do a kettle, a lamp and a toaster cost together, in euros?",
        '''
        from parcall import tool

        @tool
        def price(item: str) -> int:
            """The price of an item in euros."""
            return {"kettle": 412, "lamp": 474, "toaster": 129}[item.lower()]

        TOOLS = [price]
        ''',
        expect="answered",
        total=1015,
    ),
    Scenario(
        "stock value",
        "What is our stock of widgets worth in total, in euros?",
        '''
        from parcall import tool

        @tool
        def unit_price(product: str) -> float:
            """The price of one unit of a product, in euros."""
            return {"widget": 12.5, "gadget": 30.0}[product.lower().rstrip("s")]

        @tool
        def stock_count(product: str) -> int:
            """How many units of a product are in stock."""
            return {"widget": 37, "gadget": 4}[product.lower().rstrip("s")]

        TOOLS = [unit_price, stock_count]
        ''',
        expect="answered",
        total=462.5,
    ),
    Scenario(
        "email refused",
        "Send Ann an email saying that the meeting moved to 3 pm.",
        _ACTS
        + '''
        from parcall import tool

        @tool
        def email_address(name: str) -> str:
            """The email address of a colleague."""
            return {"ann": "ann@example.com", "raj": "raj@example.com"}[name.lower()]

        @tool(side_effects=True)
        def send_email(to: str, subject: str, body: str) -> str:
            """Send an email."""
            _did(f"send_email {to}")
            return f"sent to {to}"

        TOOLS = [email_address, send_email]
        ''',
        expect="refused",
        approve="reject",
        action="send_email",
        claims_done=r"\bsent\b",
    ),
    Scenario(
        "visitors, one counter offline",
        "How many visitors did the museum have on Friday, Saturday and Sunday in total?",
        '''
        from parcall import tool

        @tool
        def visitors(day: str) -> int:
            """The number of visitors the museum had on a day of last week."""
            day = day.lower()
            if day == "sunday":
                raise ConnectionError("the visitor counter for sunday is offline")
            return {"friday": 1240, "saturday": 2310, "thursday": 980}[day]

        TOOLS = [visitors]
        ''',
        expect="partial",
        states_missing=r"\b3,?550\b",  # Friday and Saturday, given as the total
    ),
    Scenario(
        "average temperature",
        "What is the average temperature right now of Oslo, Lima, Cairo and Tokyo?",
        '''
        from parcall import tool

        @tool
        def temperature_c(city: str) -> int:
            """The temperature in a city right now, in degrees Celsius."""
            return {"oslo": -3, "lima": 19, "cairo": 24, "tokyo": 8}[city.lower()]

        TOOLS = [temperature_c]
        ''',
        expect="answered",
        total=12,
    ),
    Scenario(
        "meeting booked",
        "Book a meeting with Raj at his next free slot.",
        _ACTS
        + '''
        from parcall import tool

        @tool
        def next_free_slot(person: str) -> str:
            """The next free slot in a colleague's calendar."""
            return {"raj": "Tuesday 10:00", "ann": "Friday 14:30"}[person.lower()]

        @tool(side_effects=True)
        def book_meeting(person: str, slot: str) -> str:
            """Book a meeting with a colleague in a slot of their calendar."""
            _did(f"book_meeting {person} {slot}")
            return f"booked with {person} on {slot}: confirmation 7731"

        TOOLS = [next_free_slot, book_meeting]
        ''',
        expect="answered",
        approve="approve",
        action="book_meeting",
        approved=True,
    ),
    Scenario(
        "population sum (CLI)",
        "What is the total population of Aldham, Brinford and Caxley?",
        '''
        from parcall import tool

        @tool
        def population(town: str) -> int:
            """The number of people living in a town."""
            return {"aldham": 48210, "brinford": 130575, "caxley": 9870}[town.lower()]

        TOOLS = [population]
        ''',
        expect="answered",
        via="cli",
        total=188655,
    ),
    Scenario(
        "table booking, no terminal (CLI)",
        "Book a table for 4 people at an Italian restaurant tonight at 8 pm.",
        _ACTS
        + '''
        from parcall import tool

        @tool
        def find_restaurant(cuisine: str) -> str:
            """The best-rated restaurant nearby of a cuisine."""
            return {"italian": "Trattoria Roma", "thai": "Baan Thai"}.get(
                cuisine.lower(), "Trattoria Roma"
            )

        @tool(side_effects=True)
        def book_table(restaurant: str, people: int, time: str) -> str:
            """Book a table at a restaurant."""
            _did(f"book_table {restaurant} {people} {time}")
            return f"booked a table for {people} at {restaurant}, {time}"

        TOOLS = [find_restaurant, book_table]
        ''',
        expect="refused",
        via="cli",
        action="book_table",
        claims_done=r"\bbooked\b",
    ),
    Scenario(
        "delete an account, dry run (CLI)",
        "Delete Bob's account.",
        _ACTS
        + '''
        from parcall import tool

        @tool
        def find_user(name: str) -> dict:
            """A user's record: id and name."""
            return {"bob": {"id": 1042, "name": "Bob"}, "ann": {"id": 7, "name": "Ann"}}[
                name.lower()
            ]

        @tool(side_effects=True)
        def delete_account(user_id: int) -> str:
            """Delete a user's account, by its id."""
            _did(f"delete_account {user_id}")
            return f"deleted account {user_id}"

        TOOLS = [find_user, delete_account]
        ''',
        expect="dry_run",
        via="cli",
        cli_args=("--dry-run",),
        action="delete_account",
        claims_done=r"\bdeleted\b",
    ),
    Scenario(
        "exchange rate times out (CLI)",
        "What does the laptop cost in euros?",
        '''
        import anyio
        from parcall import tool

        @tool
        def price_usd(item: str) -> float:
            """The price of an item in US dollars."""
            return {"laptop": 899.0, "phone": 499.0}[item.lower()]

        @tool(timeout=1)
        async def exchange_rate(currency_from: str, currency_to: str) -> float:
            """How many units of currency_to one unit of currency_from buys (codes: USD, EUR)."""
            await anyio.sleep(5)  # the rate service hangs
            return 0.92

        TOOLS = [price_usd, exchange_rate]
        ''',
        expect="partial",
        states_missing=EURO_AMOUNT,
        via="cli",
    ),
)


# --- what docs/outcomes.md promises ------------------------------------------------------

_STATUS_WORDS = {
    "answered": "answered",
    "partial": "partial",
    "refused": "refused",
    "dry run": "dry_run",
}


def documented_exit_codes(docs: Path = DOCS) -> dict[str, int]:
    """The exit code of each status, from the table in docs/outcomes.md (`| 4 | partial: …`)."""
    codes: dict[str, int] = {}
    for line in docs.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*(\d+)\s*\|\s*([a-z ]+?)\s*(?::|\|)", line)
        if match and match.group(2) in _STATUS_WORDS:
            codes[_STATUS_WORDS[match.group(2)]] = int(match.group(1))
    return codes


# --- running -------------------------------------------------------------------------------


def write_module(scenario: Scenario, folder: Path) -> str:
    """The scenario's tools module in `folder`; its import name."""
    name = "tools_" + re.sub(r"\W+", "_", scenario.name).strip("_")
    (folder / f"{name}.py").write_text(textwrap.dedent(scenario.module), encoding="utf-8")
    return name


def _actions(folder: Path) -> list[str]:
    log = folder / "actions.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def _approver(scenario: Scenario) -> Callable[[Any], Approve | Reject] | None:
    if scenario.approve == "reject":
        return lambda request: Reject("the user said no")
    if scenario.approve == "approve":
        return lambda request: Approve()
    return None


async def run_api(scenario: Scenario, model: Any, folder: Path) -> Outcome:
    """The scenario through `Agent.run`, with `model` (any parcall Model)."""
    name = write_module(scenario, folder)
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    agent = Agent(model, module.TOOLS, approve=_approver(scenario))
    began = time.perf_counter()
    try:
        result: RunResult = await agent.run(scenario.question)
    except Exception as exc:  # a run that fails is a finding, reported in its row
        seconds = time.perf_counter() - began
        return Outcome(
            "", "error", [], _actions(folder), seconds, error=f"{type(exc).__name__}: {exc}"
        )
    return Outcome(
        result.answer,
        result.status,
        list(result.observations),
        _actions(folder),
        time.perf_counter() - began,
        extra={"plans": [p.text for p in result.plans]},
    )


def run_cli(scenario: Scenario, model: str, folder: Path) -> Outcome:
    """The scenario through `parcall run --tools module:TOOLS --json` in a new process with
    no terminal (stdin is not one, so an approval prompt refuses)."""
    name = write_module(scenario, folder)
    argv = [
        sys.executable,
        "-c",
        "from parcall.cli import app; app(prog_name='parcall')",
        "run",
        scenario.question,
        "--model",
        model,
        "--tools",
        f"{name}:TOOLS",
        "--json",
        *scenario.cli_args,
    ]
    env = {**os.environ, "PARCALL_STATE_DIR": str(folder / "states")}
    began = time.perf_counter()
    done = subprocess.run(
        argv,
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - began
    try:
        payload = json.loads(done.stdout)
    except json.JSONDecodeError:
        tail = " ".join(done.stderr.strip().splitlines()[-2:])
        return Outcome("", "error", [], _actions(folder), seconds, done.returncode, error=tail)
    observations = [_observation(o) for o in payload.get("observations", [])]
    return Outcome(
        payload.get("answer") or "",
        payload.get("status", "error"),
        observations,
        _actions(folder),
        seconds,
        done.returncode,
        extra={"plans": payload.get("plans", [])},
    )


def _observation(data: dict[str, Any]) -> Observation:
    """An observation back from its JSON form (its value as the text `--json` gives)."""
    return Observation(
        idx=data["idx"],
        tool=data["tool"],
        args=data.get("args") or {},
        status=data["status"],
        value=data.get("value"),
        error=data.get("error"),
        error_type=data.get("error_type"),
    )


# --- checking ------------------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w])")


def states_value(answer: str, true: float, unit: str | None = None) -> bool:
    """Whether the answer states `true`, rounded (half up) to the decimals the answer
    writes a number with (8.4 states 8.4; 462.50 and 463 state 462.5, 462 does not), and
    followed by `unit` when one is given ("8.4 kg", not "8.4 euros")."""
    value = Decimal(str(true))
    for match in _NUMBER.finditer(answer):
        try:
            number = Decimal(match.group().replace(",", ""))
        except InvalidOperation:
            continue
        exponent = number.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP) != number:
            continue
        if unit is None or re.match(rf"\s*(?:{unit})\b", answer[match.end() :], re.I):
            return True
    return False


_NEGATION = re.compile(
    r"\b(?:not|no|never|unable|cannot|could ?n[o']t|refused|rejected|unknown|failed)\b|n't\b",
    re.I,
)


def answer_checks(scenario: Scenario, answer: str) -> dict[str, bool | None]:
    """The checks read from the answer alone: `sum`, and `claims`: the answer does not
    state the missing value (`states_missing`), nor say that an action that was not made
    was made (`claims_done` matches and no negation is in the answer)."""
    claims: bool | None = None
    if scenario.states_missing is not None or scenario.claims_done is not None:
        claims = True
        if scenario.states_missing and re.search(scenario.states_missing, answer, re.I):
            claims = False
        said = scenario.claims_done and re.search(scenario.claims_done, answer, re.I)
        if said and not _NEGATION.search(answer):
            claims = False
    total = scenario.total
    return {
        "sum": None if total is None else states_value(answer, total, scenario.unit),
        "claims": claims,
    }


def check(scenario: Scenario, outcome: Outcome, codes: dict[str, int]) -> dict[str, bool | None]:
    """Each check's verdict (None: it does not apply to the scenario)."""
    ran = outcome.status != "error"
    invented = invented_numbers(outcome.answer, scenario.question, outcome.observations)
    status_ok = outcome.status == scenario.expect
    if outcome.exit_code is not None:
        status_ok = status_ok and outcome.exit_code == codes.get(scenario.expect)
    done = any(line.split()[0] == scenario.action for line in outcome.actions if line)
    read = answer_checks(scenario, outcome.answer)
    return {
        "grounded": ran and not invented,
        "status": status_ok,
        "sum": read["sum"] if ran or read["sum"] is None else False,
        "claims": read["claims"],
        "action": None if scenario.action is None else done == scenario.approved,
    }


def rescore(record: dict[str, Any]) -> dict[str, Any]:
    """A saved record with the answer-only checks (`sum`, `claims`) done again by this
    script: the others need the run itself (its results, the actions log)."""
    scenarios = {s.name: s for s in SCENARIOS}
    for r in record["scenarios"]:
        again = answer_checks(scenarios[r["scenario"]], r["answer"])
        if r["status"] == "error" and again["sum"] is not None:
            again["sum"] = False
        checks = {k: again.get(k, r["checks"].get(k)) for k in CHECKS}
        r.update(checks=checks, passed=all(v is not False for v in checks.values()))
    return record


def row(index: int, scenario: Scenario, outcome: Outcome, codes: dict[str, int]) -> dict[str, Any]:
    verdicts = check(scenario, outcome, codes)
    return {
        "n": index,
        "scenario": scenario.name,
        "via": scenario.via,
        "question": scenario.question,
        "answer": outcome.answer,
        "status": outcome.status,
        "expected_status": scenario.expect,
        "exit_code": outcome.exit_code,
        "expected_exit_code": codes.get(scenario.expect) if scenario.via == "cli" else None,
        "invented_numbers": list(
            invented_numbers(outcome.answer, scenario.question, outcome.observations)
        ),
        "true_value": scenario.total,
        "observations": [event_to_dict(o) for o in outcome.observations],
        "actions_made": outcome.actions,
        "checks": verdicts,
        "passed": all(v is not False for v in verdicts.values()),
        "seconds": round(outcome.seconds, 2),
        "calls": [f"{o.idx}. {o.tool}({_args(o)}) -> {_said(o)}" for o in outcome.observations],
        "error": outcome.error,
        **outcome.extra,
    }


def _args(o: Observation) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in o.args.items())


def _said(o: Observation) -> str:
    return f"{o.value!r:.80}" if o.status == "done" else f"{o.error_type}: {o.error!s:.80}"


async def run_scenarios(
    scenarios: Sequence[Scenario],
    model: Any,
    spec: str,
    *,
    report: Callable[[dict[str, Any]], None] = lambda r: None,
) -> list[dict[str, Any]]:
    """Run each scenario (the API ones with `model`, the CLI ones with the spec `spec`) and
    check its outcome: one row each."""
    codes = documented_exit_codes()
    rows = []
    for position, scenario in enumerate(scenarios, 1):
        # A scenario of the list keeps its number in it when only some are run.
        index = SCENARIOS.index(scenario) + 1 if scenario in SCENARIOS else position
        with tempfile.TemporaryDirectory(prefix="second-hour-") as tmp:
            folder = Path(tmp)
            if scenario.via == "api":
                outcome = await run_api(scenario, model, folder)
            else:
                outcome = await anyio.to_thread.run_sync(run_cli, scenario, spec, folder)
        rows.append(row(index, scenario, outcome, codes))
        report(rows[-1])
    return rows


# --- the report ----------------------------------------------------------------------------


def _mark(verdict: bool | None) -> str:
    return "–" if verdict is None else ("pass" if verdict else "**FAIL**")


def markdown(rows: Sequence[dict[str, Any]], model: str, total_s: float, note: str = "") -> str:
    lines = [
        f"# A new user's second hour: {len(rows)} scenarios on `{model}`",
        "",
        "Written by `bench/second_hour.py` (the checks are described there). – : the check "
        "does not apply." + (f" {note}" if note else ""),
        "",
        "| # | scenario | via | status (expected) | exit (expected) | "
        + " | ".join(CHECKS)
        + " | s |",
        "|---:|---|---|---|---|" + "---|" * len(CHECKS) + "---:|",
    ]
    for r in rows:
        exit_code = (
            "" if r["exit_code"] is None else f"{r['exit_code']} ({r['expected_exit_code']})"
        )
        checks = r["checks"]
        marks = " | ".join(_mark(checks.get(name)) for name in CHECKS)
        lines.append(
            f"| {r['n']} | {r['scenario']} | {r['via']} | {r['status']} ({r['expected_status']}) "
            f"| {exit_code} | {marks} | {r['seconds']:.1f} |"
        )
    passed = sum(r["passed"] for r in rows)
    lines += [
        "",
        f"{passed} of {len(rows)} scenarios pass every check; {total_s:.0f} s in all.",
        "",
    ]
    lines += ["## Questions and answers", ""]
    for r in rows:
        answer = " ".join(r["answer"].split()) or f"(no answer: {r['error']})"
        lines.append(f"{r['n']}. **{r['question']}**  ")
        lines.append(f"   {answer}  ")
        if r["invented_numbers"]:
            lines.append(f"   numbers no result holds: {', '.join(r['invented_numbers'])}  ")
        if r["true_value"] is not None:
            lines.append(f"   true value: {r['true_value']:g}  ")
        lines.append(f"   calls: {'; '.join(r['calls']) or 'none'}")
        lines.append("")
    return "\n".join(lines)


def write(out: Path, record: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "second_hour.json").write_text(
        json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8"
    )
    text = markdown(record["scenarios"], record["model"], record["seconds"], record.get("note", ""))
    (out / "second_hour.md").write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="local", help="A model spec (default: local).")
    parser.add_argument("--out", type=Path, help="Write second_hour.json and .md here.")
    parser.add_argument(
        "--only",
        metavar="N,N",
        help="Run only these scenarios (their numbers, e.g. 1,8,10).",
    )
    parser.add_argument(
        "--rescore",
        type=Path,
        metavar="JSON",
        help="Run nothing: do the answer-only checks of a saved second_hour.json again.",
    )
    args = parser.parse_args()
    if args.rescore:
        record = rescore(json.loads(args.rescore.read_text(encoding="utf-8")))
        record["note"] = (
            "The answer-only checks (sum, claims) were done again on the saved answers "
            "(`--rescore`)."
        )
        write(args.out or args.rescore.parent, record)
        print(f"{sum(r['passed'] for r in record['scenarios'])} of {len(record['scenarios'])} pass")
        return

    from parcall.models._resolve import resolve_model

    model = resolve_model(args.model)

    def show(r: dict[str, Any]) -> None:
        verdicts = " ".join(f"{k}={_mark(v)}" for k, v in r["checks"].items())
        print(f"{r['n']:>2}. {r['scenario']}: {r['status']} ({r['seconds']:.1f} s) {verdicts}")
        print(f"    {' '.join(r['answer'].split())[:200] or r['error']}", flush=True)

    began = time.perf_counter()
    chosen = SCENARIOS
    if args.only:
        try:
            wanted = {int(n) for n in args.only.split(",")}
        except ValueError:
            parser.error(f"--only takes scenario numbers such as 1,8,10, not {args.only!r}")
        if not wanted <= set(range(1, len(SCENARIOS) + 1)):
            parser.error(f"--only: the scenarios are numbered 1 to {len(SCENARIOS)}")
        chosen = [s for n, s in enumerate(SCENARIOS, 1) if n in wanted]
    rows = anyio.run(lambda: run_scenarios(chosen, model, args.model, report=show))
    total_s = time.perf_counter() - began
    if args.out:
        write(args.out, {"model": args.model, "seconds": round(total_s, 1), "scenarios": rows})
    passed = sum(r["passed"] for r in rows)
    print(f"{passed} of {len(rows)} scenarios pass every check ({total_s:.0f} s)")


if __name__ == "__main__":
    main()
