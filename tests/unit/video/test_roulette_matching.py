"""Roulette matching: RouletteService on the in-memory store, the candidate query faked
(it is SQL over read models). Its policy is fed the events each command committed, as the
policy runner would."""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

import pytest
from fakes.world import World, topics

from domains.balance.aggregate import InsufficientFundsError
from domains.video.aggregate import Call, CallStatus
from domains.video.roulette import (
    NoStreamerAvailableError,
    Roulette,
    RoulettePolicy,
    RouletteStatus,
    UnknownRouletteError,
)

T = TypeVar("T")


async def _roulette_world(*streamers: str, coins: int = 100) -> tuple[World, list]:
    world = await World.seeded()
    ids = [await world.user("cal", coins=coins)]
    for name in streamers:
        streamer = await world.streamer(name)
        await world.calls.set_availability(streamer, calls=True, roulette=True)
        ids.append(streamer)
    world.matching.streamers = ids[1:]
    world.store.take_events()
    return world, ids


async def _loaded(world: World, oid: UUID | None, cls: type[T]) -> T:
    found = await world.store.load(oid) if oid is not None else None
    assert isinstance(found, cls)
    return found


async def _react(world: World) -> list[str]:
    """Run the roulette policy over what was committed since the last look (and over what
    its own reactions commit), the way the policy runner follows the log."""
    policy, seen = RoulettePolicy(world.roulette), []
    while events := world.store.take_events():
        seen += topics(events)
        for event in events:
            if type(event).TOPIC in policy.topics:
                await policy.handle(event, 0)
    return seen


async def test_start_offers_the_first_candidate_with_a_short_ring() -> None:
    world, (cal, ann, _bob) = await _roulette_world("ann", "bob")

    roulette, call = await world.roulette.start(cal)

    assert (call.callee_id, call.kind, call.roulette_id) == (ann, "roulette", roulette.id)
    assert call.ring_deadline == world.clock.now() + 10  # the offer's ring, not a call's 30 s
    assert topics(world.store.take_events())[-2:] == [
        "olo.video:Roulette.Started",
        "olo.video:Roulette.Offered",
    ]
    [asked] = world.matching.asked
    assert asked == {"exclude": [], "skipped_since": world.clock.now() - 600}


async def test_a_candidate_gone_unavailable_since_the_read_is_passed_over() -> None:
    world, (cal, ann, bob) = await _roulette_world("ann", "bob")
    world.online.discard(ann)  # the read model still lists her
    await world.blocklist.block(bob, cal)
    sue = await world.streamer("sue")
    await world.calls.set_availability(sue, calls=True, roulette=True)
    world.matching.streamers.append(sue)

    _, call = await world.roulette.start(cal)

    assert call.callee_id == sue


async def test_a_decline_moves_on_to_the_next_streamer_never_one_offered_before() -> None:
    world, (cal, ann, bob) = await _roulette_world("ann", "bob")
    roulette, first = await world.roulette.start(cal)
    await _react(world)

    await world.calls.decline_call(ann, first.id)
    await _react(world)

    session = await _loaded(world, roulette.id, Roulette)
    assert session.offered == [ann, bob] and session.status is RouletteStatus.SEARCHING
    assert world.matching.asked[-1]["exclude"] == [ann]
    offer = await _loaded(world, session.call_id, Call)
    assert offer.callee_id == bob and offer.status is CallStatus.RINGING


async def test_an_offer_not_answered_in_time_is_missed_and_the_next_one_rings() -> None:
    world, (cal, ann, bob) = await _roulette_world("ann", "bob")
    roulette, first = await world.roulette.start(cal)
    await _react(world)

    world.clock.advance(10)
    await world.calls.miss_if_unanswered(first.id)
    seen = await _react(world)

    assert seen[:1] == ["olo.video:Call.Missed"] and "olo.video:Roulette.Offered" in seen
    session = await _loaded(world, roulette.id, Roulette)
    assert session.offered == [ann, bob]


async def test_when_every_candidate_declined_the_roulette_is_exhausted() -> None:
    world, (cal, ann) = await _roulette_world("ann")
    roulette, first = await world.roulette.start(cal)
    await _react(world)

    await world.calls.decline_call(ann, first.id)
    seen = await _react(world)

    assert seen[-1] == "olo.video:Roulette.Exhausted"
    session = await _loaded(world, roulette.id, Roulette)
    assert (session.status, session.reason) == (RouletteStatus.EXHAUSTED, "no_streamer")


async def test_an_answered_offer_matches_the_session() -> None:
    world, (cal, ann, _bob) = await _roulette_world("ann", "bob")
    roulette, first = await world.roulette.start(cal)
    await _react(world)

    await world.calls.accept_call(ann, first.id)
    seen = await _react(world)

    assert seen[-1] == "olo.video:Roulette.Matched"
    assert (await _loaded(world, roulette.id, Roulette)).status is RouletteStatus.MATCHED


async def test_nobody_to_offer_or_no_coins_leaves_no_session() -> None:
    world, (cal,) = await _roulette_world()
    with pytest.raises(NoStreamerAvailableError):
        await world.roulette.start(cal)

    poor, (broke, _ann) = await _roulette_world("ann", coins=5)
    with pytest.raises(InsufficientFundsError):
        await poor.roulette.start(broke)
    assert world.store.take_events() == [] and poor.store.take_events() == []


async def test_cancelling_hangs_up_the_ringing_offer_and_answers_with_it() -> None:
    world, (cal, ann) = await _roulette_world("ann")
    roulette, first = await world.roulette.start(cal)
    await _react(world)

    session, offer = await world.roulette.cancel(cal, roulette.id)

    assert session.status is RouletteStatus.CANCELLED
    assert offer is not None and (offer.id, offer.status) == (first.id, CallStatus.CANCELLED)
    with pytest.raises(UnknownRouletteError):
        await world.roulette.cancel(ann, roulette.id)  # not hers
