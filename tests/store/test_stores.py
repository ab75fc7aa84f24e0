"""Stores for the caches: memory, SQLite and Redis, with lifetimes on a fake clock."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from conftest import FINISH, plan
from parcall import Agent, PassApplied, ScriptedModel, tool
from parcall.passes import PlanCache
from parcall.store import MemoryStore, RedisStore, SQLiteStore, Store

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_a_value_lives_until_its_ttl_and_no_longer(kind: str, tmp_path: Path) -> None:
    clock = Clock()
    store: Store = MemoryStore(clock=clock)
    if kind == "sqlite":
        store = SQLiteStore(tmp_path / "c.db", clock=clock)
    await store.set("k", "v", ttl=10)
    await store.set("forever", "w")
    clock.now += 9.99
    assert await store.get("k") == "v"
    clock.now += 0.01
    assert await store.get("k") is None
    clock.now += 10**6
    assert await store.get("forever") == "w"
    assert await store.get("missing") is None


async def test_an_sqlite_store_keeps_values_across_instances(tmp_path: Path) -> None:
    first = SQLiteStore(tmp_path / "cache.db")
    await first.set("k", "v")
    first.close()
    assert await SQLiteStore(tmp_path / "cache.db").get("k") == "v"


def test_an_sqlite_store_that_cannot_be_opened_says_which_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot open the SQLite store"):
        SQLiteStore(tmp_path / "no-such-dir" / "cache.db")


async def test_a_memory_store_drops_its_oldest_entries_beyond_its_bound() -> None:
    store = MemoryStore(max_entries=2)
    for key in "abc":
        await store.set(key, key)
    assert [await store.get(k) for k in "abc"] == [None, "b", "c"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server (Debian: apt-get install redis-server)")
    pytest.importorskip("redis", reason="needs the redis extra: pip install -e '.[redis]'")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:  # wait for the server to accept connections (a readiness check)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def redis_store(redis_url: str) -> AsyncIterator[RedisStore]:
    store = RedisStore(redis_url, prefix="test:")
    yield store
    await store.close()


async def test_a_redis_store_keeps_values_and_hands_their_ttl_to_redis(
    redis_store: RedisStore,
) -> None:
    await redis_store.set("k", "v", ttl=30)
    await redis_store.set("forever", "w")
    assert await redis_store.get("k") == "v"
    assert await redis_store.get("missing") is None
    client = redis_store._client
    assert 0 < await client.pttl("test:k") <= 30_000
    assert await client.pttl("test:forever") == -1  # no expiry


def test_a_missing_redis_client_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    real = importlib.import_module

    def no_redis(name: str, *args: object) -> object:
        if name.startswith("redis"):
            raise ImportError(name)
        return real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib, "import_module", no_redis)
    with pytest.raises(ImportError, match=r"parcall\[redis\]"):
        RedisStore()


# plan cache


@tool
async def look(key: str) -> str:
    """Look a key up."""
    await anyio.lowlevel.checkpoint()
    return f"value of {key}"


@tool
async def other(key: str) -> str:
    """Another tool."""
    return key


PLAN = plan('1. look("a")', '2. look("b")')


async def test_a_plan_cache_hit_skips_the_planner() -> None:
    cache = PlanCache()
    first = ScriptedModel([PLAN, FINISH])
    await Agent(first, [look], passes=[cache]).run("q")
    second = ScriptedModel([FINISH])  # no plan in the script: a planner call would fail
    result = await Agent(second, [look], passes=[cache]).run("q")
    assert [r.purpose for r in second.requests] == ["join"]
    assert result.values == {1: "value of a", 2: "value of b"}
    assert [e.pass_name for e in result.events if isinstance(e, PassApplied)] == ["plan_cache"]
    assert (cache.hits, cache.misses) == (1, 1)


@pytest.mark.parametrize("change", ["request", "tools"])
async def test_a_plan_cache_misses_for_another_request_or_other_tools(change: str) -> None:
    cache = PlanCache()
    await Agent(ScriptedModel([PLAN, FINISH]), [look], passes=[cache]).run("q")
    model = ScriptedModel([PLAN, FINISH])
    tools = [look, other] if change == "tools" else [look]
    await Agent(model, tools, passes=[cache]).run("q2" if change == "request" else "q")
    assert [r.purpose for r in model.requests] == ["plan", "join"]
    assert cache.hits == 0


async def test_a_broken_plan_is_not_cached() -> None:
    cache = PlanCache()
    broken = '1. look("a")\n2. nosuchtool("b")\njoin()\n'
    await Agent(ScriptedModel([broken, FINISH]), [look], passes=[cache]).run("q")
    model = ScriptedModel([PLAN, FINISH])
    await Agent(model, [look], passes=[cache]).run("q")
    assert [r.purpose for r in model.requests] == ["plan", "join"]


async def test_a_plan_cache_entry_expires_after_its_ttl() -> None:
    clock = Clock()
    cache = PlanCache(MemoryStore(clock=clock), ttl=60)
    await Agent(ScriptedModel([PLAN, FINISH]), [look], passes=[cache]).run("q")
    clock.now += 61
    model = ScriptedModel([PLAN, FINISH])
    await Agent(model, [look], passes=[cache]).run("q")
    assert [r.purpose for r in model.requests] == ["plan", "join"]


class BrokenStore:
    async def get(self, key: str) -> str | None:
        raise ConnectionError("store is down")

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        raise ConnectionError("store is down")


async def test_a_store_that_fails_is_a_miss_not_a_failed_run() -> None:
    from parcall.passes import ResultCache

    look_again = tool(idempotent=True)(look.function)
    passes = [ResultCache(BrokenStore()), PlanCache(BrokenStore())]
    result = await Agent(ScriptedModel([PLAN, FINISH]), [look_again], passes=passes).run("q")
    assert result.values == {1: "value of a", 2: "value of b"}
    details = [e.detail for e in result.events if isinstance(e, PassApplied)]
    assert details and all("store unavailable: store is down" in d for d in details)
