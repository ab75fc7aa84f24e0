"""Accuracy levers on HotpotQA's dev split, one at a time, on any local model.

`parcall eval` measures the agents as shipped; this script switches single levers that are
not flags of `parcall eval` (repeat penalty, the extract tool, grounded answers, the lookup
tool, how much of a paragraph search returns) so each can be measured on the dev split.

    python bench/levers.py --out DIR [--model local] [--split dev] [--limit 12]
        [--agent parcall|react] [--repeat-penalty 1.0] [--extract] [--grounded]
        [--lookup] [--search-chars 400] [--threads 2]

Writes DIR/levers.<settings>.jsonl (one line per question) and prints EM/F1/seconds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from parcall import Agent, JoinPolicy, LlamaCpp, ReActAgent, Settings
from parcall.eval._hotpotqa import HotpotQA, hotpot_em, hotpot_f1
from parcall.tools import extract_tool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default="local")
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument("--agent", choices=("parcall", "react"), default="parcall")
    parser.add_argument("--repeat-penalty", type=float, default=1.0)
    parser.add_argument("--extract", action="store_true", help="add the extract tool")
    parser.add_argument("--grounded", action="store_true", help="JoinPolicy(grounded=True)")
    parser.add_argument("--lookup", action="store_true", help="offer lookup besides search")
    parser.add_argument("--search-chars", type=int, default=400)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    dataset = HotpotQA(search_chars=args.search_chars, lookup=args.lookup)
    model = LlamaCpp(args.model, n_threads=args.threads, repeat_penalty=args.repeat_penalty)
    side = model.fork()
    settings = (
        f"{args.agent}.{args.model.replace(':', '-')}.rp{args.repeat_penalty}"
        f"{'.extract' if args.extract else ''}{'.grounded' if args.grounded else ''}"
        f"{'.lookup' if args.lookup else ''}.chars{args.search_chars}"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"levers.{args.split}.{settings}.jsonl"
    ems: list[float] = []
    f1s: list[float] = []
    walls: list[float] = []
    with path.open("w", encoding="utf-8") as records:
        for example in list(dataset.examples(args.split))[: args.limit]:
            tools = list(dataset.tools(example))
            if args.extract:
                tools.append(extract_tool(side))
            agent = (
                ReActAgent(model, tools)
                if args.agent == "react"
                else Agent(
                    model,
                    tools,
                    settings=Settings(constrained=True, join=JoinPolicy(grounded=args.grounded)),
                )
            )
            started = time.perf_counter()
            error = None
            try:
                result = agent.run_sync(example.question)
                answer, plans = result.answer, [p.text for p in result.plans]
            except Exception as exc:  # a failed question scores 0 and is recorded
                answer, plans, error = "", [], f"{type(exc).__name__}: {exc}"
            wall = time.perf_counter() - started
            em, f1 = hotpot_em(answer, example.gold), hotpot_f1(answer, example.gold)
            ems.append(em)
            f1s.append(f1)
            walls.append(wall)
            record = {
                "id": example.id,
                "question": example.question,
                "gold": example.gold,
                "prediction": answer,
                "em": em,
                "f1": f1,
                "wall_s": wall,
                "plans": plans,
                "error": error,
            }
            records.write(json.dumps(record, ensure_ascii=False) + "\n")
            records.flush()
            print(f"{example.id} em={em:.0f} {wall:5.1f}s {answer[:50]!r} (gold {example.gold!r})")
    n = len(ems)
    print(
        f"{settings}: n={n} EM={sum(ems) / n:.3f} F1={sum(f1s) / n:.3f} "
        f"s/question={sum(walls) / n:.1f} -> {path}"
    )


if __name__ == "__main__":
    main()
