"""`parcall serve` through the official `openai` client, on loopback, with a scripted model."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from parcall import Agent, ModelRequest, ScriptedModel, tool
from parcall.serve import Limits, create_app, running_server

openai = pytest.importorskip(
    "openai", reason="needs the openai client (the dev extra): pip install -e '.[dev]'"
)

PLAN = '1. search("a")\n2. search("b")\n3. search(query=$1)\njoin()\n'
ONE_TASK = '1. search("a")\njoin()\n'


def question(request: ModelRequest) -> str:
    text = request.messages[1].content  # the user's question, as the prompts put it
    found = re.search(r"ask(?:ed)? (\w+)", text)
    return found.group(1) if found else "?"


def scripted(request: ModelRequest, plan: str = PLAN) -> str:
    """Plans two searches and one on the first's result; the joiner names the question."""
    if request.purpose == "plan":
        return plan
    if "boom" in request.messages[1].content:
        raise ValueError("the model fell over")
    return f"Thought: enough.\nAction: Finish(answer for {question(request)})"


@tool
async def search(query: str) -> str:
    """Look a fact up."""
    await anyio.sleep(0.001)
    return f"found {query}" + (": 93 m" if query == "Statue of Liberty" else "")


def make_agent(*tools: Any, ttft: float = 0.0, plan: str = PLAN) -> Agent:
    model = ScriptedModel(
        [lambda request: scripted(request, plan)], cycle=True, time_to_first_token=ttft
    )
    return Agent(model, list(tools) or [search])


@pytest.fixture
def server() -> Iterator[tuple[str, Any]]:
    app = create_app(make_agent(), api_key="sekrit", limits=Limits(max_body_bytes=20_000))
    with running_server(app) as url:
        yield url, app.state.parcall


def client(url: str, key: str = "sekrit") -> Any:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=30)


def test_a_chat_completion_is_the_agents_answer(server: tuple[str, Any]) -> None:
    url, _ = server
    with client(url) as c:
        reply = c.chat.completions.create(
            model="parcall", messages=[{"role": "user", "content": "I asked cheese"}]
        )
    assert reply.choices[0].message.content == "answer for cheese"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.prompt_tokens > 0
    tasks = reply.model_extra["parcall"]["tasks"]
    assert [(t["idx"], t["status"]) for t in tasks] == [(1, "done"), (2, "done"), (3, "done")]


def test_streaming_sends_the_answer_as_deltas_and_the_events_beside_them(
    server: tuple[str, Any],
) -> None:
    url, _ = server
    with client(url) as c:
        stream = c.chat.completions.create(
            model="parcall",
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "I asked bread"},
            ],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == "answer for bread"
    # Event chunks carry `parcall_event`; the last choice chunk says how the run ended.
    extras = [ch.model_extra or {} for ch in chunks]
    kinds = [extra["parcall_event"]["kind"] for extra in extras if "parcall_event" in extra]
    assert kinds.count("task_parsed") == kinds.count("task_finished") == 3
    assert kinds[-1] == "answered"
    content = [i for i, ch in enumerate(chunks) if ch.choices and ch.choices[0].delta.content]
    events = [i for i, extra in enumerate(extras) if "parcall_event" in extra]
    decided = next(i for i in events if extras[i]["parcall_event"]["kind"] == "join_decided")
    assert len(content) > 1 and max(content) < decided  # streamed as the joiner writes it
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_models_lists_the_served_agent(server: tuple[str, Any]) -> None:
    url, _ = server
    with client(url) as c:
        assert [m.id for m in c.models.list()] == ["parcall"]


