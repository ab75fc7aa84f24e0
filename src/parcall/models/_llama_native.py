"""llama.cpp itself, as parcall uses it: importing llama-cpp-python (naming the extra when it
is missing) with its logs routed, the errors it fails with, loading without the weight
buffers that crash on AMX CPUs, the model's chat template, and the prompt prefix a generation
reuses."""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

from .._core.extras import MissingExtraError, require
from ._errors import ModelContextLengthError, ModelError

__all__ = [
    "LOGS",
    "LlamaCppContextError",
    "LlamaCppError",
    "LlamaCppNotInstalledError",
    "chat_template",
    "cpu_has_amx",
    "default_threads",
    "import_llama_cpp",
    "reused_prefix",
    "weight_repacking",
]


class LlamaCppNotInstalledError(MissingExtraError):
    """llama-cpp-python is not installed."""


class LlamaCppError(ModelError):
    """llama.cpp failed while evaluating (the message carries its error)."""


class LlamaCppContextError(LlamaCppError, ModelContextLengthError):
    """The prompt does not fit the context (`limit` tokens)."""


def import_llama_cpp() -> Any:
    try:
        llama_cpp = require("llama_cpp", needed_for="LlamaCpp")
    except MissingExtraError as exc:
        raise LlamaCppNotInstalledError(
            f"{exc} (it compiles llama.cpp, which takes a few minutes)", extra=exc.extra
        ) from exc.__cause__
    route_logs(llama_cpp)
    return llama_cpp


LOGS = {"shown": False, "callback": None}
"""llama.cpp's own log lines go to stderr only while a `LlamaCpp(verbose=True)` is loaded;
`callback` keeps the ctypes callback alive while llama.cpp holds its pointer."""


def route_logs(llama_cpp: Any) -> None:
    """Replace llama-cpp-python's log callback, which prints every ERROR-level line even
    with verbose=False (e.g. "decode: removing memory module entries ..." when a generation
    is aborted on Ctrl-C), by one that prints only when asked to."""
    if LOGS["callback"] is not None:
        return

    def show(level: int, text: bytes, _user_data: object) -> None:
        if LOGS["shown"]:
            sys.stderr.write(text.decode("utf-8", errors="replace"))
            sys.stderr.flush()

    callback = llama_cpp.llama_log_callback(show)
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
    LOGS["callback"] = callback


def default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_PARAMS_LOCK = threading.Lock()


@contextlib.contextmanager
def weight_repacking(*, enabled: bool) -> Iterator[None]:
    """Load with llama.cpp's extra weight buffers (repacking, AMX) on or off.

    llama-cpp-python does not expose `use_extra_bufts`, so the default model parameters are
    wrapped for the duration of the load.
    """
    if enabled:
        yield
        return
    params_module: Any = importlib.import_module("llama_cpp.llama_cpp")
    with _PARAMS_LOCK:
        default = params_module.llama_model_default_params

        def without_extra_buffers() -> Any:
            params = default()
            params.use_extra_bufts = False
            return params

        params_module.llama_model_default_params = without_extra_buffers
        try:
            yield
        finally:
            params_module.llama_model_default_params = default


def cpu_has_amx() -> bool:
    """Whether the CPU has Intel AMX: llama.cpp's AMX weight buffers crash in the first
    decode on such CPUs (ggml-org/llama.cpp#20824), so parcall loads without them there."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("flags"):
                    return "amx_int8" in line.split()
    except OSError:
        pass
    return False


def chat_template(llm: Any) -> Any:
    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        return None
    formats = importlib.import_module("llama_cpp.llama_chat_format")

    def text_of(token: int) -> str:
        return "" if token < 0 else bytes(llm.detokenize([token], special=True)).decode()

    return formats.Jinja2ChatFormatter(
        template=template, eos_token=text_of(llm.token_eos()), bos_token=text_of(llm.token_bos())
    )


def reused_prefix(llm: Any, tokens: list[int]) -> int:
    """How many prompt tokens llama-cpp-python's `generate` will not evaluate again.

    Mirrors its rule: keep the longest common prefix with what the context holds, but
    evaluate at least the last prompt token so there are fresh logits to sample from.
    """
    held = llm.input_ids[: llm.n_tokens]
    common = 0
    for a, b in zip(held, tokens, strict=False):
        if a != b:
            break
        common += 1
    return common - 1 if common == len(tokens) else common
