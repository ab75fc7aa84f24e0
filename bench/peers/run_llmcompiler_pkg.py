"""Drive the `llmcompiler` PyPI package (LangGraph/LangChain based) fully offline.

Run with the peers venv:  bench/.venv-peers/bin/python bench/peers/run_llmcompiler_pkg.py

The planner and the joiner are a scripted LangChain ``BaseChatModel`` (``ScriptedChatModel``)
that streams a fixed reply at the reference pace (ttft 0.30 s, 0.01 s per 4-char token) when
the peer streams (``_stream``) and returns it after the full duration otherwise
(``_generate``). Tools are LangChain ``StructuredTool``s that sleep the task's latency.

Dialect this peer needs (checked in llmcompiler/graph/output_parser.py):
* plan lines with keyword arguments, ``1. search(query="...")``: its argument parser only
  extracts ``key=value`` pairs (positional args are silently dropped -> tool called with
  no arguments);
* joiner reply as a ```json {"_thought_": ..., "_finish_": ...}``` block (graph/joiner.py).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from importlib.metadata import version
from typing import Any

from _common import (
    Recorder,
    cp,
    now,
    parse_args,
    run_all,
    run_figures,
    sleep_until,
    token_schedule,
    tool_latency,
    wls,
)
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.tools import StructuredTool
from pydantic import ConfigDict

PEER = "llmcompiler"
PLAN_DIALECT = "kwargs"
JOIN_DIALECT = "json"


class ScriptedChatModel(BaseChatModel):
    """Fixed reply, streamed at the scripted pace."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    script: str
    role: str
    recorder: Any
    timing: Any = wls.REFERENCE_TIMING

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kw: Any,
    ) -> ChatResult:
        t0 = now()
        self.recorder.model_call(f"{self.role}:generate")
        sleep_until(t0 + cp.reply_duration(self.script, self.timing))
        self.recorder.log("model_end", self.role)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.script))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kw: Any,
    ):
        t0 = now()
        self.recorder.model_call(f"{self.role}:stream")
        for tok, at in token_schedule(self.script, self.timing):
            sleep_until(t0 + at)
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=tok))
            if run_manager:
                run_manager.on_llm_new_token(tok, chunk=chunk)
            yield chunk
        self.recorder.log("model_end", self.role)


def make_tools(wl: wls.Workload, rec: Recorder) -> list[StructuredTool]:
    def _run(tool: str, arg: str) -> str:
        idx, lat = tool_latency(wl, arg)
        rec.log("tool_start", str(idx))
        t0 = now()
        sleep_until(t0 + lat)
        rec.log("tool_end", str(idx))
        return wls.tool_result(idx)

    def search(query: str) -> str:
        """Search the web for the query and return a short snippet."""
        return _run("search", query)

    def math(expression: str) -> str:
        """Evaluate a math expression described in words."""
        return _run("math", expression)

    return [
        StructuredTool.from_function(func=search, name="search"),
        StructuredTool.from_function(func=math, name="math"),
    ]


def run_one(wl: wls.Workload, repeat: int, verbose: bool = False) -> dict:
    from llmcompiler.chat.run import RunLLMCompiler
    from llmcompiler.result.chat import ChatRequest

    plan = wls.render_plan_text(wl, PLAN_DIALECT)
    join = wls.render_joiner_text(wl, JOIN_DIALECT)
    bound = cp.workload_bound(wl, plan, join)
    rec = Recorder()
    planner = ScriptedChatModel(script=plan, role="planner", recorder=rec)
    joiner = ScriptedChatModel(script=join, role="joiner", recorder=rec)
    agent = RunLLMCompiler(
        ChatRequest(message=wl.question),
        tools=make_tools(wl, rec),
        planer=planner,
        joiner=joiner,
        print_graph=False,
        print_dag=False,
    )
    sink = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
    with sink:
        rec.reset()
        t0 = now()
        resp = agent.run()
        makespan = now() - t0
    return run_figures(wl, rec, bound, makespan, resp.response)


def main() -> None:
    args = parse_args(default_out="peers.jsonl")
    if not args.verbose:
        logging.disable(logging.WARNING)  # the package logs a warning on every 0.1 s poll
    print(f"# {PEER} {version('llmcompiler')} cpu_count={os.cpu_count()}", file=sys.stderr)
    run_all(args, PEER, version("llmcompiler"), lambda wl, r: run_one(wl, r, verbose=args.verbose))


if __name__ == "__main__":
    main()