def test_a_wrong_key_is_refused_and_the_server_keeps_serving(server: tuple[str, Any]) -> None:
    url, _ = server
    with client(url, key="wrong") as c, pytest.raises(openai.AuthenticationError) as caught:
        c.chat.completions.create(model="parcall", messages=[{"role": "user", "content": "x"}])
    assert "API key" in caught.value.message
    with client(url) as c:
        reply = c.chat.completions.create(
            model="parcall", messages=[{"role": "user", "content": "ask tea"}]
        )
    assert reply.choices[0].message.content == "answer for tea"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b'{"model": "parcall", "messages": [', 400, "not valid JSON"),
        (b'{"model": "parcall", "messages": "hi"}', 400, "messages"),
        (b'{"model": "parcall", "messages": []}', 400, "messages"),
        (b'{"model": "parcall", "messages": [{"role": "robot", "content": "x"}]}', 400, "role"),
        (b'{"messages": [{"role": "user", "content": "x"}]}', 400, "model"),
        (b'{"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]}', 404, "gpt-9"),
        (
            b'{"model": "parcall", "messages": [{"role": "assistant", "content": "x"}]}',
            400,
            "last message must be the user's",
        ),
        (
            b'{"model": "parcall", "messages": [{"role": "user", "content": "x"}], "n": 2}',
            400,
            "n=1",
        ),
        (
            b'{"model": "parcall", "tools": [{"type": "function"}],'
            b' "messages": [{"role": "user", "content": "x"}]}',
            400,
            "own tools",
        ),
        (b"[1, 2]", 400, "invalid request"),
        (b"x" * 30_000, 413, "larger than 20,000 bytes"),
    ],
)
def test_a_bad_request_gets_a_4xx_with_a_clear_message_and_the_server_keeps_serving(
    server: tuple[str, Any], body: bytes, status: int, message: str
) -> None:
    url, _ = server
    headers = {"Authorization": "Bearer sekrit", "Content-Type": "application/json"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        reply = http.post("/v1/chat/completions", content=body)
        assert reply.status_code == status, reply.text
        assert message in reply.json()["error"]["message"]
        assert http.get("/health").json()["status"] == "ok"
        good = http.post(
            "/v1/chat/completions",
            json={"model": "parcall", "messages": [{"role": "user", "content": "ask soup"}]},
        )
        assert good.json()["choices"][0]["message"]["content"] == "answer for soup"


def test_a_body_without_a_length_is_cut_off_at_the_limit(server: tuple[str, Any]) -> None:
    url, _ = server

    def pieces() -> Iterator[bytes]:
        for _ in range(100):
            yield b" " * 1000  # chunked: no Content-Length to refuse up front

    headers = {"Authorization": "Bearer sekrit"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        reply = http.post("/v1/chat/completions", content=pieces())
    assert reply.status_code == 413


def test_a_failed_run_is_an_error_the_client_reads(server: tuple[str, Any]) -> None:
    url, _ = server
    messages = [{"role": "user", "content": "boom"}]
    with client(url) as c:
        with pytest.raises(openai.InternalServerError, match="the model fell over"):
            c.chat.completions.create(model="parcall", messages=messages)
        with pytest.raises(openai.APIError, match="the model fell over"):
            list(c.chat.completions.create(model="parcall", messages=messages, stream=True))
        reply = c.chat.completions.create(
            model="parcall", messages=[{"role": "user", "content": "ask jam"}]
        )
    assert reply.choices[0].message.content == "answer for jam"


def held_search(started: threading.Event, release: threading.Event) -> Any:
    @tool
    async def search(query: str) -> str:
        """Look a fact up, once the test lets it."""
        started.set()
        await anyio.to_thread.run_sync(release.wait, abandon_on_cancel=True)
        return f"found {query}"

    return search


def test_beyond_running_and_waiting_limits_a_request_gets_429() -> None:
    started, release = threading.Event(), threading.Event()
    app = create_app(
        make_agent(held_search(started, release)), limits=Limits(max_running=1, max_waiting=0)
    )
    state = app.state.parcall
    results: list[str] = []
    try:
        with running_server(app) as url:
            c = client(url)
            first = threading.Thread(
                target=lambda: results.append(
                    c.chat.completions.create(
                        model="parcall", messages=[{"role": "user", "content": "ask one"}]
                    )
                    .choices[0]
                    .message.content
                )
            )
            first.start()
            assert started.wait(20)
            with pytest.raises(openai.RateLimitError, match="busy"):
                c.chat.completions.create(
                    model="parcall", messages=[{"role": "user", "content": "ask two"}]
                )
            release.set()
            first.join(20)
            c.close()
    finally:
        release.set()
    assert results == ["answer for one"]
    assert state.peak_running == 1 and state.rejected == 1


def stream_in_thread(url: str, out: list[str]) -> threading.Thread:
    def read() -> None:
        body = {
            "model": "parcall",
            "stream": True,
            "messages": [{"role": "user", "content": "ask late"}],
        }
        try:
            with (
                httpx.Client(base_url=url, timeout=30) as http,
                http.stream("POST", "/v1/chat/completions", json=body) as reply,
            ):
                out.extend(line for line in reply.iter_lines() if line)
        except httpx.HTTPError as exc:
            out.append(f"client error: {type(exc).__name__}")

    thread = threading.Thread(target=read)
    thread.start()
    return thread


def wait_until_refused(url: str) -> None:
    with anyio.from_thread.start_blocking_portal() as portal:

        async def refused() -> None:
            with anyio.fail_after(20):
                while True:
                    try:
                        async with httpx.AsyncClient(base_url=url) as http:
                            await http.get("/health")
                    # Refused, or taken from the backlog as the socket closed and then
                    # dropped unanswered: either way the server takes no new requests.
                    except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
                        return
                    await anyio.sleep(0.02)

        portal.call(refused)


def test_shutdown_lets_a_run_in_flight_finish() -> None:
    started, release = threading.Event(), threading.Event()
    app = create_app(make_agent(held_search(started, release)))
    lines: list[str] = []
    server = running_server(app, shutdown_timeout=20)
    url = server.__enter__()
    reader = stream_in_thread(url, lines)
    try:
        assert started.wait(20)
        stopping = threading.Thread(target=server.__exit__, args=(None, None, None))
        stopping.start()
        wait_until_refused(url)  # no new connections while the run goes on …
        release.set()  # … which then finishes
        stopping.join(30)
        reader.join(30)
    finally:
        release.set()
    assert not stopping.is_alive() and not reader.is_alive()
    data = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    text = "".join(d["choices"][0]["delta"].get("content") or "" for d in data if d["choices"])
    assert text == "answer for late"
    assert lines[-1] == "data: [DONE]"


def test_shutdown_cancels_a_run_that_outlasts_the_deadline() -> None:
    started, release = threading.Event(), threading.Event()
    app = create_app(make_agent(held_search(started, release)))
    state = app.state.parcall
    lines: list[str] = []
    try:
        with running_server(app, shutdown_timeout=1) as url:
            reader = stream_in_thread(url, lines)
            assert started.wait(20)
        reader.join(30)
    finally:
        release.set()
    assert "data: [DONE]" not in lines  # cut off, not finished
    assert state.running == 0 and state.admitted == 0


def open_sockets() -> int:
    fds = os.listdir("/proc/self/fd")
    count = 0
    for fd in fds:
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            continue
    return count


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts sockets in /proc")
def test_200_concurrent_streaming_clients_are_all_answered_within_the_limits() -> None:
    clients, running, waiting = 200, 40, 200
    threads_before = {t.ident for t in threading.enumerate()}
    sockets_before = open_sockets()
    # One task per run keeps the test light on a busy machine; 200 streams still overlap.
    agent = make_agent(ttft=0.005, plan=ONE_TASK)
    app = create_app(agent, limits=Limits(max_running=running, max_waiting=waiting))
    state = app.state.parcall
    answers: dict[int, str] = {}

    async def one(c: Any, n: int) -> None:
        stream = await c.chat.completions.create(
            model="parcall",
            messages=[{"role": "user", "content": f"ask q{n}"}],
            stream=True,
        )
        pieces = []
        async for ch in stream:
            if ch.choices and ch.choices[0].delta.content:
                pieces.append(ch.choices[0].delta.content)
        answers[n] = "".join(pieces)

    async def crowd(url: str) -> None:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)
        async with openai.AsyncOpenAI(
            base_url=f"{url}/v1",
            api_key="none",
            max_retries=0,
            timeout=60,
            http_client=httpx.AsyncClient(limits=limits, timeout=60),
        ) as c:
            with anyio.fail_after(45):
                async with anyio.create_task_group() as tg:
                    for n in range(clients):
                        tg.start_soon(one, c, n)

    with running_server(app) as url:
        anyio.run(crowd, url)
    assert answers == {n: f"answer for q{n}" for n in range(clients)}
    assert 1 < state.peak_running <= running
    assert state.rejected == 0 and state.served == clients
    assert state.running == 0 and state.admitted == 0
    assert {t.ident for t in threading.enumerate()} <= threads_before | _worker_threads()
    assert open_sockets() <= sockets_before


def _worker_threads() -> set[int | None]:
    """anyio's idle worker threads outlive a run by design (they are reused, then expire)."""
    return {t.ident for t in threading.enumerate() if t.name.startswith("AnyIO worker")}


def fake_backend(join_seen: threading.Event, release: threading.Event) -> Any:
    """An OpenAI-compatible backend for the served agent: it plans two sums, then holds the
    joiner's call until the test releases it."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def completions(request: Request) -> StreamingResponse:
        messages = (await request.json())["messages"]
        planning = len(messages) == 2  # system + question; the joiner's call extends it
        if not planning:
            join_seen.set()
            await anyio.to_thread.run_sync(release.wait, abandon_on_cancel=True)
        text = (
            '1. calculator("2 + 3")\n2. calculator("$1 * 10")\njoin()\n'
            if planning
            else "Thought: done.\nAction: Finish(fifty)"
        )

        async def body() -> Any:
            yield f"data: {json.dumps({'choices': [{'delta': {'content': text}}]})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(body(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


def test_parcall_serve_on_sigterm_finishes_the_run_in_flight_and_exits(tmp_path: Any) -> None:
    import signal
    import socket
    import subprocess
    import sys
    import time

    join_seen, release = threading.Event(), threading.Event()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    with running_server(fake_backend(join_seen, release)) as backend:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from parcall.cli import main; main()",
                "serve",
                "--port",
                str(port),
                "--model",
                f"{backend}/v1#fake",
                "--shutdown-timeout",
                "20",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 40
            while True:  # the process starts (imports, binds) on its own time
                if process.poll() is not None:
                    pytest.fail(f"parcall serve exited: {process.communicate()[0]}")
                assert time.monotonic() < deadline, "parcall serve did not start"
                try:
                    if httpx.get(f"{url}/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.05)
            reader = stream_in_thread(url, lines)
            assert join_seen.wait(20)
            process.send_signal(signal.SIGTERM)
            wait_until_refused(url)
            release.set()
            reader.join(30)
            # uvicorn raises the signal again once it has shut down cleanly
            assert process.wait(30) in (0, -signal.SIGTERM)
        finally:
            release.set()
            if process.poll() is None:
                process.kill()
            output = process.communicate()[0]
    data = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    events = [d["parcall_event"]["kind"] for d in data if "parcall_event" in d]
    assert events.count("task_finished") == 2
    text = "".join(d["choices"][0]["delta"].get("content") or "" for d in data if d["choices"])
    assert text == "fifty", output
    assert lines[-1] == "data: [DONE]"


def test_parcall_serve_with_bad_flags_says_what_is_wrong() -> None:
    from typer.testing import CliRunner

    from parcall.cli import app

    runner = CliRunner()
    bad_tools = runner.invoke(app, ["serve", "--tools", "no_such_module:thing"])
    assert bad_tools.exit_code == 2 and "no_such_module" in bad_tools.output
    bad_limit = runner.invoke(app, ["serve", "--max-running", "0"])
    assert bad_limit.exit_code == 2 and "max_running must be at least 1" in bad_limit.output


def test_with_spans_each_served_run_is_one_span_tree() -> None:
    pytest.importorskip(
        "opentelemetry.sdk", reason="needs the otel extra: pip install -e '.[otel]'"
    )
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(make_agent(), spans=True, tracer_provider=provider)
    with running_server(app) as url, client(url) as c:
        c.chat.completions.create(model="parcall", messages=[{"role": "user", "content": "ask a"}])
        list(
            c.chat.completions.create(
                model="parcall", messages=[{"role": "user", "content": "ask b"}], stream=True
            )
        )
        with pytest.raises(openai.InternalServerError):
            c.chat.completions.create(
                model="parcall", messages=[{"role": "user", "content": "boom"}]
            )
    spans = exporter.get_finished_spans()
    roots = [s for s in spans if s.parent is None]
    assert [r.attributes["parcall.request"] for r in roots] == ["ask a", "ask b", "boom"]
    assert [r.status.status_code.name for r in roots] == ["UNSET", "UNSET", "ERROR"]
    tools = [s for s in spans if s.name == "execute_tool search"]
    assert len(tools) == 9  # three tasks in each of the three runs
    assert {s.context.trace_id for s in tools} == {r.context.trace_id for r in roots}


def test_on_run_hears_of_every_run_with_its_events_into_the_run_log(tmp_path: Any) -> None:
    from parcall.observe import RunLog

    log = RunLog(tmp_path / "runs.sqlite3")

    async def on_run(question: str, events: Any, error: BaseException | None) -> None:
        await anyio.to_thread.run_sync(
            lambda: log.record_events(events, request=question, error=error)
        )

    app = create_app(make_agent(), on_run=on_run)
    with running_server(app) as url, client(url) as c:
        c.chat.completions.create(model="parcall", messages=[{"role": "user", "content": "ask a"}])
        with pytest.raises(openai.APIError):
            list(
                c.chat.completions.create(
                    model="parcall", messages=[{"role": "user", "content": "boom"}], stream=True
                )
            )
    runs = {r.request: log.get(r.id) for r in log.list()}
    assert runs["ask a"].answer == "answer for a" and runs["ask a"].tasks == 3
    assert runs["boom"].answer is None and "fell over" in (runs["boom"].error or "")
    assert runs["boom"].tasks == 3  # the failed run's plan and tasks are kept


def test_unknown_paths_and_methods_get_json_errors(server: tuple[str, Any]) -> None:
    url, _ = server
    with httpx.Client(base_url=url, timeout=30) as http:
        missing = http.get("/v1/embeddings")
        wrong = http.get("/v1/chat/completions")
    assert missing.status_code == 404 and "/v1/embeddings" in missing.json()["error"]["message"]
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "bad_method"


def test_a_client_that_leaves_mid_stream_cancels_its_run() -> None:
    started, release = threading.Event(), threading.Event()
    app = create_app(make_agent(held_search(started, release)))
    state = app.state.parcall
    body = {"model": "parcall", "stream": True, "messages": [{"role": "user", "content": "ask x"}]}
    try:
        with running_server(app) as url:
            with (
                httpx.Client(base_url=url, timeout=30) as http,
                http.stream("POST", "/v1/chat/completions", json=body) as reply,
            ):
                assert reply.status_code == 200
                assert started.wait(20)  # the tool is running; now the client hangs up
            deadline = threading.Event()
            for _ in range(2000):  # the server notices the closed socket on its own time
                if state.running == 0 and state.admitted == 0:
                    break
                deadline.wait(0.01)
            assert state.running == 0 and state.admitted == 0
            assert not release.is_set()  # the run ended by cancellation, not by finishing
            with httpx.Client(base_url=url, timeout=30) as http:
                assert http.get("/health").json()["served"] == 1
    finally:
        release.set()


def test_a_retry_with_the_same_idempotency_key_resumes_the_run_on_another_replica(
    tmp_path: Any,
) -> None:
    from parcall.store import SQLiteRunStore

    journal = tmp_path / "journal.db"
    searched: list[str] = []

    @tool(name="search")
    async def counted(query: str) -> str:
        """Look a fact up."""
        searched.append(query)
        return f"found {query}"

    first = make_agent(counted)
    first.store = SQLiteRunStore(journal)
    ask = [{"role": "user", "content": "I asked cheese"}]
    key = {"Idempotency-Key": "order-17"}
    with running_server(create_app(first)) as url, client(url) as c:
        raw = c.chat.completions.with_raw_response.create(
            model="parcall", messages=ask, extra_headers=key
        )
        assert raw.headers["x-parcall-run-id"] == "order-17"
        assert raw.parse().choices[0].message.content == "answer for cheese"
    assert searched == ["a", "b", "found a"]

    # Another replica on the same journal, whose model must not be called: the retry is
    # answered from the journal, with no model or tool call.
    second = Agent(ScriptedModel([]), [counted], store=SQLiteRunStore(journal))
    with running_server(create_app(second)) as url, client(url) as c:
        again = c.chat.completions.create(model="parcall", messages=ask, extra_headers=key)
        assert again.choices[0].message.content == "answer for cheese"
        streamed = c.chat.completions.create(
            model="parcall", messages=ask, extra_headers=key, stream=True
        )
        text = "".join(p.choices[0].delta.content or "" for p in streamed if p.choices)
        assert text == "answer for cheese"
        with pytest.raises(openai.ConflictError, match="used for another request"):
            c.chat.completions.create(
                model="parcall",
                messages=[{"role": "user", "content": "I asked bread"}],
                extra_headers=key,
            )
        with pytest.raises(openai.ConflictError, match="Idempotency-Key must be"):
            c.chat.completions.create(
                model="parcall", messages=ask, extra_headers={"Idempotency-Key": "a b"}
            )
    assert searched == ["a", "b", "found a"]


def test_parcall_serve_takes_mcp_and_openapi_toolsets(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import parcall.serve._app as app_module
    import parcall.serve._server as server_module
    from parcall.cli import app

    served: list[Agent] = []
    original = app_module.create_app

    def capture(agent: Agent, **options: Any) -> Any:
        served.append(agent)
        return original(agent, **options)

    monkeypatch.setattr(app_module, "create_app", capture)
    monkeypatch.setattr(server_module, "serve", lambda *a, **k: None)  # do not listen
    tried: list[Any] = []  # the servers are made up: opening them at startup is not tried
    monkeypatch.setattr("parcall.cli._serve._check_toolsets", tried.extend)
    result = CliRunner().invoke(
        app,
        [
            "serve",
            "-m",
            "http://127.0.0.1:9/v1#m",
            "--mcp",
            "python server.py",
            "--mcp",
            "http://h/mcp",
        ],
    )
    assert result.exit_code == 0, result.output
    (agent,) = served
    assert len(agent.toolsets) == 2 and not agent.tools  # no demo tools beside the servers
    assert tried == list(agent.toolsets)  # each is opened once before serving
    assert "2 toolsets opened per run" in " ".join(result.output.split())


@pytest.mark.parametrize("stream", [False, True])
def test_earlier_messages_are_the_runs_history_not_part_of_the_question(stream: bool) -> None:
    model = ScriptedModel(
        [
            lambda request: (
                '1. search("Statue of Liberty")\njoin()\n'
                if request.purpose == "plan"
                else "Action: Finish(93 m)"
            )
        ],
        cycle=True,
    )
    app = create_app(Agent(model, [search]))
    messages = [
        {"role": "system", "content": "Answer in metres."},
        {"role": "user", "content": "How tall is the Eiffel Tower?"},
        {"role": "assistant", "content": "330 m"},
        {"role": "user", "content": "And the other one, the Statue of Liberty?"},
    ]
    with running_server(app) as url, client(url) as c:
        if stream:
            chunks = list(
                c.chat.completions.create(model="parcall", messages=messages, stream=True)
            )
            answer = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
        else:
            reply = c.chat.completions.create(model="parcall", messages=messages)
            answer = reply.choices[0].message.content
    assert answer == "93 m"
    asked = model.requests[0].messages[1].content
    assert asked.index("Q: How tall is the Eiffel Tower?") < asked.index("A: 330 m")
    assert asked.endswith(
        "Instructions:\nAnswer in metres.\n\nQuestion: And the other one, the Statue of Liberty?"
    )
    assert "user:" not in asked and "assistant:" not in asked  # no longer flattened


def test_user_messages_without_an_answer_between_them_make_one_turn() -> None:
    from parcall.serve._protocol import ChatCompletionRequest, history_of

    parsed = ChatCompletionRequest.model_validate(
        {
            "model": "parcall",
            "messages": [
                {"role": "assistant", "content": "Hello! Ask me anything."},
                {"role": "user", "content": "Paris."},
                {"role": "user", "content": "How old is its tower?"},
                {"role": "assistant", "content": "137 years"},
                {"role": "user", "content": "And the city?"},
            ],
        }
    )
    assert [(t.request, t.answer) for t in history_of(parsed)] == [
        ("", "Hello! Ask me anything."),
        ("Paris.\nHow old is its tower?", "137 years"),
    ]


def test_a_retried_conversation_resumes_with_its_history_and_another_is_a_conflict(
    tmp_path: Any,
) -> None:
    from parcall.store import SQLiteRunStore

    journal = tmp_path / "journal.db"
    earlier = [
        {"role": "user", "content": "I asked tea"},
        {"role": "assistant", "content": "answer for tea"},
    ]
    ask = [*earlier, {"role": "user", "content": "and ask cake"}]
    key = {"Idempotency-Key": "chat-3"}
    first = make_agent()
    first.store = SQLiteRunStore(journal)
    with running_server(create_app(first)) as url, client(url) as c:
        reply = c.chat.completions.create(model="parcall", messages=ask, extra_headers=key)
    second = Agent(ScriptedModel([]), [search], store=SQLiteRunStore(journal))
    with running_server(create_app(second)) as url, client(url) as c:
        # the same conversation: every model call is answered from the journal
        again = c.chat.completions.create(model="parcall", messages=ask, extra_headers=key)
        assert again.choices[0].message.content == reply.choices[0].message.content
        other = [{"role": "user", "content": "I asked milk"}, *ask[1:]]
        with pytest.raises(openai.ConflictError, match="used for another request"):
            c.chat.completions.create(model="parcall", messages=other, extra_headers=key)
