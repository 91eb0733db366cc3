"""Roulette through the API: a random streamer who opted in and is online is offered; a
decline or a ring timeout moves on to the next; the answered call bills at the roulette
tariff; the caller can cancel; skipped and blocked streamers are not offered."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from graphql_client import SubscriptionClient, data_of, post, subscribe, token_for

from app import Olo, create_app
from domains.billing.aggregate import CallKind, Schedule
from domains.profile.aggregate import Role
from eventlog.clock import ManualClock
from eventlog.settings import Settings

OFFER_SECONDS = 10.0
SKIP_MINUTES = 10.0
# Differs from the direct seed (9 at 0 s, 60 at 20 s; streamer 30 at 20 s).
ROULETTE_CALLER = Schedule(((0, 4), (20, 30)), 60, 30)
ROULETTE_STREAMER = Schedule(((20, 12),), 60, 12)

CALL_EVENTS = "subscription { callEvents { type callId reason side coins } }"
START = (
    "mutation { startRoulette { __typename"
    " ... on RouletteView { id status call { id calleeId kind status } }"
    " ... on NoStreamerAvailable { message }"
    " ... on InsufficientFunds { message coins needed }"
    " ... on CalleeUnavailable { message } } }"
)
CANCEL = (
    "mutation($id: String!) { cancelRoulette(rouletteId: $id) { __typename"
    " ... on RouletteView { id status call { id status } }"
    " ... on CallNotPossible { message } ... on NotFound { message }"
    " ... on InvalidInput { message field } } }"
)
CALL_FIELDS = (
    "__typename ... on CallView { id kind status tariffVersion coinsCharged coinsEarned }"
    " ... on CallNotPossible { message } ... on NotFound { message }"
)
ACCEPT = "mutation($id: String!) { acceptCall(callId: $id) { " + CALL_FIELDS + " } }"
DECLINE = "mutation($id: String!) { declineCall(callId: $id) { " + CALL_FIELDS + " } }"
HANG_UP = "mutation($id: String!) { hangUp(callId: $id) { " + CALL_FIELDS + " } }"
JOIN = "mutation($id: String!) { joinCall(callId: $id) { __typename } }"
AVAILABILITY = "mutation($r: Boolean!) { setAvailability(calls: true, roulette: $r) }"
BLOCK = "mutation($id: ID!) { block(userId: $id) { __typename } }"
CALLS = "{ calls { id kind status coins } }"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        mode="development",
        firebase_auth_emulator_host="127.0.0.1:9099",
        leadership_poll_seconds=0.2,
        media_events="clients",
        roulette_offer_seconds=OFFER_SECONDS,
        roulette_skip_minutes=SKIP_MINUTES,
    )


@dataclass
class Person:
    name: str
    token: str
    id: str


@dataclass
class World:
    base: str
    olo: Olo
    clock: ManualClock
    pg: asyncpg.Connection
    roulette_tariff: int  # its version

    async def gql(self, who: Person, query: str, **variables: Any) -> Any:
        (result,) = data_of(await post(self.base, query, variables or None, who.token)).values()
        return result

    async def person(self, name: str, *, coins: int = 0) -> Person:
        token = token_for(name, name=name)
        me = await self.gql(Person(name, token, ""), "{ me { id } }")
        person = Person(name, token, me["id"])
        if coins:
            await self.olo.services.balance.grant(UUID(person.id), coins, key=name)
        return person

    async def streamer(self, name: str, *, roulette: bool = True) -> Person:
        """A streamer with their availability set (and projected)."""
        person = await self.person(name)
        await self.olo.services.profiles.set_role(UUID(person.id), Role.STREAMER)
        assert await self.gql(person, AVAILABILITY, r=roulette) is True
        await self.until(
            "SELECT count(*) FROM profile_users u JOIN video_availability a USING (user_id)"
            " WHERE u.user_id = $1 AND u.role = 'streamer' AND a.roulette = $2",
            UUID(person.id),
            roulette,
        )
        return person

    async def online(self, stack: contextlib.AsyncExitStack, who: Person) -> SubscriptionClient:
        """Who holds a callEvents subscription (and so is online) until the stack closes."""
        stream = await stack.enter_async_context(subscribe(self.base, CALL_EVENTS, who.token))
        await self.until(
            "SELECT count(*) FROM video_presence WHERE user_id = $1 AND expires_at > now()",
            UUID(who.id),
        )
        return stream

    async def until(self, sql: str, *args: Any) -> None:
        """Wait until the read models count at least one row for `sql`."""
        for _ in range(200):
            if await self.pg.fetchval(sql, *args):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"never true: {sql} {args}")

    async def start(self, caller: Person) -> dict[str, Any]:
        result = await self.gql(caller, START)
        assert isinstance(result, dict)
        return result


@pytest.fixture
async def world(settings: Settings, database_url: str, serve: Any, pg: Any) -> AsyncIterator[World]:
    clock = ManualClock()
    app = create_app(settings, database_url, clock=clock)
    async with serve(app) as base:
        olo: Olo = app.state.olo
        tariffs = olo.services.tariffs
        await tariffs.ensure_seeded()
        version = await tariffs.revise(CallKind.ROULETTE, ROULETTE_CALLER, ROULETTE_STREAMER)
        yield World(base, olo, clock, pg, version)


async def next_event(stream: SubscriptionClient, kind: str, seconds: float = 10.0) -> Any:
    """The next callEvents item of this type (items of other types are skipped)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        item = (await stream.next_data(left))["callEvents"]
        if item["type"] == kind:
            return item
    raise AssertionError(f"no {kind} within {seconds} s")


