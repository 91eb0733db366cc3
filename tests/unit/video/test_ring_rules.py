"""When a call may ring: CallService.request_call on the in-memory store. Given (earlier
commands), when (one ring), then the events committed or the typed error, and nothing
committed by a refusal."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from uuid import uuid4

import pytest
from fakes.world import World, topics

from domains.balance.aggregate import InsufficientFundsError
from domains.billing.aggregate import CallKind
from domains.profile.aggregate import Role, User
from domains.video.aggregate import CallStatus
from domains.video.ringing import (
    BlockedError,
    CalleeUnavailableError,
    CallerBusyError,
    Ring,
    SelfCallError,
    UnknownCallError,
    check_can_ring,
)

RINGS = ["olo.video:Call.Requested"] + ["olo.video:Line.Opened", "olo.video:Line.Engaged"] * 2


async def test_a_funded_caller_rings_an_online_streamer_and_both_lines_engage() -> None:
    world = await World.seeded()
    ann, sam = await world.user("ann", coins=9), await world.streamer("sam")
    world.store.take_events()

    call = await world.calls.request_call(ann, sam)

    events = world.store.take_events()
    assert topics(events) == RINGS
    requested = events[0]
    assert (requested.caller_id, requested.callee_id, requested.kind) == (ann, sam, "direct")
    assert requested.ring_deadline == world.clock.now() + 30
    assert {e.call_id for e in events if type(e).TOPIC == "olo.video:Line.Engaged"} == {call.id}
    assert call.status is CallStatus.RINGING


async def test_a_streamer_offline_with_no_device_is_unavailable_one_with_a_device_rings() -> None:
    world = await World.seeded()
    ann, sam = await world.user("ann", coins=50), await world.streamer("sam", online=False)
    world.store.take_events()

    with pytest.raises(CalleeUnavailableError, match="offline for calls"):
        await world.calls.request_call(ann, sam)
    assert world.store.take_events() == []

    world.with_devices.add(sam)  # a push wakes the app
    await world.calls.request_call(ann, sam)
    assert topics(world.store.take_events()) == RINGS


async def test_a_streamer_not_taking_calls_is_unavailable() -> None:
    world = await World.seeded()
    ann, sam = await world.user("ann", coins=50), await world.streamer("sam")
    await world.calls.set_availability(sam, calls=False, roulette=True)
    world.store.take_events()

    with pytest.raises(CalleeUnavailableError, match="offline for calls"):
        await world.calls.request_call(ann, sam)
    assert world.store.take_events() == []


async def test_roulette_calls_reach_only_streamers_who_joined_the_roulette() -> None:
    world = await World.seeded()
    ann, sam = await world.user("ann", coins=50), await world.streamer("sam")
    world.store.take_events()

    with pytest.raises(CalleeUnavailableError):  # direct calls are on by default, roulette not
        await world.calls.request_call(ann, sam, kind=CallKind.ROULETTE)
    await world.calls.set_availability(sam, calls=False, roulette=True)
    call = await world.calls.request_call(ann, sam, kind=CallKind.ROULETTE)
    assert call.kind is CallKind.ROULETTE


async def test_a_busy_line_either_side_refuses_the_ring() -> None:
    world = await World.seeded()
    ann, bob = await world.user("ann", coins=50), await world.user("bob", coins=50)
    sam, sue = await world.streamer("sam"), await world.streamer("sue")
    await world.calls.request_call(ann, sam)
    world.store.take_events()

    with pytest.raises(CalleeUnavailableError, match="in another call"):
        await world.calls.request_call(bob, sam)
    with pytest.raises(CallerBusyError, match="already in a call"):
        await world.calls.request_call(ann, sue)
    assert world.store.take_events() == []


async def test_a_line_is_free_again_once_the_call_stops_ringing() -> None:
    world = await World.seeded()
    ann, bob = await world.user("ann", coins=50), await world.user("bob", coins=50)
    sam = await world.streamer("sam")
    call = await world.calls.request_call(ann, sam)
    await world.calls.decline_call(sam, call.id)

    await world.calls.request_call(bob, sam)


@pytest.mark.parametrize("blocker", ["caller", "callee"])
async def test_a_block_either_way_refuses_the_ring(blocker: str) -> None:
    world = await World.seeded()
    ann, sam = await world.user("ann", coins=50), await world.streamer("sam")
    if blocker == "caller":
        await world.blocklist.block(ann, sam, "rude")
    else:
        await world.blocklist.block(sam, ann)
    world.store.take_events()

    with pytest.raises(BlockedError):
        await world.calls.request_call(ann, sam)
    assert world.store.take_events() == []

    await world.blocklist.unblock(*((ann, sam) if blocker == "caller" else (sam, ann)))
    await world.calls.request_call(ann, sam)


async def test_a_wallet_short_of_the_first_checkpoint_is_insufficient_funds() -> None:
    world = await World.seeded()
    ann, sam = await world.user("ann", coins=8), await world.streamer("sam")
    broke = await world.user("broke")
    world.store.take_events()

    with pytest.raises(InsufficientFundsError) as short:
        await world.calls.request_call(ann, sam)
    assert (short.value.coins, short.value.needed) == (8, 9)
    with pytest.raises(InsufficientFundsError) as empty:  # no wallet yet: 0 coins
        await world.calls.request_call(broke, sam)
    assert (empty.value.coins, empty.value.needed) == (0, 9)
    assert world.store.take_events() == []


async def test_calling_yourself_an_unknown_user_or_a_non_streamer_is_refused() -> None:
    world = await World.seeded()
    ann, bob = await world.user("ann", coins=50), await world.user("bob")
    sam = await world.streamer("sam")
    world.online.add(bob)
    world.store.take_events()

    with pytest.raises(SelfCallError):
        await world.calls.request_call(sam, sam)
    with pytest.raises(UnknownCallError, match="no such user"):
        await world.calls.request_call(ann, uuid4())
    with pytest.raises(CalleeUnavailableError, match="only streamers"):
        await world.calls.request_call(ann, bob)
    assert world.store.take_events() == []


async def test_two_callers_at_once_ring_a_streamer_once_the_loser_retries_and_is_refused() -> None:
    world = await World.seeded()
    ann, bob = await world.user("ann", coins=50), await world.user("bob", coins=50)
    sam = await world.streamer("sam")
    world.store.take_events()

    rang = await asyncio.gather(
        world.calls.request_call(ann, sam),
        world.calls.request_call(bob, sam),
        return_exceptions=True,
    )

    assert sorted(type(r).__name__ for r in rang) == ["Call", "CalleeUnavailableError"]
    assert world.store.conflicts >= 1  # the second lost the version race and ran again
    assert topics(world.store.take_events()).count("olo.video:Call.Requested") == 1


def test_the_first_broken_rule_is_the_one_told() -> None:
    """Unknown, then blocked, then offline: a ring breaking several hears the first."""
    ring = Ring(
        caller_id=uuid4(),
        kind=CallKind.DIRECT,
        callee=None,
        reachable=False,
        blocked=True,
        availability=None,
        caller_line=None,
        callee_line=None,
        tariff=None,
        coins=0,
    )
    with pytest.raises(UnknownCallError):
        check_can_ring(ring)
    sam = User(firebase_uid="sam", display_name="sam", email=None)
    sam.change_role(Role.STREAMER)
    with pytest.raises(BlockedError):
        check_can_ring(replace(ring, callee=sam))
    with pytest.raises(CalleeUnavailableError, match="offline"):
        check_can_ring(replace(ring, callee=sam, blocked=False))
    with pytest.raises(CalleeUnavailableError, match="no direct tariff"):
        check_can_ring(replace(ring, callee=sam, blocked=False, reachable=True))
