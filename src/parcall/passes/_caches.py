"""Caches across runs: results of idempotent tools, and plans of repeated requests."""

from __future__ import annotations

import hashlib

from .._core.call_key import dump_value, load_value
from .._core.events import PassApplied
from .._core.observation import Observation
from .._core.plan import Plan
from .._run.plan_pass import Call, PassContext, PassRun, Proceed
from ..store._base import MemoryStore, Store, check_ttl
from ._key import idempotent_key

__all__ = ["PlanCache", "ResultCache"]


async def _get(store: Store, key: str, run: PassContext, pass_name: str) -> str | None:
    """A cached text, or None; a store that fails (Redis down) is a miss, not a failed run."""
    try:
        return await store.get(key)
    except Exception as exc:
        run.emit(PassApplied(pass_name, None, f"store unavailable: {exc}", (), run.clock()))
        return None


async def _set(store: Store, key: str, value: str, ttl: float | None, run: PassContext) -> None:
    try:
        await store.set(key, value, ttl)
    except Exception as exc:
        run.emit(PassApplied("cache", None, f"store unavailable: {exc}", (), run.clock()))


class _Cache:
    """A store, the lifetime of what goes in it, a namespace, and counts of hits and misses."""

    def __init__(
        self, store: Store | None = None, *, ttl: float | None = None, namespace: str = ""
    ) -> None:
        self.store: Store = store if store is not None else MemoryStore()
        _check_store(self.store)
        self.ttl = check_ttl(ttl)
        self.namespace = namespace
        self.hits = 0
        self.misses = 0


def _check_store(store: object) -> None:
    if not isinstance(store, Store):
        raise TypeError(f"store: {store!r} is not a Store (it needs async get and set)")


class ResultCache(_Cache):
    """Results of tools marked `idempotent`, kept across runs (and processes, with a shared
    store) for `ttl` seconds (None: until the store drops them).

    A call is served from the cache when the same tool was called with equal arguments;
    only successful results that are plain JSON data are stored (a value that would not
    read back equal, such as a tuple or an object, is simply not cached). A tool that takes
    a `RunContext` is never cached: its result may depend on the run's `deps` (whose user).
    """

    name = "result_cache"

    def start(self, run: PassContext) -> PassRun:
        return _ResultCacheRun(self, run)


class _ResultCacheRun(PassRun):
    def __init__(self, cache: ResultCache, run: PassContext) -> None:
        self._cache = cache
        self._run = run

    async def call(self, call: Call, proceed: Proceed) -> Observation:
        key = idempotent_key(call)
        if key is None or call.tool.takes_ctx:
            return await proceed(call)
        cache = self._cache
        key = f"result:{cache.namespace}:{key}"
        asked = self._run.clock()
        text = await _get(cache.store, key, self._run, "result_cache")
        if text is not None:
            cache.hits += 1
            self._run.emit(
                PassApplied("result_cache", call.task.idx, "result read from the cache", (), asked)
            )
            return Observation.done(
                call.task.idx,
                call.task.tool,
                call.arguments,
                load_value(text),
                started_at=asked,
                finished_at=self._run.clock(),
            )
        cache.misses += 1
        observation = await proceed(call)
        if observation.ok:
            dumped = dump_value(observation.value)
            if dumped is not None:
                await _set(cache.store, key, dumped, cache.ttl, self._run)
        return observation


class PlanCache(_Cache):
    """Opt-in: the first plan for a request is kept, and the same request to an agent with
    the same tools, prompts and plan format reuses it without calling the planner.

    Only complete plans (ended with `join()`, no error) of the first round are kept; replans
    depend on what the tools returned and always go to the planner. Native tool-call plans
    (`plan_format="tools"`) are not cached.
    """

    name = "plan_cache"

    def key(self, run: PassContext) -> str:
        text = "\x00".join((self.namespace, run.plan_format, run.system, run.request))
        return f"plan:{hashlib.sha256(text.encode()).hexdigest()}"

    def start(self, run: PassContext) -> PassRun:
        return _PlanCacheRun(self, run)


class _PlanCacheRun(PassRun):
    def __init__(self, cache: PlanCache, run: PassContext) -> None:
        self._cache = cache
        self._run = run
        self._hit = False

    async def cached_plan(self, round_no: int) -> str | None:
        if round_no != 0 or self._run.plan_format == "tools":
            return None
        text = await _get(self._cache.store, self._cache.key(self._run), self._run, "plan_cache")
        if text is None:
            self._cache.misses += 1
            return None
        self._cache.hits += 1
        self._hit = True
        self._run.emit(
            PassApplied("plan_cache", None, "plan reused: no planner call", (), self._run.clock())
        )
        return text

    async def planned(self, round_no: int, plan: Plan, error: str | None) -> None:
        if round_no != 0 or self._hit or error is not None or not plan.joined or not plan.tasks:
            return
        if self._run.plan_format == "tools":
            return
        await _set(
            self._cache.store, self._cache.key(self._run), plan.text, self._cache.ttl, self._run
        )