async def no_offer(stream: SubscriptionClient, within: float = 1.0) -> None:
    """Nothing rings for this streamer within `within` seconds."""
    message = await stream.pending(within)
    assert message is None, message


async def test_a_decline_moves_on_to_the_other_streamer_who_answers_at_the_roulette_tariff(
    world: World,
) -> None:
    caller = await world.person("rl-caller", coins=1000)
    streamers = [await world.streamer("rl-ann"), await world.streamer("rl-bob")]
    async with contextlib.AsyncExitStack() as stack:
        caller_events = await world.online(stack, caller)
        events = {s.id: await world.online(stack, s) for s in streamers}

        started = await world.start(caller)
        assert started["__typename"] == "RouletteView", started
        assert (started["status"], started["call"]["kind"]) == ("searching", "roulette")
        first_call = started["call"]["id"]
        first = next(s for s in streamers if s.id == started["call"]["calleeId"])
        second = next(s for s in streamers if s is not first)
        assert (await next_event(events[first.id], "incoming"))["callId"] == first_call
        assert (await world.gql(first, DECLINE, id=first_call))["status"] == "declined"

        offer = await next_event(events[second.id], "incoming")
        assert offer["callId"] != first_call
        accepted = await world.gql(second, ACCEPT, id=offer["callId"])
        assert accepted["kind"] == "roulette"
        assert accepted["tariffVersion"] == world.roulette_tariff
        assert accepted["coinsCharged"] == 4  # the roulette connect charge, not direct's 9
        matched = await next_event(caller_events, "rouletteMatched")
        assert matched["callId"] == offer["callId"]

        for who in (caller, second):
            assert (await world.gql(who, JOIN, id=offer["callId"]))["__typename"] == "MediaJoin"
        await next_event(events[second.id], "connected")
        world.clock.advance(20)
        earned = await next_event(events[second.id], "charged")
        assert earned["coins"] == 12
        ended = await world.gql(caller, HANG_UP, id=offer["callId"])
        assert (ended["status"], ended["coinsCharged"], ended["coinsEarned"]) == ("ended", 34, 12)
    await world.until("SELECT count(*) FROM video_calls WHERE status = 'ended'")
    history = await world.gql(caller, CALLS)  # both were rung at the same (manual) time
    assert sorted((c["id"], c["kind"], c["status"], c["coins"]) for c in history) == sorted(
        [(offer["callId"], "roulette", "ended", 34), (first_call, "roulette", "declined", 0)]
    )


async def test_cancel_while_ringing_cancels_the_offer_and_offers_nobody_else(
    world: World,
) -> None:
    caller = await world.person("rc-caller", coins=1000)
    stranger = await world.person("rc-stranger")
    streamers = [await world.streamer("rc-ann"), await world.streamer("rc-bob")]
    async with contextlib.AsyncExitStack() as stack:
        events = {s.id: await world.online(stack, s) for s in streamers}
        started = await world.start(caller)
        ringing = started["call"]["id"]
        offered = events[started["call"]["calleeId"]]
        other = next(e for sid, e in events.items() if sid != started["call"]["calleeId"])
        await next_event(offered, "incoming")

        foreign = await world.gql(stranger, CANCEL, id=started["id"])
        assert foreign["__typename"] == "NotFound"
        cancelled = await world.gql(caller, CANCEL, id=started["id"])
        assert cancelled == {
            "__typename": "RouletteView",
            "id": started["id"],
            "status": "cancelled",
            "call": {"id": ringing, "status": "cancelled"},
        }
        assert (await next_event(offered, "cancelled"))["callId"] == ringing
        await no_offer(other)
        again = await world.gql(caller, CANCEL, id=started["id"])
        assert again["status"] == "cancelled"


