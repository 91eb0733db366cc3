"""The GraphQL the app sends for gifts, and a call world with the seed gift catalog."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from call_support import ACCEPT, JOIN, REQUEST, CallWorld, Party, call_world

from domains.gift.aggregate import gift_id_of
from eventlog.settings import Settings

GIFTS = "{ gifts { id name price streamerShare imageUrl } }"
SEND_GIFT = (
    "mutation($to: String!, $gift: String!, $key: String!, $call: String) {"
    " sendGift(toUserId: $to, giftId: $gift, idempotencyKey: $key, callId: $call) { __typename"
    " ... on GiftSent { id giftId name coins toUserId callId balance replayed }"
    " ... on InsufficientFunds { message coins needed }"
    " ... on InvalidInput { message field } ... on Blocked { message } ... on Suspended { message }"
    " ... on NotFound { message } ... on RateLimited { retryAfterSeconds } } }"
)
GIFT_CALL_EVENTS = (
    "subscription { callEvents { type callId side coins position gift { id name senderId } } }"
)
EARNINGS = "subscription { earnings { callId coins callTotal today position source giftName } }"
NOTIFICATIONS = "subscription { notifications { id kind payload } }"
HISTORY = (
    "query($account: BalanceAccount!) { balanceHistory(first: 5, account: $account) {"
    " entries { delta balance reason } } }"
)

# The seed catalog (domains/gift/aggregate.py): price, streamer's share in percent.
ROSE, HEART, TEDDY, DIAMOND = (str(gift_id_of(c)) for c in ("rose", "heart", "teddy", "diamond"))


@contextlib.asynccontextmanager
async def gift_world(
    settings: Settings, database_url: str, serve: Callable[..., Any], *, caller_coins: int = 1000
) -> AsyncIterator[CallWorld]:
    """A caller with coins, a streamer, the seed tariffs and the seed gift catalog."""
    async with call_world(settings, database_url, serve, caller_coins=caller_coins) as world:
        await world.olo.services.gift_catalog.ensure_seeded()
        yield world


async def send_gift(
    world: CallWorld,
    who: Party,
    to: Party | str,
    gift: str,
    key: str,
    call_id: str | None = None,
) -> dict[str, Any]:
    to_id = to if isinstance(to, str) else str(to.user_id)
    data = await world.gql(who, SEND_GIFT, to=to_id, gift=gift, key=key, call=call_id)
    result = data["sendGift"]
    assert isinstance(result, dict)
    return result


async def connect(world: CallWorld) -> str:
    """Ring, answer and join both sides (the apps report joining); the call id."""
    call_id = (await world.mutate(world.caller, REQUEST, str(world.streamer.user_id)))["id"]
    assert (await world.mutate(world.streamer, ACCEPT, call_id))["status"] == "accepted"
    for who in (world.caller, world.streamer):
        assert (await world.mutate(who, JOIN, call_id))["__typename"] == "MediaJoin"
    return call_id


async def next_of(stream: Any, field: str, wanted: Callable[[dict[str, Any]], bool]) -> dict:
    """The next item of a subscription (`field`) that `wanted` accepts; others are skipped."""
    deadline = asyncio.get_running_loop().time() + 10.0
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, f"no such {field} item"
        item = (await stream.next_data(left))[field]
        if wanted(item):
            assert isinstance(item, dict)
            return item


async def eventually(check: Callable[[], Any], seconds: float = 10.0) -> None:
    """Until `check()` (awaited) is true: read models follow the log a moment later."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "never became true"
        await asyncio.sleep(0.02)
