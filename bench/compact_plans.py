"""Tokens per task line of a plan, written three ways.

    python bench/compact_plans.py --out bench/results [--model local]

For the reference workloads' plans (W1–W3, U1, U2): `thought` = a `Thought:` line before
each task and keyword arguments (`1. search(query="…")`), `keyword` = keyword arguments
only, `compact` = positional arguments only (`1. search("…")`), which the parser and the
plan grammar accept. Counted with the scripted model's 4-character pieces and, when the
model file is here, with the embedded model's own tokenizer (its vocabulary only is loaded).
Writes `compact_plans.json` and `compact_plans.md` to `--out`.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from parcall.bench import reference_workloads
from parcall.bench._workloads import SimTask, quote
from parcall.models._scripted import count_tokens

ARG = {"search": "query", "math": "expression"}


def written(task: SimTask, style: str) -> str:
    if style == "compact":
        return task.line()
    line = f"{task.idx}. {task.tool}({ARG[task.tool]}={quote(task.arg)})"
    if style == "keyword":
        return line
    what = re.sub(r"^t\d+ ", "", task.arg)
    return f"Thought: {task.tool} for {what}.\n{line}"


def model_tokenizer(spec: str) -> Callable[[str], int] | None:
    try:
        import llama_cpp

        from parcall.models import resolve_local

        path = resolve_local(spec, download=False)
    except Exception:  # no llama-cpp-python or no model file: scripted counts only
        return None
    llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    return lambda text: len(llm.tokenize(text.encode(), add_bos=False, special=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="local")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    counters: dict[str, Callable[[str], int]] = {"scripted (4 chars)": count_tokens}
    tokenizer = model_tokenizer(args.model)
    if tokenizer is not None:
        counters[f"{args.model} tokenizer"] = tokenizer
    rows: list[dict[str, Any]] = []
    tasks = [t for wl in reference_workloads().values() for t in wl.tasks]
    for name, count in counters.items():
        for style in ("thought", "keyword", "compact"):
            total = sum(count(written(t, style) + "\n") for t in tasks)
            rows.append(
                {
                    "tokenizer": name,
                    "style": style,
                    "tasks": len(tasks),
                    "tokens_per_task": round(total / len(tasks), 2),
                }
            )
    lines = ["| tokenizer | style | tasks | tokens per task |", "|---|---|---:|---:|"]
    lines += [
        f"| {r['tokenizer']} | {r['style']} | {r['tasks']} | {r['tokens_per_task']:.2f} |"
        for r in rows
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "compact_plans.json").write_text(
        json.dumps({"kind": "parcall-bench-compact-plans", "rows": rows}, indent=1) + "\n"
    )
    (args.out / "compact_plans.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
