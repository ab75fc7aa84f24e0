"""Fuzzing `parcall serve`'s request bodies: whatever a client sends, the answer is a 200 or
a 4xx whose JSON says what is wrong — never a 5xx, a hang or a dropped connection — and the
server keeps serving."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parcall import Agent, ModelRequest, ScriptedModel, tool
from parcall.serve import Limits, create_app, running_server

pytest.importorskip("starlette", reason="needs the serve extra: pip install -e '.[serve]'")

LIMIT = 4096


def script(request: ModelRequest) -> str:
    if request.purpose == "plan":
        return '1. search("a")\njoin()\n'
    return "Thought: ok.\nAction: Finish(fine)"


@tool
async def search(query: str) -> str:
    """Look a fact up."""
    return query


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    agent = Agent(ScriptedModel([script], cycle=True), [search])
    app = create_app(agent, limits=Limits(max_body_bytes=LIMIT))
    with running_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


VALID: dict[str, Any] = {"model": "parcall", "messages": [{"role": "user", "content": "hi"}]}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated_requests(draw: st.DrawFn) -> bytes:
    """A valid request with one part replaced by something of the wrong shape."""
    body = json.loads(json.dumps(VALID))
    where = draw(st.sampled_from(["model", "messages", "message", "role", "content", "extra",
                                  "stream", "n", "tools", "stream_options"]))  # fmt: skip
    value = draw(json_values)
    if where in ("model", "messages", "stream", "n", "tools", "stream_options"):
        body[where] = value
    elif where == "message":
        body["messages"] = [value]
    elif where in ("role", "content"):
        body["messages"][0][where] = value
    else:
        body[draw(st.text(max_size=10))] = value
    return json.dumps(body).encode()


bodies = st.one_of(
    mutated_requests(),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    mutated_requests().flatmap(lambda b: st.integers(0, len(b)).map(lambda n: b[:n])),
    st.integers(LIMIT + 1, 3 * LIMIT).map(lambda n: b'{"model": "' + b"x" * n + b'"}'),
)


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies)
def test_any_body_gets_a_200_or_a_clear_4xx(http: httpx.Client, body: bytes) -> None:
    reply = http.post("/v1/chat/completions", content=body)
    if reply.status_code == 200:
        return  # a mutation that is still a valid request
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.text)
    message = reply.json()["error"]["message"]
    assert isinstance(message, str) and len(message) > 10
    assert "Traceback" not in message


def test_the_server_still_answers_after_the_fuzzing(http: httpx.Client) -> None:
    reply = http.post("/v1/chat/completions", json=VALID)
    assert reply.json()["choices"][0]["message"]["content"] == "fine"
    assert http.get("/health").json()["running"] == 0
