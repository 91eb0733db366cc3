"""A running olo with a manual clock, a caller and a streamer, and the GraphQL the app sends
for calls."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
from graphql_client import data_of, post, subscribe, token_for

from app import Olo, create_app
from domains.balance.service import AccountRef
from domains.profile.aggregate import Role
from domains.video.aggregate import Call, CallStatus, Side
from eventlog.clock import ManualClock
from eventlog.settings import Settings

CALL_FIELDS = (
    "__typename ... on CallView { id status endReason coinsCharged coinsEarned connectedAt }"
    " ... on CallNotPossible { message } ... on InvalidInput { message field }"
    " ... on NotFound { message }"
)
REQUEST_FIELDS = (
    CALL_FIELDS + " ... on CalleeUnavailable { message }"
    " ... on InsufficientFunds { message coins needed } ... on Blocked { message }"
)
REQUEST = "mutation($id: String!) { requestCall(calleeId: $id) { " + REQUEST_FIELDS + " } }"
ACCEPT = "mutation($id: String!) { acceptCall(callId: $id) { " + CALL_FIELDS + " } }"
DECLINE = "mutation($id: String!) { declineCall(callId: $id) { " + CALL_FIELDS + " } }"
HANG_UP = "mutation($id: String!) { hangUp(callId: $id) { " + CALL_FIELDS + " } }"
JOIN = (
    "mutation($id: String!) { joinCall(callId: $id) { __typename"
    " ... on MediaJoin { appId channel uid token expiresAt }"
    " ... on CallNotPossible { message } ... on NotFound { message } } }"
)
CALL_EVENTS = (
    "subscription { callEvents { type callId reason side coins position"
    " media { channel uid token expiresAt } } }"
)
CALLS = "{ calls { id peerId side kind status durationSeconds coins endReason } }"


@dataclass
class Party:
    uid: str
    token: str
    user_id: UUID


@dataclass
class CallWorld:
    olo: Olo
    base: str
    clock: ManualClock
    caller: Party
    streamer: Party

    async def gql(self, who: Party, query: str, **variables: Any) -> dict[str, Any]:
        return data_of(await post(self.base, query, variables or None, who.token))

    async def mutate(self, who: Party, query: str, call_id: str) -> dict[str, Any]:
        data = await self.gql(who, query, id=call_id)
        (result,) = data.values()
        assert isinstance(result, dict)
        return result

    async def call(self, call_id: str) -> Call:
        call = await self.olo.store.load(UUID(call_id), fresh=True)
        assert isinstance(call, Call)
        return call

    async def advance(self, seconds: float, call_id: str | None = None) -> None:
        """Move time on in steps of at most 5 s, letting the meter catch up after each."""
        left = seconds
        while left > 1e-9:
            step = min(5.0, left)
            self.clock.advance(step)
            left -= step
            if call_id is not None:
                await self.metered(call_id)

    async def metered(self, call_id: str, within: float = 10.0) -> Call:
        """Wait until the meter has charged every checkpoint due now (or the call ended)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            call = await self.call(call_id)
            due = [call.next_due(s) for s in (Side.CALLER, Side.STREAMER)]
            if call.status is not CallStatus.CONNECTED or all(
                t is None or t > self.clock.now() for t in due
            ):
                return call
            assert asyncio.get_running_loop().time() < deadline, "the meter fell behind"
            await asyncio.sleep(0.02)

    async def wallet(self, who: Party) -> int:
        return await self.olo.services.balance.coins(AccountRef.wallet(who.user_id))

    async def earnings(self, who: Party) -> int:
        return await self.olo.services.balance.coins(AccountRef.earnings(who.user_id))


async def make_party(
    olo: Olo, base: str, uid: str, *, coins: int = 0, streamer: bool = False
) -> Party:
    token = token_for(uid, name=uid)
    data = data_of(await post(base, "{ me { id } }", None, token))
    user_id = UUID(data["me"]["id"])
    if streamer:
        await olo.services.profiles.set_role(user_id, Role.STREAMER)
    if coins:
        await olo.services.balance.grant(user_id, coins, key=f"test/{uid}")
    return Party(uid, token, user_id)


@contextlib.asynccontextmanager
async def call_world(
    settings: Settings,
    database_url: str,
    serve: Callable[..., Any],
    *,
    caller_coins: int = 1000,
) -> AsyncIterator[CallWorld]:
    clock = ManualClock()
    app = create_app(settings, database_url, clock=clock)
    async with serve(app) as base:
        olo: Olo = app.state.olo
        await olo.services.tariffs.ensure_seeded()
        caller = await make_party(olo, base, "caller", coins=caller_coins)
        streamer = await make_party(olo, base, "streamer", streamer=True)
        yield CallWorld(olo, base, clock, caller, streamer)


async def wait_for(stream: Any, kind: str, seconds: float = 10.0) -> dict[str, Any]:
    """The next callEvents item of this type (earlier ones of other types are skipped)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, f"no {kind} event"
        item = (await stream.next_data(left))["callEvents"]
        if item["type"] == kind:
            assert isinstance(item, dict)
            return item


@contextlib.asynccontextmanager
async def online(world: CallWorld, who: Party) -> AsyncIterator[Any]:
    """`who` holds a callEvents subscription (and so is online) for the block's duration."""
    async with subscribe(world.base, CALL_EVENTS, who.token) as stream:
        for _ in range(200):  # the subscription registers presence as it starts
            if await world.olo.services.presence.is_online(who.user_id):
                break
            await asyncio.sleep(0.02)
        yield stream


async def settled(db: asyncpg.Pool | asyncpg.Connection, within: float = 10.0) -> None:
    """Every read model and reaction has applied the whole log, what reactions wrote in turn
    included (a block's favorites clean-up, a gift's notification): a count of events taken
    after this is not raced by them."""
    deadline = asyncio.get_running_loop().time() + within
    query = (
        "SELECT (SELECT coalesce(max(notification_id), 0) FROM eventlog_events), "
        "(SELECT coalesce(min(position), 0) FROM olo_tracking)"
    )
    while True:
        row = await db.fetchrow(query)
        assert row is not None
        head, lowest = row
        if lowest >= head:
            return
        assert asyncio.get_running_loop().time() < deadline, f"jobs at {lowest}, log at {head}"
        await asyncio.sleep(0.02)
