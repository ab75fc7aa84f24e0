"""Drive the LlamaIndex LLMCompiler agent pack fully offline.

Run with the peers venv:  bench/.venv-peers/bin/python bench/peers/run_llamaindex_pack.py

The model is a scripted LlamaIndex ``CustomLLM`` (``ScriptedLLM``): ``stream_complete`` /
``astream_complete`` stream the fixed reply at the reference pace (ttft 0.30 s, 0.01 s per
4-char token); ``complete`` / ``acomplete`` / ``achat`` return it after the full duration
(async variants sleep without blocking the event loop, like a real async client would). The
planner and the joiner share this one LLM, as in the pack; the reply is chosen from the
prompt (planner prompt vs. joiner prompt).

Dialect this peer needs (checked in llama_index/packs/agents_llm_compiler/output_parser.py):
* plan lines with positional arguments, ``1. search("...")`` (the original LLMCompiler
  format; its system prompt says "Do NOT specify arguments in kwargs format");
* joiner reply ``Thought: ...`` / ``Action: Finish(answer)``.
Tools are ``FunctionTool``s with an ``async_fn`` that sleeps the task's latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import sys
from importlib.metadata import version
from typing import Any

from _common import (
    Recorder,
    asleep_until,
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
from llama_index.core.base.llms.generic_utils import completion_response_to_chat_response
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM
from llama_index.core.tools import FunctionTool
from pydantic import ConfigDict

PEER = "llama-index-packs-agents-llm-compiler"
PLAN_DIALECT = "positional"
JOIN_DIALECT = "react"
PLANNER_MARK = "create a plan to solve it"


class ScriptedLLM(CustomLLM):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    plan: str
    join: str
    recorder: Any
    timing: Any = wls.REFERENCE_TIMING

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="scripted", is_chat_model=False)

    def _pick(self, prompt: str, how: str) -> tuple[str, str]:
        role = "planner" if PLANNER_MARK in prompt else "joiner"
        self.recorder.model_call(f"{role}:{how}")
        return role, (self.plan if role == "planner" else self.join)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> CompletionResponse:
        t0 = now()
        role, text = self._pick(prompt, "complete")
        sleep_until(t0 + cp.reply_duration(text, self.timing))
        self.recorder.log("model_end", role)
        return CompletionResponse(text=text)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kw: Any
    ) -> CompletionResponseGen:
        t0 = now()
        role, text = self._pick(prompt, "stream_complete")

        def gen() -> CompletionResponseGen:
            acc = ""
            for tok, at in token_schedule(text, self.timing):
                sleep_until(t0 + at)
                acc += tok
                yield CompletionResponse(text=acc, delta=tok)
            self.recorder.log("model_end", role)

        return gen()

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kw: Any
    ) -> CompletionResponse:
        t0 = now()
        role, text = self._pick(prompt, "acomplete")
        await asleep_until(t0 + cp.reply_duration(text, self.timing))
        self.recorder.log("model_end", role)
        return CompletionResponse(text=text)

    @llm_completion_callback()
    async def astream_complete(self, prompt: str, formatted: bool = False, **kw: Any):
        t0 = now()
        role, text = self._pick(prompt, "astream_complete")

        async def gen():
            acc = ""
            for tok, at in token_schedule(text, self.timing):
                await asleep_until(t0 + at)
                acc += tok
                yield CompletionResponse(text=acc, delta=tok)
            self.recorder.log("model_end", role)

        return gen()

    @llm_chat_callback()
    async def achat(self, messages: list[ChatMessage], **kw: Any) -> ChatResponse:
        # CustomLLM.achat calls the blocking chat(); a real async client would not block.
        prompt = self.messages_to_prompt(messages)
        return completion_response_to_chat_response(await self.acomplete(prompt, formatted=True))


def make_tools(wl: wls.Workload, rec: Recorder) -> list[FunctionTool]:
    def _sync(arg: str) -> str:
        idx, lat = tool_latency(wl, arg)
        rec.log("tool_start", str(idx))
        sleep_until(now() + lat)
        rec.log("tool_end", str(idx))
        return wls.tool_result(idx)

    async def _async(arg: str) -> str:
        idx, lat = tool_latency(wl, arg)
        rec.log("tool_start", str(idx))
        await asyncio.sleep(lat)
        rec.log("tool_end", str(idx))
        return wls.tool_result(idx)

    def search(query: str) -> str:
        """Search the web for the query and return a short snippet."""
        return _sync(query)

    async def asearch(query: str) -> str:
        """Search the web for the query and return a short snippet."""
        return await _async(query)

    def math(expression: str) -> str:
        """Evaluate a math expression described in words."""
        return _sync(expression)

    async def amath(expression: str) -> str:
        """Evaluate a math expression described in words."""
        return await _async(expression)

    return [
        FunctionTool.from_defaults(fn=search, async_fn=asearch, name="search"),
        FunctionTool.from_defaults(fn=math, async_fn=amath, name="math"),
    ]


def run_one(wl: wls.Workload, repeat: int, verbose: bool = False) -> dict:
    from llama_index.packs.agents_llm_compiler import LLMCompilerAgentPack

    plan = wls.render_plan_text(wl, PLAN_DIALECT)
    join = wls.render_joiner_text(wl, JOIN_DIALECT)
    bound = cp.workload_bound(wl, plan, join)
    rec = Recorder()
    llm = ScriptedLLM(plan=plan, join=join, recorder=rec)
    # AgentRunner is deprecated in llama-index-core 0.12 and warns on every construction
    # (through `deprecated`, which overrides warning filters): keep that off the output.
    quiet = contextlib.nullcontext() if verbose else contextlib.redirect_stderr(io.StringIO())
    with quiet:
        pack = LLMCompilerAgentPack(tools=make_tools(wl, rec), llm=llm)
    sink = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
    with sink:
        rec.reset()
        t0 = now()
        resp = pack.run(wl.question)
        makespan = now() - t0
    return run_figures(wl, rec, bound, makespan, str(resp.response))


def main() -> None:
    args = parse_args(default_out="peers.jsonl")
    if not args.verbose:
        logging.disable(logging.WARNING)
    v = version("llama-index-packs-agents-llm-compiler")
    print(
        f"# {PEER} {v} (llama-index-core {version('llama-index-core')}) cpu_count={os.cpu_count()}",
        file=sys.stderr,
    )
    run_all(args, PEER, v, lambda wl, r: run_one(wl, r, verbose=args.verbose))


if __name__ == "__main__":
    main()
