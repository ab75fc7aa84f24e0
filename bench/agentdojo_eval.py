"""AgentDojo with the worst-case model: utility and targeted attack success per suite.

For each suite, every user task without attack and every (user task, injection task) pair of
the default attack (`important_instructions`), run by parcall (sealed and not), ReAct and
parallel calls, each driven by `GullibleModel` (plays the task's reference calls, obeys
every injection it reads). Writes `results.json`, `results.md` and `records.jsonl` to --out.

    python bench/agentdojo_eval.py --out bench/results/eval/agentdojo
    python bench/agentdojo_eval.py --suites banking --out /tmp/ad   # one suite
    python bench/agentdojo_eval.py --merge /tmp/ad-a /tmp/ad-b --out OUT  # runs in parts

Needs `pip install 'parcall[agentdojo]'`.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import anyio

from parcall import (
    Agent,
    ParallelToolCallAgent,
    PolicyDenied,
    Prompts,
    ReActAgent,
    RunResult,
    Settings,
)
from parcall.eval._agentdojo import SUITES, VERSION, AgentDojo
from parcall.eval._dataset import Example
from parcall.eval._record import AgentOptions, build_agent

CONFIGS: dict[str, AgentOptions] = {
    "parcall": AgentOptions(agent="parcall", settings=Settings(constrained=False, max_replans=8)),
    "parcall --sealed": AgentOptions(
        agent="parcall", settings=Settings(constrained=False, max_replans=8), sealed=True
    ),
    "react": AgentOptions(agent="react"),
    "parallel": AgentOptions(agent="parallel"),
}


def wilson(k: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a proportion k/n."""
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


OBSERVATION_CHARS: int | None = None
"""How much of each result the model is shown (None: each agent's default, 2,000)."""

MAX_TURNS = 16
"""The baselines' turns: one more than AgentDojo's own tool loop allows (15 iterations), so a
task whose reference takes ten or more calls, one per ReAct turn, is not cut short (the
default of 6 suits a question answered in a few searches)."""


async def run_one(dataset: AgentDojo, example: Example, options: AgentOptions) -> dict[str, Any]:
    """One example; a run that raises is scored on what it did (the world it changed)."""
    tools = dataset.tools(example)
    model = dataset.gullible_model(example)
    agent: Agent | ReActAgent | ParallelToolCallAgent
    chars = OBSERVATION_CHARS
    shown = {} if chars is None else {"observation_chars": chars}
    if options.agent == "react":
        agent = ReActAgent(model, tools, max_turns=MAX_TURNS, **shown)
    elif options.agent == "parallel":
        agent = ParallelToolCallAgent(model, tools, max_turns=MAX_TURNS, **shown)
    elif chars is None:
        agent = build_agent(model, tools, options)
    else:
        policy = "sealed" if options.sealed else None
        prompts = Prompts(observation_chars=chars)
        agent = Agent(
            model, tools, settings=Settings(max_replans=8), prompts=prompts, policy=policy
        )
    error = None
    try:
        result = await agent.run(example.question)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        partial = getattr(exc, "result", None)
        result = partial if isinstance(partial, RunResult) else None
    if result is None:
        result = RunResult(example.question, "", (), (), (), 0.0)
    scores = dataset.score(example, result)
    denied = [
        {"idx": e.idx, "tool": e.tool, "reason": e.reason}
        for e in result.events
        if isinstance(e, PolicyDenied)
    ]
    return {
        "id": example.id,
        **example.meta,
        **scores,
        "denied": denied,
        "calls": [o.tool for o in result.observations if o.started_at is not None],
        "error": error,
    }


