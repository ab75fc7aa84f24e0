"""Prompt tokens a local model evaluates for the joiner, with and without the shared layout.

    python bench/prompt_layout.py [--model local] [--out FILE]  (default: a new folder here)

For each question of bench/fanout_eval.py, one plan and one joiner call (cut at a few tokens:
only the prompt is measured) run twice: with `prompt_layout="extend"` (the joiner's prompt
extends the planner's, so llama.cpp's prefix cache holds all but the results) and with
`"separate"` (LLMCompiler's own joiner prompt, read from the start). Greedy decoding gives
the same plan in both, so the joiner calls see the same results.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from statistics import mean
from typing import Any

import anyio
from fanout_eval import QUESTIONS

from parcall import Agent, ModelCallFinished, ParcallError, RunResult, Settings
from parcall.bench import new_out_dir
from parcall.models import resolve_model
from parcall.tools import DEMO_TOOLS


def join_call(result: RunResult) -> ModelCallFinished:
    return next(c for c in result.model_calls if c.purpose == "join")


async def measure(model: Any, layout: str, question: str) -> dict[str, Any]:
    agent = Agent(
        model,
        list(DEMO_TOOLS),
        settings=Settings(constrained=True, max_replans=0, max_join_tokens=4, prompt_layout=layout),
    )
    try:
        result = await agent.run(question)
    except ParcallError as exc:  # a cut-off joiner may still "replan": the run is kept
        result = exc.result
    call = join_call(result)
    return {
        "question": question,
        "layout": layout,
        "join_prompt_tokens": call.usage.input_tokens,
        "join_prompt_evaluated": call.usage.input_tokens - call.usage.cached_tokens,
        "join_seconds": round(call.time - call.started, 3),
        "plan": result.plans[0].text,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="local")
    parser.add_argument(
        "--out", type=Path, help="the JSON to write (default: in a new parcall-bench-* folder)"
    )
    args = parser.parse_args()
    model = resolve_model(args.model)

    async def go() -> list[dict[str, Any]]:
        await model.load()  # type: ignore[attr-defined]
        rows = []
        for question, _ in QUESTIONS:
            for layout in ("extend", "separate"):
                row = await measure(model, layout, question)
                rows.append(row)
                print(
                    f"{layout:8} join prompt {row['join_prompt_tokens']:5} tokens, evaluated "
                    f"{row['join_prompt_evaluated']:5}, {row['join_seconds']:6.2f} s  {question}",
                    flush=True,
                )
        return rows

    rows = anyio.run(go)
    summary: dict[str, Any] = {"model": model.name, "rows": rows}
    for layout in ("extend", "separate"):
        mine = [r for r in rows if r["layout"] == layout]
        summary[layout] = {
            "mean_join_prompt_tokens": round(mean(r["join_prompt_tokens"] for r in mine)),
            "mean_join_prompt_evaluated": round(mean(r["join_prompt_evaluated"] for r in mine)),
            "mean_join_seconds": round(mean(r["join_seconds"] for r in mine), 2),
        }
    same_plans = sum(a["plan"] == b["plan"] for a, b in zip(rows[::2], rows[1::2]))
    summary["same_plan_in_both_layouts"] = same_plans
    args.out = args.out or new_out_dir() / "prompt_layout.json"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(
        json.dumps({k: summary[k] for k in ("extend", "separate")}, indent=1),
        f"same plan in both layouts: {same_plans}/{len(QUESTIONS)}",
    )


if __name__ == "__main__":
    main()
