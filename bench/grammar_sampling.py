"""Where constrained calls spend their time: llama.cpp's grammar over every candidate token
at every step (llama-cpp-python's sampler chain) against parcall's lazy check of the greedy
token only. Both produce the same tokens; this measures ms per generated token, interleaved
in one run so the ratio holds on a noisy machine.

    python bench/grammar_sampling.py --out DIR [--model local] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import anyio

from parcall import LlamaCpp, Prompts
from parcall._planner.grammar import join_grammar, plan_grammar
from parcall.models import Message, ModelRequest
from parcall.tools import DEMO_TOOLS

QUESTION = "Were Scott Derrickson and Ed Wood of the same nationality?"


PLAN = '1. search(query="Scott Derrickson")\n2. search(query="Ed Wood")\njoin()'
RESULTS = (
    '1. search(query="Scott Derrickson")\n   → Scott Derrickson (born July 16, 1966) is an '
    "American director, screenwriter and producer.\n"
    '2. search(query="Ed Wood")\n   → Edward Davis Wood Jr. (1924 – 1978) was an American '
    "filmmaker, actor, writer, producer, and director."
)


def full_filter(model: LlamaCpp, request: ModelRequest, gbnf: str, limit: int) -> int:
    """llama-cpp-python's own path: the grammar in the sampler chain, all candidates."""
    from llama_cpp.llama_grammar import LlamaGrammar

    llm = model._llm
    prompt = model._render(request.messages)[0]
    tokens = llm.tokenize(prompt.encode(), add_bos=False, special=True)
    grammar = LlamaGrammar.from_string(gbnf, verbose=False)
    model._abort.clear()
    n = 0
    for token in llm.generate(tokens, temp=0.0, repeat_penalty=1.1, grammar=grammar):
        if llm.token_eos() == token or n >= limit:
            break
        n += 1
    return n


async def lazy(model: LlamaCpp, request: ModelRequest) -> int:
    n = 0
    async for chunk in model.stream(request):
        if getattr(chunk, "kind", "") == "usage":
            n = chunk.usage.output_tokens  # type: ignore[union-attr]
    return n


def _counted(row: dict[str, object], name: str, mode: str) -> bool:
    return row["grammar"] == name and row["mode"] == mode and not row["warmup"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default="local")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model = LlamaCpp(args.model)
    anyio.run(model.load)
    rows = []
    prompts = Prompts()
    # The agent's own planner prompt, and a joiner prompt after two searches.
    plan_messages = (
        Message("system", prompts.system(DEMO_TOOLS)),
        Message("user", prompts.question(QUESTION)),
    )
    join_messages = (
        *plan_messages,
        Message("assistant", PLAN),
        Message(
            "user",
            f"Results:\n{RESULTS}\n\n{prompts.join_instructions}".replace(
                "{question}", QUESTION
            ).replace("{answer_form}", "yes or no"),
        ),
    )
    for name, gbnf, messages in (
        ("plan", plan_grammar(DEMO_TOOLS), plan_messages),
        ("join", join_grammar(), join_messages),
    ):
        request = ModelRequest(messages, max_tokens=48, temperature=0.0, grammar=gbnf)
        for repeat in range(args.repeats + 1):
            for mode in ("lazy", "full"):
                # Same prompt each time: after the first call the prompt is cached, so both
                # modes time generation, not prefill (the first pair is a warm-up).
                started = time.perf_counter()
                if mode == "lazy":
                    tokens = anyio.run(lazy, model, request)
                else:
                    tokens = full_filter(model, request, gbnf, 48)
                took = time.perf_counter() - started
                rows.append(
                    {
                        "grammar": name,
                        "mode": mode,
                        "tokens": tokens,
                        "seconds": took,
                        "warmup": repeat == 0,
                    }
                )
    summary = {}
    for name in ("plan", "join"):
        per = {
            mode: sum(r["seconds"] for r in rows if _counted(r, name, mode))
            / max(1, sum(r["tokens"] for r in rows if _counted(r, name, mode)))
            for mode in ("lazy", "full")
        }
        summary[name] = {
            "lazy_s_per_token": per["lazy"],
            "full_s_per_token": per["full"],
            "lazy_over_full": per["lazy"] / per["full"],
        }
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {
        "model": model.name,
        "machine": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
        "note": "prompt cached; the first pair of each grammar is a warm-up, not counted",
    }
    (args.out / "grammar_sampling.json").write_text(
        json.dumps({"meta": meta, "summary": summary, "rows": rows}, indent=2) + "\n"
    )
    lines = [
        "| grammar | full filter (s/token) | lazy check (s/token) | lazy / full |",
        "|---|---:|---:|---:|",
    ]
    for name, s in summary.items():
        lines.append(
            f"| {name} | {s['full_s_per_token']:.3f} | {s['lazy_s_per_token']:.3f} "
            f"| {s['lazy_over_full']:.2f} |"
        )
    (args.out / "grammar_sampling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
