"""Stores for caches — in memory (the default), SQLite (standard library) and Redis — and
for journals of runs.

Every cache store has the same two async methods, `get(key)` and `set(key, value, ttl)`, on
text values; the result cache and the plan cache in `parcall.passes` take any of them.
`SQLiteRunStore` (one machine) and `PostgresRunStore` (shared by processes) keep the
journals of `Agent(store=...)`, which `Agent.resume` replays.
"""

from ._base import MemoryStore, Store
from ._postgres import PostgresRunStore
from ._redis import RedisStore
from ._runs import ModelCallRecord, RunStore, SQLiteRunStore, StoredRun, TaskRecord
from ._sqlite import SQLiteStore

__all__ = [
    "MemoryStore",
    "ModelCallRecord",
    "PostgresRunStore",
    "RedisStore",
    "RunStore",
    "SQLiteRunStore",
    "SQLiteStore",
    "Store",
    "StoredRun",
    "TaskRecord",
]
