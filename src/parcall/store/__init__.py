"""Stores for caches: in memory (the default), SQLite (standard library) and Redis.

Every store has the same two async methods, `get(key)` and `set(key, value, ttl)`, on text
values; the result cache and the plan cache in `parcall.passes` take any of them.
"""

from ._base import MemoryStore, Store
from ._redis import RedisStore
from ._sqlite import SQLiteStore

__all__ = ["MemoryStore", "RedisStore", "SQLiteStore", "Store"]
