"""A prompt longer than the model's context is a `ModelContextLengthError` naming the limit,
which `parcall serve` answers with 400 (the client can shorten it), not 500."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import httpx
import pytest

from conftest import TINY_MISSING, tiny_model_path
from parcall import Agent, ScriptedModel, tool
from parcall.models import Message, ModelContextLengthError, ModelRequest, OpenAICompatible

LLAMA_CPP_SAYS = {  # llama.cpp's server, when the prompt does not fit
    "error": {
        "code": 400,
        "message": "the request exceeds the available context size, try increasing it",
        "type": "exceed_context_size_error",
        "n_prompt_tokens": 5120,
        "n_ctx": 4096,
    }
}
VLLM_SAYS = {
    "object": "error",
    "message": "This model's maximum context length is 2048 tokens. However, you requested "
    "3000 tokens in the messages. Please reduce the length of the messages.",
    "type": "BadRequestError",
    "code": 400,
}


@tool
def search(query: str) -> str:
    """Look a fact up."""
    return query


def server_model(body: dict[str, Any], status: int = 400) -> OpenAICompatible:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body))
    return OpenAICompatible("m", base_url="http://llm.test/v1", transport=transport)


async def first_chunk(model: Any) -> None:
    request = ModelRequest(messages=(Message("user", "word " * 50),))
    async for _ in model.stream(request):
        break


@pytest.mark.anyio
@pytest.mark.parametrize(("body", "limit"), [(LLAMA_CPP_SAYS, 4096), (VLLM_SAYS, 2048)])
async def test_a_servers_context_length_error_is_typed_with_its_limit(
    body: dict[str, Any], limit: int
) -> None:
    with pytest.raises(ModelContextLengthError, match="does not fit the model's context") as caught:
        await first_chunk(server_model(body))
    assert (caught.value.status_code, caught.value.limit) == (400, limit)


@pytest.mark.anyio
async def test_another_bad_request_is_not_a_context_error() -> None:
    with pytest.raises(Exception) as caught:
        await first_chunk(server_model({"error": {"message": "unknown field 'x'"}}))
    assert not isinstance(caught.value, ModelContextLengthError)


def post(app: Any, question: str) -> httpx.Response:
    from parcall.serve import running_server

    with running_server(app) as url:
        return httpx.post(
            f"{url}/v1/chat/completions",
            json={"model": "parcall", "messages": [{"role": "user", "content": question}]},
            timeout=60,
        )


def test_serve_answers_a_prompt_too_long_for_the_context_with_400_naming_the_limit() -> None:
    pytest.importorskip("uvicorn", reason="needs the serve extra: pip install -e '.[serve]'")
    from parcall.serve import create_app

    app = create_app(Agent(server_model(LLAMA_CPP_SAYS), [search]))
    response = post(app, "word " * 50)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "context_length_exceeded"
    assert error["type"] == "invalid_request_error"
    assert "does not fit the model's context (4096 tokens)" in error["message"]


def test_a_streamed_request_gets_the_same_error_as_a_chunk() -> None:
    pytest.importorskip("uvicorn", reason="needs the serve extra: pip install -e '.[serve]'")
    from parcall.serve import create_app, running_server

    app = create_app(Agent(server_model(LLAMA_CPP_SAYS), [search]))
    body = {"model": "parcall", "messages": [{"role": "user", "content": "q"}], "stream": True}
    with running_server(app) as url:
        lines = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60).text.splitlines()
    errors = [json.loads(line[6:])["error"] for line in lines if line.startswith('data: {"error"')]
    assert [e["code"] for e in errors] == ["context_length_exceeded"]
    assert "(4096 tokens)" in errors[0]["message"]
    assert [line for line in lines if line][-1] == "data: [DONE]"


def test_serve_still_answers_other_failures_with_500() -> None:
    pytest.importorskip("uvicorn", reason="needs the serve extra: pip install -e '.[serve]'")
    from parcall.serve import create_app

    app = create_app(Agent(ScriptedModel([]), [search]))  # runs out of script: a failure
    response = post(app, "q")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "run_failed"


@pytest.mark.llama
def test_a_local_model_names_its_context_size_in_the_400() -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("needs the llama extra: pip install -e '.[llama]'")
    if tiny_model_path() is None:
        pytest.skip(TINY_MISSING)
    pytest.importorskip("uvicorn", reason="needs the serve extra: pip install -e '.[serve]'")
    from parcall.models import LlamaCpp
    from parcall.serve import create_app

    model = LlamaCpp("local:tiny", n_ctx=256, n_threads=2, warm_start=False)
    try:
        response = post(create_app(Agent(model, [search])), "word " * 400)
    finally:
        model.close()
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "(256 tokens)" in message and "the context holds 256" in message
