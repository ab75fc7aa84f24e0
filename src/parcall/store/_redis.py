"""A store on a Redis server (`pip install 'parcall[redis]'`): caches shared by processes."""

from __future__ import annotations

import math
from typing import Any

from .._core.extras import require
from ._base import check_ttl

__all__ = ["RedisStore"]


def _redis_asyncio() -> Any:
    return require("redis.asyncio", needed_for="RedisStore")


class RedisStore:
    """Values under `prefix + key` on a Redis server; Redis itself expires them (`PX`).

    Give a `url` (`redis://host:6379/0`) or a ready `redis.asyncio.Redis` client.
    """

    def __init__(
        self, url: str = "redis://localhost:6379/0", *, client: Any = None, prefix: str = "parcall:"
    ) -> None:
        self.prefix = prefix
        self._client = client if client is not None else _redis_asyncio().from_url(url)

    async def get(self, key: str) -> str | None:
        value = await self._client.get(self.prefix + key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        check_ttl(ttl)
        px = None if ttl is None else max(1, math.ceil(ttl * 1000))
        await self._client.set(self.prefix + key, value, px=px)

    async def close(self) -> None:
        await self._client.aclose()
