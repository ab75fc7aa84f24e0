"""Do later model calls slow down after a read-ahead (prefill) is cancelled?

Each round writes a 30-token "plan" for a new question, then reads ahead a 600-token join
prompt, which is either left alone (`none`), read whole (`full`) or cancelled after 0.9 s
as a tool's result arriving would (`cancel`), then answers it in 8 tokens. The figure is
the plan's generation time (after its first token) per round: a cancelled prefill that
leaves the machine busy shows up in the next round's plan.

    python bench/prefill_cancel.py [--rounds 6] [--runs 2] [--out DIR]

Writes DIR/prefill_cancel.json and prints a table (mean over rounds 2..N of each run).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import anyio

from parcall import LlamaCpp
from parcall.models import Message, ModelRequest, TextChunk

SYSTEM = Message("system", "You are a planner. " * 120)
MODES = ("none", "cancel", "full")


async def _generate(model: LlamaCpp, messages: tuple[Message, ...], n: int) -> float:
    """Seconds from the first text to the end of an `n`-token greedy reply."""
    first: float | None = None
    async for chunk in model.stream(ModelRequest(messages, max_tokens=n, temperature=0.0)):
        if first is None and isinstance(chunk, TextChunk):
            first = time.perf_counter()
    return time.perf_counter() - (first or time.perf_counter())


async def _run(mode: str, rounds: int) -> list[float]:
    model = LlamaCpp("local")
    await model.load()
    plans = []
    for k in range(rounds):
        question = Message("user", f"Question {k}: write a long plan about topic {k}.")
        plans.append(await _generate(model, (SYSTEM, question), 30))
        results = Message("user", "Results:\n" + "result text about things. " * 60)
        ahead = (SYSTEM, question, Message("assistant", "plan"), results)
        if mode == "cancel":
            with anyio.move_on_after(0.9):
                await model.prefill(ahead)
        elif mode == "full":
            await model.prefill(ahead)
        asked = Message("user", f"{results.content} done. Answer.")
        await _generate(model, (*ahead[:-1], asked), 8)
    model.close()
    return plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    times: dict[str, list[list[float]]] = {m: [] for m in MODES}
    for _ in range(args.runs):
        for mode in MODES:  # interleaved, so the machine's drift touches every mode
            times[mode].append(anyio.run(_run, mode, args.rounds))
    print("| read-ahead | plan generation, s (rounds 2..N, mean of runs) |\n|---|---:|")
    for mode in MODES:
        later = [t for run in times[mode] for t in run[1:]]
        print(f"| {mode} | {statistics.mean(later):.2f} |")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "prefill_cancel.json").write_text(json.dumps(times, indent=1) + "\n")


if __name__ == "__main__":
    main()
