"""Load on `parcall serve`: many concurrent streaming clients (official openai client) against
one server on loopback (its own process) whose agent uses `ScriptedModel` and sleeping tools.

    python bench/serve_load.py --clients 200 --out /tmp/serve-bench

Reports each client's latency (request sent → `[DONE]`) as p50 / p99, next to the bound of
one run: the latency of the same request alone on the idle server (scripted model latencies
plus the tools' critical path, plus HTTP). Writes serve_load.json and serve_load.md to --out.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import socket
import statistics
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import openai

from parcall import Agent, ModelRequest, ScriptedModel, tool
from parcall.serve import Limits, create_app, serve

PLAN = '1. search("a")\n2. search("b")\n3. search(query=$1)\n4. search(query=$2)\njoin()\n'


def build_agent(ttft: float, tps: float, tool_latency: float) -> Agent:
    def script(request: ModelRequest) -> str:
        if request.purpose == "plan":
            return PLAN
        return "Thought: enough.\nAction: Finish(the answer)"

    @tool
    async def search(query: str) -> str:
        """Look a fact up."""
        await anyio.sleep(tool_latency)
        return f"found {query}"

    model = ScriptedModel([script], cycle=True, time_to_first_token=ttft, tokens_per_second=tps)
    return Agent(model, [search])


async def one(client: Any) -> float:
    start = time.perf_counter()
    stream = await client.chat.completions.create(
        model="parcall", messages=[{"role": "user", "content": "q"}], stream=True
    )
    text = []
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text.append(chunk.choices[0].delta.content)
    assert "".join(text) == "the answer", text
    return time.perf_counter() - start


async def measure(url: str, clients: int, alone: int) -> tuple[list[float], list[float], float]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)
    async with openai.AsyncOpenAI(
        base_url=f"{url}/v1",
        api_key="none",
        max_retries=0,
        timeout=120,
        http_client=httpx.AsyncClient(limits=limits, timeout=120),
    ) as client:
        single = [await one(client) for _ in range(alone)]
        latencies: list[float] = []

        async def record() -> None:
            latencies.append(await one(client))

        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(clients):
                tg.start_soon(record)
        wall = time.perf_counter() - start
    return single, latencies, wall


def run_server(
    port: int, ttft: float, tps: float, tool_latency: float, running: int, waiting: int
) -> None:
    limits = Limits(max_running=running, max_waiting=waiting)
    app = create_app(build_agent(ttft, tps, tool_latency), limits=limits)
    serve(app, port=port, log_level="warning")


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/health").raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the server did not start within 60 s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--max-running", type=int, default=200)
    parser.add_argument("--ttft", type=float, default=0.05, help="model time to first token (s)")
    parser.add_argument("--tps", type=float, default=200.0, help="model tokens per second")
    parser.add_argument("--tool-latency", type=float, default=0.1, help="each tool call (s)")
    parser.add_argument("--alone", type=int, default=5, help="lone runs for the bound")
    parser.add_argument("--out", type=Path, required=True, help="folder for JSON and markdown")
    args = parser.parse_args()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = multiprocessing.get_context("spawn").Process(
        target=run_server,
        args=(port, args.ttft, args.tps, args.tool_latency, args.max_running, args.clients),
    )
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        single, latencies, wall = anyio.run(measure, url, args.clients, args.alone)
        state = httpx.get(f"{url}/health").json()
    finally:
        os.kill(server.pid or 0, signal.SIGTERM)  # graceful: as a deployment stops it
        server.join(30)
    bound = statistics.median(single)
    figures = {
        "clients": args.clients,
        "max_running": args.max_running,
        "model": {"time_to_first_token_s": args.ttft, "tokens_per_second": args.tps},
        "tool_latency_s": args.tool_latency,
        "one_run_alone_s": bound,
        "p50_s": percentile(latencies, 0.5),
        "p99_s": percentile(latencies, 0.99),
        "max_s": max(latencies),
        "p50_over_bound": percentile(latencies, 0.5) / bound,
        "p99_over_bound": percentile(latencies, 0.99) / bound,
        "wall_s": wall,
        "answered": len(latencies),
        "served": state["served"],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "serve_load.json").write_text(json.dumps(figures, indent=2) + "\n")
    table = (
        "| clients | one run alone | p50 | p99 | p50 / bound | p99 / bound | answered |\n"
        "|---:|---:|---:|---:|---:|---:|---:|\n"
        f"| {args.clients} | {bound:.3f} s | {figures['p50_s']:.3f} s | "
        f"{figures['p99_s']:.3f} s | {figures['p50_over_bound']:.2f}× | "
        f"{figures['p99_over_bound']:.2f}× | {len(latencies)} |\n"
    )
    (args.out / "serve_load.md").write_text(table)
    print(table, end="")
    print(f"wrote {args.out / 'serve_load.json'} and {args.out / 'serve_load.md'}")


if __name__ == "__main__":
    main()
