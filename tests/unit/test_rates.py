"""Rate limits per (user, action): a moving window in memory, or shared through Redis."""

from __future__ import annotations

import os
from uuid import uuid4

from limits.aio.storage import RedisStorage

from eventlog.rates import RateLimits

REDIS_URL = os.environ.get("OLO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def test_the_budget_is_spent_then_refused_with_a_retry_time() -> None:
    rates = RateLimits({"requestCall": "3/minute"})
    caller, other = uuid4(), uuid4()
    assert [await rates.hit(caller, "requestCall") for _ in range(3)] == [None, None, None]
    limited = await rates.hit(caller, "requestCall")
    assert limited is not None
    assert limited.action == "requestCall" and limited.limit == "3/minute"
    assert 0 < limited.retry_after_seconds <= 60
    assert await rates.hit(other, "requestCall") is None  # everyone has their own budget
    assert await rates.hit(caller, "block") is None  # an action without a limit is never limited


async def test_processes_sharing_redis_share_one_budget() -> None:
    prefix = f"olo-test-{uuid4().hex}"
    first = RateLimits({"block": "4/minute"}, RedisStorage(f"async+{REDIS_URL}"), prefix=prefix)
    second = RateLimits({"block": "4/minute"}, RedisStorage(f"async+{REDIS_URL}"), prefix=prefix)
    user = uuid4()
    assert await first.hit(user, "block") is None
    assert await second.hit(user, "block") is None
    assert await first.hit(user, "block") is None
    assert await second.hit(user, "block") is None
    refused = await first.hit(user, "block")
    assert refused is not None and refused.retry_after_seconds > 0
    assert await second.hit(user, "block") is not None
    assert await second.hit(uuid4(), "block") is None