async def test_nobody_online_and_opted_in_means_no_streamer_available(world: World) -> None:
    caller = await world.person("rn-caller", coins=1000)
    broke = await world.person("rn-broke")
    not_in_roulette = await world.streamer("rn-direct-only", roulette=False)
    offline = await world.streamer("rn-offline")
    async with contextlib.AsyncExitStack() as stack:
        direct_only = await world.online(stack, not_in_roulette)

        result = await world.start(caller)
        assert result["__typename"] == "NoStreamerAvailable", result

        await world.online(stack, offline)  # comes online: now there is someone
        poor = await world.start(broke)
        assert (poor["__typename"], poor["needed"]) == ("InsufficientFunds", 4)
        result = await world.start(caller)
        assert result["__typename"] == "RouletteView"
        assert result["call"]["calleeId"] == offline.id
        await no_offer(direct_only)
    assert (
        await world.pg.fetchval(
            "SELECT count(*) FROM eventlog_events WHERE topic = 'olo.video:Roulette.Started'"
        )
        == 1
    )  # the failed starts left nothing behind


async def test_skipped_streamers_are_not_offered_again_within_the_skip_window(
    world: World,
) -> None:
    caller = await world.person("rs-caller", coins=1000)
    streamers = [await world.streamer("rs-ann"), await world.streamer("rs-bob")]
    async with contextlib.AsyncExitStack() as stack:
        caller_events = await world.online(stack, caller)
        events = {s.id: await world.online(stack, s) for s in streamers}
        started = await world.start(caller)
        first = next(s for s in streamers if s.id == started["call"]["calleeId"])
        second = next(s for s in streamers if s is not first)
        await world.gql(first, DECLINE, id=started["call"]["id"])
        offer = await next_event(events[second.id], "incoming")

        world.clock.advance(OFFER_SECONDS + 1)  # the second one lets it ring out
        assert (await next_event(events[second.id], "missed"))["callId"] == offer["callId"]
        exhausted = await next_event(caller_events, "rouletteExhausted")
        assert (exhausted["callId"], exhausted["reason"]) == (started["id"], "no_streamer")

        again = await world.start(caller)
        assert again["__typename"] == "NoStreamerAvailable", again
        world.clock.advance(SKIP_MINUTES * 60)
        later = await world.start(caller)
        assert later["__typename"] == "RouletteView", later
        assert later["call"]["calleeId"] in {first.id, second.id}


async def test_a_streamer_blocked_either_way_is_never_offered(world: World) -> None:
    caller = await world.person("rb-caller", coins=1000)
    blocked_by_caller = await world.streamer("rb-ann")
    blocking_caller = await world.streamer("rb-bob")
    free = await world.streamer("rb-cat")
    assert (await world.gql(caller, BLOCK, id=blocked_by_caller.id))["__typename"] == "UserBlocked"
    assert (await world.gql(blocking_caller, BLOCK, id=caller.id))["__typename"] == "UserBlocked"
    await world.until("SELECT count(*) = 2 FROM blocklist_blocks")
    async with contextlib.AsyncExitStack() as stack:
        caller_events = await world.online(stack, caller)
        blocked_events = [
            await world.online(stack, s) for s in (blocked_by_caller, blocking_caller)
        ]
        free_events = await world.online(stack, free)

        started = await world.start(caller)
        assert started["call"]["calleeId"] == free.id
        await next_event(free_events, "incoming")
        await world.gql(free, DECLINE, id=started["call"]["id"])
        exhausted = await next_event(caller_events, "rouletteExhausted")
        assert exhausted["callId"] == started["id"]
        for stream in blocked_events:
            await no_offer(stream, within=0.2)


async def test_every_availability_change_reaches_roulette_matching(world: World) -> None:
    """Out, in, out, in again: each change decides whether the streamer is offered (the
    projection once stored every change after the first under the wrong id)."""
    caller = await world.person("ra-caller", coins=1000)
    streamer = await world.streamer("ra-ann", roulette=False)
    async with contextlib.AsyncExitStack() as stack:
        events = await world.online(stack, streamer)
        for roulette in (True, False, True, False, True):
            assert await world.gql(streamer, AVAILABILITY, r=roulette) is True
            await world.until(
                "SELECT count(*) FROM video_availability WHERE user_id = $1 AND roulette = $2",
                UUID(streamer.id),
                roulette,
            )
            started = await world.start(caller)
            if not roulette:
                assert started["__typename"] == "NoStreamerAvailable", started
                continue
            assert started["__typename"] == "RouletteView", started
            assert started["call"]["calleeId"] == streamer.id
            await next_event(events, "incoming")
            cancelled = await world.gql(caller, CANCEL, id=started["id"])
            assert cancelled["status"] == "cancelled"
            await next_event(events, "cancelled")
            await world.until(
                "SELECT count(*) FROM video_calls WHERE call_id = $1 AND status = 'cancelled'",
                UUID(started["call"]["id"]),
            )
            world.clock.advance(SKIP_MINUTES * 60)  # a cancelled offer counts as skipped
