"""The Call aggregate: given earlier events, when one command, then events or an error."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domains.billing.aggregate import SEED_CALLER, SEED_STREAMER, CallKind
from domains.video.aggregate import (
    Call,
    CallStateError,
    CallStatus,
    EndReason,
    NotAPartyError,
    Side,
)

T0 = 1_800_000_000.0


def ringing() -> Call:
    return Call(
        kind=CallKind.DIRECT, caller_id=uuid4(), callee_id=uuid4(), at=T0, ring_deadline=T0 + 30
    )


def accepted() -> Call:
    call = ringing()
    call.accept(T0 + 5, 1, SEED_CALLER, SEED_STREAMER, T0 + 25)
    return call


def names(call: Call) -> list[str]:
    return [type(e).__name__ for e in call.collect_events()]


def test_a_call_is_answered_only_while_ringing() -> None:
    call = ringing()
    call.accept(T0 + 29, 1, SEED_CALLER, SEED_STREAMER, T0 + 49)
    assert names(call) == ["Requested", "Accepted"]
    with pytest.raises(CallStateError):
        call.accept(T0 + 30, 1, SEED_CALLER, SEED_STREAMER, T0 + 50)
    late = ringing()
    with pytest.raises(CallStateError):
        late.accept(T0 + 30, 1, SEED_CALLER, SEED_STREAMER, T0 + 50)
    with pytest.raises(CallStateError):
        late.miss(T0 + 29)
    late.miss(T0 + 30)
    assert late.status is CallStatus.MISSED


def test_the_second_join_connects_and_stale_reports_are_ignored() -> None:
    call = accepted()
    call.collect_events()
    call.media_joined(Side.CALLER, T0 + 6, 1)
    call.media_left(Side.STREAMER, T0 + 7, 3)
    call.media_joined(Side.STREAMER, T0 + 8, 2)  # older than the leave: stale
    assert call.status is CallStatus.ACCEPTED
    call.media_joined(Side.STREAMER, T0 + 9, 4)
    assert names(call) == ["MediaJoined", "MediaLeft", "MediaJoined", "Connected"]
    assert call.connected_at == T0 + 9


def test_checkpoints_are_recorded_in_order_once() -> None:
    call = accepted()
    call.record_charge(Side.CALLER, 0, 9, T0 + 5, T0 + 5)
    with pytest.raises(CallStateError):
        call.record_charge(Side.CALLER, 0, 9, T0 + 5, T0 + 5)
    with pytest.raises(CallStateError):
        call.record_charge(Side.CALLER, 2, 60, T0 + 5, T0 + 5)
    assert call.paid[Side.CALLER] == 1 and call.coins[Side.CALLER] == 9


def test_billable_stops_short_of_an_unpaid_checkpoint() -> None:
    call = accepted()
    call.record_charge(Side.CALLER, 0, 9, T0 + 5, T0 + 5)
    assert [c.index for c in call.billable(Side.CALLER, 60, inclusive=True)] == [1, 2]
    assert [c.index for c in call.billable(Side.CALLER, 60, inclusive=False)] == [1]
    assert [c.at_second for c in call.billable(Side.STREAMER, 120, inclusive=True)] == [20, 60, 120]


def test_ending_and_who_may_act() -> None:
    call = accepted()
    with pytest.raises(NotAPartyError):
        call.side_of(uuid4())
    call.end(EndReason.NO_MEDIA, T0 + 25, billed_seconds=0.0, refunded=9)
    assert (call.status, call.end_reason) == (CallStatus.ENDED, EndReason.NO_MEDIA)
    with pytest.raises(CallStateError):
        call.end(EndReason.HANGUP_CALLER, T0 + 26, billed_seconds=0.0)
    assert call.next_due(Side.CALLER) is None
