"""Roulette: given earlier offers, when one command, then the events or the error."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domains.video.roulette import (
    ExhaustReason,
    Roulette,
    RouletteStateError,
    RouletteStatus,
)
from eventlog.application import EventLog

SESSION = UUID("00000000-0000-0000-0000-00000000005e")
CALLER = UUID("00000000-0000-0000-0000-0000000000c0")
ANN = UUID("00000000-0000-0000-0000-0000000000a1")
BOB = UUID("00000000-0000-0000-0000-0000000000b0")
CALL_1 = UUID("00000000-0000-0000-0000-000000000001")
CALL_2 = UUID("00000000-0000-0000-0000-000000000002")


def emitted(aggregate: Any) -> list[Any]:
    return list(aggregate.collect_events())


def topics(events: list[Any]) -> list[str]:
    return [type(e).TOPIC for e in events]


def offered_ann() -> Roulette:
    """Given: the session started and Ann's call (CALL_1) is ringing, events already saved."""
    roulette = Roulette(session_id=SESSION, caller_id=CALLER, at=100.0)
    roulette.offer(ANN, CALL_1, 100.0, after=None)
    roulette.collect_events()
    return roulette


def test_starting_with_a_first_offer_emits_started_then_offered() -> None:
    roulette = Roulette(session_id=SESSION, caller_id=CALLER, at=100.0)
    roulette.offer(ANN, CALL_1, 100.0, after=None)

    events = emitted(roulette)
    assert topics(events) == ["olo.video:Roulette.Started", "olo.video:Roulette.Offered"]
    assert roulette.id == SESSION  # the id the first call was rung with
    offered = events[1]
    assert (offered.caller_id, offered.streamer_id, offered.call_id) == (CALLER, ANN, CALL_1)
    assert roulette.status is RouletteStatus.SEARCHING
    assert roulette.is_current(CALL_1)


def test_the_next_offer_replaces_the_current_one() -> None:
    roulette = offered_ann()

    roulette.offer(BOB, CALL_2, 111.0, after=CALL_1)

    [e] = emitted(roulette)
    assert type(e).TOPIC == "olo.video:Roulette.Offered"
    assert roulette.offered == [ANN, BOB]
    assert roulette.is_current(CALL_2) and not roulette.is_current(CALL_1)


def test_a_second_reaction_to_the_same_decline_is_refused_without_an_event() -> None:
    roulette = offered_ann()
    roulette.offer(BOB, CALL_2, 111.0, after=CALL_1)
    roulette.collect_events()

    with pytest.raises(RouletteStateError):
        roulette.offer(UUID(int=7), UUID(int=8), 112.0, after=CALL_1)
    assert emitted(roulette) == []
    assert roulette.offered == [ANN, BOB]


def test_a_streamer_is_never_offered_twice_in_one_session() -> None:
    roulette = offered_ann()

    with pytest.raises(RouletteStateError):
        roulette.offer(ANN, CALL_2, 111.0, after=CALL_1)
    assert emitted(roulette) == []


def test_the_answered_offer_matches_the_session() -> None:
    roulette = offered_ann()

    roulette.match(CALL_1, 105.0)

    [e] = emitted(roulette)
    assert type(e).TOPIC == "olo.video:Roulette.Matched"
    assert (e.caller_id, e.call_id) == (CALLER, CALL_1)
    assert roulette.status is RouletteStatus.MATCHED
    assert not roulette.is_current(CALL_1)  # nothing reacts to this call any more


def test_a_call_that_is_not_the_current_offer_cannot_match() -> None:
    roulette = offered_ann()

    with pytest.raises(RouletteStateError):
        roulette.match(CALL_2, 105.0)
    assert emitted(roulette) == []


def test_exhaustion_says_why_and_ends_the_search() -> None:
    roulette = offered_ann()

    roulette.exhaust(CALL_1, ExhaustReason.NO_STREAMER, 111.0)

    [e] = emitted(roulette)
    assert type(e).TOPIC == "olo.video:Roulette.Exhausted"
    assert (e.caller_id, e.reason) == (CALLER, "no_streamer")
    assert roulette.status is RouletteStatus.EXHAUSTED
    with pytest.raises(RouletteStateError):
        roulette.offer(BOB, CALL_2, 112.0, after=CALL_1)


def test_cancelling_stops_the_search_once() -> None:
    roulette = offered_ann()

    assert roulette.cancel(103.0) is True
    assert roulette.cancel(104.0) is False

    assert topics(emitted(roulette)) == ["olo.video:Roulette.Cancelled"]
    assert roulette.status is RouletteStatus.CANCELLED
    assert roulette.call_id == CALL_1  # the offer the service still has to hang up
    with pytest.raises(RouletteStateError):
        roulette.match(CALL_1, 105.0)


def test_a_matched_roulette_cannot_be_cancelled() -> None:
    roulette = offered_ann()
    roulette.match(CALL_1, 105.0)
    roulette.collect_events()

    with pytest.raises(RouletteStateError):
        roulette.cancel(106.0)
    assert emitted(roulette) == []


def test_the_session_survives_the_stored_events() -> None:
    log = EventLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    roulette = Roulette(session_id=SESSION, caller_id=CALLER, at=100.0)
    roulette.offer(ANN, CALL_1, 100.0, after=None)
    roulette.offer(BOB, CALL_2, 111.0, after=CALL_1)
    roulette.exhaust(CALL_2, ExhaustReason.INSUFFICIENT_FUNDS, 122.0)

    log.save(roulette)

    copy: object = log.repository.get(SESSION)
    assert isinstance(copy, Roulette)
    assert copy.offered == [ANN, BOB]
    assert (copy.status, copy.reason) == (RouletteStatus.EXHAUSTED, "insufficient_funds")
    assert (copy.call_id, copy.ended_at) == (CALL_2, 122.0)