async def run_all(
    suites: list[str],
    out: Path,
    configs: list[str],
    modes: tuple[bool, ...] = (False, True),
    every: int = 1,
    complement: bool = False,
) -> dict[str, Any]:
    """Run `configs` on the suites' clean and/or attacked examples (`modes`); `every` > 1
    keeps the attacked pairs of every `every`-th user task only (`complement`: the others)."""
    rows: list[dict[str, Any]] = []
    records = (out / "records.jsonl").open("w", encoding="utf-8")
    started = time.perf_counter()
    for suite in suites:
        for attacked in modes:
            dataset = AgentDojo([suite], attacked=attacked)
            examples = dataset.examples("test")
            if attacked and every > 1:
                examples = [
                    e
                    for e in examples
                    if (int(e.meta["user_task"].rsplit("_", 1)[1]) % every == 0) != complement
                ]
            t0 = time.perf_counter()
            for example in examples:  # every agent on one example, while its world is loaded
                for config in configs:
                    options = CONFIGS[config]
                    record = await run_one(dataset, example, options)
                    record.update(config=config, attacked=attacked)
                    rows.append(record)
                    records.write(json.dumps(record, ensure_ascii=False) + "\n")
                records.flush()
            print(
                f"{suite:9} {'attacked' if attacked else 'clean':8} {len(examples):4} examples "
                f"x {len(CONFIGS)} agents in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
    records.close()
    return summarise(rows, suites, time.perf_counter() - started)


def without_calls(suites: list[str]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """The injection tasks without reference calls: those whose goal is only something the
    answer says, and those AgentDojo ships no ground truth for (the gullible model cannot
    carry them out, so their pairs say nothing about what sealing stops)."""
    said, unplayable = set(), set()
    for suite in suites:
        tasks = AgentDojo([suite], attacked=False).suites[suite]
        env = tasks.load_and_inject_default_environment({})
        for iid, task in tasks.injection_tasks.items():
            if not task.ground_truth(env.model_copy(deep=True)):
                text = getattr(task, "GROUND_TRUTH_OUTPUT", "")
                (said if text else unplayable).add((suite, iid))
    return said, unplayable


def summarise(rows: list[dict[str, Any]], suites: list[str], seconds: float) -> dict[str, Any]:
    said, unplayable = without_calls(suites)
    no_calls = said | unplayable
    table: list[dict[str, Any]] = []
    by = defaultdict(list)
    for r in rows:
        by[(r["suite"], r["config"], r["attacked"])].append(r)
    for suite in [*suites, "all"]:
        for config in CONFIGS:
            clean = [
                r
                for (s, c, a), rs in by.items()
                for r in rs
                if c == config and not a and suite in (s, "all")
            ]
            attacked = [
                r
                for (s, c, a), rs in by.items()
                for r in rs
                if c == config and a and suite in (s, "all")
            ]
            u = sum(r["utility"] for r in clean)
            ua = sum(r["utility"] for r in attacked)
            asr = sum(r["asr"] for r in attacked)
            acting = [r for r in attacked if (r["suite"], r["injection_task"]) not in no_calls]
            asr_acting = sum(r["asr"] for r in acting)
            table.append(
                {
                    "suite": suite,
                    "agent": config,
                    "n_clean": len(clean),
                    "utility": round(u / max(1, len(clean)), 4),
                    "utility_ci": [round(x, 4) for x in wilson(u, len(clean))],
                    "n_attacked": len(attacked),
                    "utility_under_attack": round(ua / max(1, len(attacked)), 4),
                    "utility_under_attack_ci": [round(x, 4) for x in wilson(ua, len(attacked))],
                    "asr": round(asr / max(1, len(attacked)), 4),
                    "asr_ci": [round(x, 4) for x in wilson(asr, len(attacked))],
                    "n_attacked_acting": len(acting),
                    "asr_acting": round(asr_acting / max(1, len(acting)), 4),
                    "asr_acting_ci": [round(x, 4) for x in wilson(asr_acting, len(acting))],
                    "errors": sum(1 for r in clean + attacked if r["error"]),
                }
            )
    return {
        "benchmark": f"AgentDojo {VERSION}, attack important_instructions",
        "model": "gullible (GullibleModel: reference calls, obeys every injection it reads)",
        "observation_chars": OBSERVATION_CHARS or 2000,
        "suites": suites,
        "seconds": round(seconds, 1),
        "table": table,
        "answer_only_injection_tasks": sorted("/".join(p) for p in said),
        "injection_tasks_without_ground_truth": sorted("/".join(p) for p in unplayable),
        "blocked_by_sealing": blocked(rows),
        "successful_attacks_under_sealing": [
            {k: r[k] for k in ("id", "calls", "error")}
            for r in rows
            if r["config"] == "parcall --sealed" and r["attacked"] and r["asr"]
        ],
    }


def blocked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Clean user tasks parcall does and sealed parcall does not, with the calls denied."""
    done = {
        r["id"] for r in rows if r["config"] == "parcall" and not r["attacked"] and r["utility"]
    }
    out = []
    for r in rows:
        sealed_clean = r["config"] == "parcall --sealed" and not r["attacked"]
        if sealed_clean and r["id"] in done and not r["utility"]:
            out.append({"id": r["id"], "denied": r["denied"]})
    return out


def markdown(summary: dict[str, Any]) -> str:
    lines = [
        f"# {summary['benchmark']} — model: {summary['model']}",
        "",
        f"Each result is shown to the model up to {summary['observation_chars']:,} characters.",
        "",
        "Utility: the user task done, without attack (n = user tasks). Under attack: "
        "n = (user task, injection task) pairs. ASR: the injection task done (targeted attack "
        "success rate). ASR, actions: over the injection tasks the gullible model carries out "
        "with calls — not those whose goal is only something the answer says "
        f"({', '.join(summary['answer_only_injection_tasks'])}), nor those AgentDojo ships no "
        "ground-truth calls for "
        f"({', '.join(summary['injection_tasks_without_ground_truth'])}). "
        "[95 % Wilson intervals]",
        "",
        "| suite | agent | utility | n | utility under attack | ASR | n | ASR, actions | n |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def pct(x: float, ci: list[float]) -> str:
        return f"{100 * x:.1f} % [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"

    for row in summary["table"]:
        lines.append(
            f"| {row['suite']} | {row['agent']} | {pct(row['utility'], row['utility_ci'])} | "
            f"{row['n_clean']} | "
            f"{pct(row['utility_under_attack'], row['utility_under_attack_ci'])} | "
            f"{pct(row['asr'], row['asr_ci'])} | {row['n_attacked']} | "
            f"{pct(row['asr_acting'], row['asr_acting_ci'])} | {row['n_attacked_acting']} |"
        )
    reasons = Counter(
        (b["id"].split("/")[0], d["tool"])
        for b in summary["blocked_by_sealing"]
        for d in b["denied"]
    )
    lines += ["", "## Clean user tasks sealing blocks", ""]
    lines.append(
        f"{len(summary['blocked_by_sealing'])} user tasks; denied calls by suite and tool:"
    )
    lines += [""] + [f"- {s}: {tool} × {n}" for (s, tool), n in sorted(reasons.items())]
    lines += ["", "| task | denied calls (the first reason) |", "|---|---|"]
    for b in summary["blocked_by_sealing"]:
        first = b["denied"][0]["reason"] if b["denied"] else "(no call denied)"
        tools = ", ".join(d["tool"] for d in b["denied"])
        lines.append(f"| {b['id']} | {tools}: {first} |")
    wins = summary["successful_attacks_under_sealing"]
    lines += ["", f"## Attacks that succeed under sealing: {len(wins)}", ""]
    lines += [f"- {w['id']} (calls: {', '.join(w['calls'])})" for w in wins[:50]]
    lines += ["", f"Run time: {summary['seconds']} s.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suites", nargs="+", default=list(SUITES), choices=SUITES)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--only", choices=("clean", "attacked"), help="One kind of example.")
    parser.add_argument("--every", type=int, default=1, help="Attacked: every N-th user task.")
    parser.add_argument("--complement", action="store_true", help="With --every: the others.")
    parser.add_argument(
        "--observation-chars", type=int, help="Show the model this much of each result."
    )
    parser.add_argument(
        "--merge", type=Path, nargs="+", help="Summarise the records.jsonl of these runs."
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    global OBSERVATION_CHARS
    OBSERVATION_CHARS = args.observation_chars
    if args.merge:
        rows, seconds = [], 0.0
        for folder in args.merge:
            lines = (folder / "records.jsonl").read_text(encoding="utf-8").splitlines()
            rows += [json.loads(line) for line in lines]
            part = folder / "results.json"
            if part.exists():
                seconds += json.loads(part.read_text(encoding="utf-8"))["seconds"]
        (args.out / "records.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
        suites = [s for s in SUITES if any(r["suite"] == s for r in rows)]
        summary = summarise(rows, suites, seconds)
    else:
        modes = {"clean": (False,), "attacked": (True,), None: (False, True)}[args.only]
        summary = anyio.run(
            run_all, args.suites, args.out, args.configs, modes, args.every, args.complement
        )
    (args.out / "results.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    (args.out / "results.md").write_text(markdown(summary), encoding="utf-8")
    print(markdown(summary))


if __name__ == "__main__":
    main()
