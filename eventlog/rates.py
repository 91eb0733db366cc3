"""Rate limits per (user, action), on the `limits` package: a moving window kept in this
process's memory, or in Redis when several API processes must share one budget."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from eventlog.settings import DEFAULT_RATE_LIMITS, Settings


@dataclass(frozen=True)
class Limited:
    """An action refused because its budget is spent; it may be tried again after this."""

    action: str
    limit: str
    retry_after_seconds: int


class RateLimits:
    """One budget per (user, action), e.g. `requestCall` 20 per minute. An action with no
    limit configured is never limited. A moving window: a burst at a window's edge cannot
    double the budget, as a fixed window would allow."""

    def __init__(
        self, limits: Mapping[str, str], storage: Storage | None = None, *, prefix: str = "olo"
    ) -> None:
        self._items: dict[str, RateLimitItem] = {a: parse(text) for a, text in limits.items()}
        self._texts = dict(limits)
        self._storage = storage if storage is not None else MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._prefix = prefix

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        """In memory for this process, or shared through Redis when `OLO_REDIS_URL` is set."""
        storage: Storage | None = None
        if settings.redis_url:
            storage = RedisStorage(_async_uri(settings.redis_url))
        limits = {**DEFAULT_RATE_LIMITS, **settings.rate_limits}
        return cls(limits, storage, prefix=settings.rate_limit_prefix)

    async def hit(self, user_id: UUID, action: str) -> Limited | None:
        """Spend one of the user's `action` budget; what they are told if none is left (then
        the caller must not run the action)."""
        item = self._items.get(action)
        if item is None:
            return None
        key = (self._prefix, action, str(user_id))
        if await self._limiter.hit(item, *key):
            return None
        stats = await self._limiter.get_window_stats(item, *key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        return Limited(action, self._texts[action], retry_after)


def _async_uri(url: str) -> str:
    """`redis://host:port/db` as the `limits` async storage names it."""
    return url if url.startswith("async+") else f"async+{url}"
