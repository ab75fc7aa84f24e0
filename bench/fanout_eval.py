"""Ten fan-out questions answered with the built-in offline tools by a real model.

    python bench/fanout_eval.py [--model local] [--free] [--out FILE]  (default: a new folder here)

Each question needs two or more independent lookups, then a combining step. A question is
right when every expected keyword appears in the answer (case-insensitive); the figures are
the plan's validity, the tasks run, whether any ran in parallel, and the latency.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import time
from pathlib import Path
from typing import Any

import anyio

from parcall import Agent, ParcallError, Settings, TaskStarted
from parcall.bench import new_out_dir
from parcall.models import resolve_model
from parcall.tools import DEMO_TOOLS

Expected = str | tuple[str, str] | list[list[str]]

QUESTIONS: list[tuple[str, Expected]] = [
    # (question, expected): "yes"/"no" for a yes-no question; (right, other) for a choice
    # between two; else keyword alternatives (right if all keywords of one appear).
    ("Were Scott Derrickson and Ed Wood of the same nationality?", "yes"),
    ("Who is older, Annie Morton or Terry Richardson?", ("terry richardson", "annie morton")),
    ("Are the Laleli Mosque and the Esma Sultan Mansion in the same neighborhood?", "no"),
    ("Are Elko Regional Airport and Gerald R. Ford International Airport both in Michigan?", "no"),
    (
        "Are the films Freakonomics and In the Realm of the Hackers both American documentaries?",
        "no",
    ),
    ("Are Ferocactus, Silene, Ajuga and Dictyosperma all genera of plants?", "yes"),
    (
        "Which band has more members, Letters to Cleo or Screaming Trees?",
        ("letters to cleo", "screaming trees"),
    ),
    ("How many musicians are in Wolf Alice and Buck-Tick together?", [["9"], ["nine"]]),
    ("How old was Peter Schmeichel when his son Kasper Schmeichel was born?", [["22"]]),
    ("How many more years did Richard Nixon live than Ed Wood?", [["27"]]),
]

_NEGATIVE = re.compile(r"\b(no|not|neither|only one|isn't|aren't|wasn't|weren't)\b")


def right(answer: str, expected: Expected) -> bool | None:
    """Yes-no questions are graded by polarity: an answer that says no/not/neither is "no",
    any other non-empty answer "yes". A choice is right when it names the right option only;
    naming both needs a reader (None). Others need every keyword of one alternative."""
    text = answer.lower()
    if isinstance(expected, str):
        return bool(text.strip()) and ("no" if _NEGATIVE.search(text) else "yes") == expected
    if isinstance(expected, tuple):
        good, other = expected
        if good in text and other in text:
            return None
        return good in text
    return any(all(k in text for k in keywords) for keywords in expected)


async def ask(agent: Agent, question: str) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = await agent.run(question)
    except ParcallError as exc:
        return {
            "question": question,
            "error": f"{type(exc).__name__}: {exc}",
            "latency_s": time.perf_counter() - started,
        }
    running = peak = 0
    for event in result.events:
        if isinstance(event, TaskStarted):
            running += 1
            peak = max(peak, running)
        elif event.kind in ("task_finished", "task_failed"):
            running -= 1
    plan_errors = [e.error for e in result.events if e.kind == "plan_finished" and e.error]
    return {
        "question": question,
        "answer": result.answer,
        "latency_s": round(time.perf_counter() - started, 2),
        "plans": [p.text for p in result.plans],
        "plan_errors": plan_errors,
        "tasks": len(result.observations),
        "failed_tasks": sum(not o.ok for o in result.observations),
        "max_parallel": peak,
        "input_tokens": result.usage.input_tokens,
        "cached_tokens": result.usage.cached_tokens,
        "output_tokens": result.usage.output_tokens,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="local")
    parser.add_argument("--free", action="store_true", help="no grammar constraint")
    parser.add_argument("--layout", default="extend", choices=["extend", "separate"])
    parser.add_argument(
        "--out", type=Path, help="the JSON to write (default: in a new parcall-bench-* folder)"
    )
    parser.add_argument("--regrade", type=Path, help="grade a results file again, run nothing")
    args = parser.parse_args()
    if args.regrade:
        regrade(args.regrade)
        return
    model = resolve_model(args.model)
    agent = Agent(
        model,
        list(DEMO_TOOLS),
        # constrained None: on when the model takes grammars
        settings=Settings(constrained=False if args.free else None, prompt_layout=args.layout),
    )

    async def go() -> list[dict[str, Any]]:
        if hasattr(model, "load"):
            await model.load()
        rows = []
        for question, expected in QUESTIONS:
            row = await ask(agent, question)
            row["right"] = right(row["answer"], expected) if "answer" in row else False
            rows.append(row)
            mark = {True: "RIGHT", False: "wrong", None: "check"}[row["right"]]
            print(
                f"{mark}  {row['latency_s']:6.1f} s  "
                f"{row.get('tasks', 0)} tasks (max {row.get('max_parallel', 0)} at once)  "
                f"{question} → {row.get('answer', row.get('error'))}",
                flush=True,
            )
        return rows

    rows = anyio.run(go)
    latencies = sorted(r["latency_s"] for r in rows)
    summary = {
        "model": getattr(model, "name", args.model),
        "constrained": agent.constrained,
        "layout": args.layout,
        "right": sum(r["right"] is True for r in rows),
        "to_check_by_hand": [r["question"] for r in rows if r["right"] is None],
        "questions": len(rows),
        "plans_without_errors": sum(not r.get("plan_errors") and "error" not in r for r in rows),
        "median_latency_s": latencies[len(latencies) // 2],
        "total_s": round(sum(latencies), 1),
        # Prompt tokens the model actually evaluated (the rest came from its prefix cache).
        "prompt_tokens": sum(r.get("input_tokens", 0) for r in rows),
        "prompt_tokens_evaluated": sum(
            r.get("input_tokens", 0) - r.get("cached_tokens", 0) for r in rows
        ),
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
        },
        "rows": rows,
    }
    args.out = args.out or new_out_dir() / "fanout_eval.json"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(
        f"prompt tokens evaluated {summary['prompt_tokens_evaluated']} of "
        f"{summary['prompt_tokens']}"
    )
    print(
        f"\n{summary['right']}/{summary['questions']} right, plans valid "
        f"{summary['plans_without_errors']}/{summary['questions']}, median latency "
        f"{summary['median_latency_s']} s → {args.out}"
    )


def regrade(path: Path) -> None:
    """Apply this file's grader to saved answers (the grader may be newer than the run)."""
    summary = json.loads(path.read_text())
    expected = dict(QUESTIONS)
    for row in summary["rows"]:
        row["right"] = right(row["answer"], expected[row["question"]]) if "answer" in row else False
    summary["right"] = sum(r["right"] is True for r in summary["rows"])
    summary["to_check_by_hand"] = [r["question"] for r in summary["rows"] if r["right"] is None]
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    for row in summary["rows"]:
        mark = {True: "RIGHT", False: "wrong", None: "check"}[row["right"]]
        print(f"{mark}  {row['question']} → {row.get('answer', row.get('error'))}")
    print(
        f"{summary['right']}/{len(summary['rows'])} right; check by hand: "
        f"{summary['to_check_by_hand']}"
    )


if __name__ == "__main__":
    main()
