"""Calls: a user calls a streamer; the call rings, is answered, connects when both have
joined the media channel, is billed checkpoint by checkpoint, and ends with a reason.

Every time on a call is seconds since the epoch from the injected clock, carried in the
events themselves, so the meter, settlement and a replay all compute the same charges.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domains.billing.aggregate import CallKind, Checkpoint, Schedule

NAMESPACE = uuid5(NAMESPACE_URL, "https://olo.app/video")


class CallStatus(StrEnum):
    RINGING = "ringing"
    ACCEPTED = "accepted"  # answered; waiting for both to join the media channel
    CONNECTED = "connected"
    DECLINED = "declined"
    MISSED = "missed"
    CANCELLED = "cancelled"
    ENDED = "ended"


OPEN = frozenset({CallStatus.RINGING, CallStatus.ACCEPTED, CallStatus.CONNECTED})


class EndReason(StrEnum):
    HANGUP_CALLER = "hangup_caller"
    HANGUP_CALLEE = "hangup_callee"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    BLOCKED = "blocked"
    NO_MEDIA = "no_media"  # answered, but nobody's media arrived in time: connect charge refunded
    OPERATOR = "operator"
    TIMEOUT = "timeout"  # a party's media was gone for too long


# Reasons for which the server, not a party, ended the call: both are removed from Agora.
SERVER_ENDED = frozenset(
    {EndReason.INSUFFICIENT_FUNDS, EndReason.BLOCKED, EndReason.OPERATOR, EndReason.TIMEOUT}
)


class Side(StrEnum):
    CALLER = "caller"
    STREAMER = "streamer"


class CallError(Exception):
    """A call rule was broken."""


class CallStateError(CallError):
    """The call is not in a state that allows this."""


class NotAPartyError(CallError):
    """The user is neither the caller nor the callee of this call."""


class Call(Aggregate):
    """One call between a caller and a streamer."""

    TOPIC = "olo.video:Call"

    class Created(Aggregate.Created):
        TOPIC = "olo.video:Call.Created"

    class Requested(Created):
        TOPIC = "olo.video:Call.Requested"
        kind: str  # a CallKind's value
        caller_id: UUID
        callee_id: UUID
        at: float
        ring_deadline: float
        roulette_id: UUID | None  # the roulette session this call is an offer of

    @event(Requested)
    def __init__(
        self,
        kind: CallKind,
        caller_id: UUID,
        callee_id: UUID,
        at: float,
        ring_deadline: float,
        roulette_id: UUID | None = None,
    ) -> None:
        self.kind = CallKind(kind)
        self.caller_id = caller_id
        self.callee_id = callee_id
        self.roulette_id = roulette_id
        self.status = CallStatus.RINGING
        self.requested_at = at
        self.ring_deadline = ring_deadline
        self.accepted_at: float | None = None
        self.media_deadline: float | None = None
        self.connected_at: float | None = None
        self.ended_at: float | None = None
        self.end_reason: EndReason | None = None
        self.tariff_version: int | None = None
        self.schedules: dict[Side, Schedule] = {}
        self.paid: dict[Side, int] = {Side.CALLER: 0, Side.STREAMER: 0}  # checkpoints charged
        self.coins: dict[Side, int] = {Side.CALLER: 0, Side.STREAMER: 0}
        self.present: dict[Side, bool] = {Side.CALLER: False, Side.STREAMER: False}
        self.media_seq: dict[Side, int] = {Side.CALLER: -1, Side.STREAMER: -1}
        self.absent_since: dict[Side, float | None] = {Side.CALLER: None, Side.STREAMER: None}
        self.warned = -1  # the caller checkpoint the caller was last warned about
        self.billed_seconds: float | None = None
        self.refunded = 0

    # --- who is who -------------------------------------------------------------------

    def side_of(self, user_id: UUID) -> Side:
        if user_id == self.caller_id:
            return Side.CALLER
        if user_id == self.callee_id:
            return Side.STREAMER
        raise NotAPartyError(f"you are not a party to call {self.id}")

    def peer_of(self, user_id: UUID) -> UUID:
        return self.callee_id if self.side_of(user_id) is Side.CALLER else self.caller_id

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def _require(self, *statuses: CallStatus) -> None:
        if self.status not in statuses:
            raise CallStateError(f"the call is {self.status.value}")

    # --- ringing ------------------------------------------------------------------------

    def accept(
        self,
        at: float,
        tariff_version: int,
        caller: Schedule,
        streamer: Schedule,
        media_deadline: float,
        device_id: UUID | None = None,
    ) -> None:
        """Answered on `device_id` (when the app says which): ringing stops on the others."""
        self._require(CallStatus.RINGING)
        if at >= self.ring_deadline:
            raise CallStateError("the call was not answered in time")
        self._accepted(
            at, tariff_version, caller.as_dict(), streamer.as_dict(), media_deadline, device_id
        )

    class Accepted(Aggregate.Event):
        TOPIC = "olo.video:Call.Accepted"
        at: float
        tariff_version: int
        caller: dict[str, Any]  # the Schedule.as_dict() the call is billed by
        streamer: dict[str, Any]
        media_deadline: float
        # The device it was answered on; absent from events stored before devices were told
        # apart, which read it as None.
        device_id: UUID | None = None

    @event(Accepted)
    def _accepted(
        self,
        at: float,
        tariff_version: int,
        caller: dict[str, Any],
        streamer: dict[str, Any],
        media_deadline: float,
        device_id: UUID | None = None,
    ) -> None:
        self.status = CallStatus.ACCEPTED
        self.accepted_at = at
        self.tariff_version = tariff_version
        self.schedules = {Side.CALLER: Schedule.of(caller), Side.STREAMER: Schedule.of(streamer)}
        self.media_deadline = media_deadline

    def decline(self, at: float, device_id: UUID | None = None) -> None:
        self._require(CallStatus.RINGING)
        self._declined(at, device_id)

    class Declined(Aggregate.Event):
        TOPIC = "olo.video:Call.Declined"
        at: float
        device_id: UUID | None = None  # as on Accepted

    @event(Declined)
    def _declined(self, at: float, device_id: UUID | None = None) -> None:
        self.status = CallStatus.DECLINED
        self.ended_at = at

    def miss(self, at: float) -> None:
        self._require(CallStatus.RINGING)
        if at < self.ring_deadline:
            raise CallStateError("the call is still ringing")
        self._missed(at)

    class Missed(Aggregate.Event):
        TOPIC = "olo.video:Call.Missed"
        at: float

    @event(Missed)
    def _missed(self, at: float) -> None:
        self.status = CallStatus.MISSED
        self.ended_at = at

    def cancel(self, at: float) -> None:
        self._require(CallStatus.RINGING)
        self._cancelled(at)

    class Cancelled(Aggregate.Event):
        TOPIC = "olo.video:Call.Cancelled"
        at: float

    @event(Cancelled)
    def _cancelled(self, at: float) -> None:
        self.status = CallStatus.CANCELLED
        self.ended_at = at

    # --- media --------------------------------------------------------------------------

    def media_joined(self, side: Side, at: float, seq: int | None = None) -> None:
        """A party joined the channel; the second join connects an accepted call.

        Reports carry a per-party sequence (Agora's clientSeq); an older one than the last
        applied is stale and ignored, so reordered webhooks cannot undo a later leave."""
        seq = self.media_seq[side] + 1 if seq is None else seq
        if seq <= self.media_seq[side] or not self.is_open:
            return
        self._joined(Side(side), at, seq)
        if self.status is CallStatus.ACCEPTED and all(self.present.values()):
            self._connected(at)

    class MediaJoined(Aggregate.Event):
        TOPIC = "olo.video:Call.MediaJoined"
        side: str  # a Side's value
        at: float
        seq: int

    @event(MediaJoined)
    def _joined(self, side: Side, at: float, seq: int) -> None:
        self.present[Side(side)] = True
        self.media_seq[Side(side)] = seq
        self.absent_since[Side(side)] = None

    def media_left(self, side: Side, at: float, seq: int | None = None) -> None:
        seq = self.media_seq[side] + 1 if seq is None else seq
        if seq <= self.media_seq[side] or not self.is_open:
            return
        self._left(Side(side), at, seq)

    class MediaLeft(Aggregate.Event):
        TOPIC = "olo.video:Call.MediaLeft"
        side: str
        at: float
        seq: int

    @event(MediaLeft)
    def _left(self, side: Side, at: float, seq: int) -> None:
        self.present[Side(side)] = False
        self.media_seq[Side(side)] = seq
        self.absent_since[Side(side)] = at

    class Connected(Aggregate.Event):
        TOPIC = "olo.video:Call.Connected"
        at: float

    @event(Connected)
    def _connected(self, at: float) -> None:
        self.status = CallStatus.CONNECTED
        self.connected_at = at

    # --- money --------------------------------------------------------------------------

    def checkpoint(self, side: Side, index: int) -> Checkpoint:
        return self.schedules[side].checkpoint(index)

    def due_at(self, side: Side, index: int) -> float | None:
        """When the index-th checkpoint of a side is due (None before the call connects;
        the caller's first one is due on answering)."""
        at_second = self.checkpoint(side, index).at_second
        if self.connected_at is not None:
            return self.connected_at + at_second
        if side is Side.CALLER and at_second == 0 and self.accepted_at is not None:
            return self.accepted_at
        return None

    def next_due(self, side: Side) -> float | None:
        if self.status is CallStatus.ENDED or not self.schedules:
            return None
        return self.due_at(side, self.paid[side])

    def paid_until(self) -> float | None:
        """Until when the caller has paid: the next caller checkpoint's time."""
        return self.next_due(Side.CALLER)

    def record_charge(self, side: Side, index: int, coins: int, due_at: float, at: float) -> None:
        if index != self.paid[side]:
            raise CallStateError(f"{side.value} checkpoint {index} is not the next one")
        self._charged(Side(side), index, coins, due_at, at)

    class Charged(Aggregate.Event):
        TOPIC = "olo.video:Call.Charged"
        side: str
        index: int  # the side's checkpoint
        coins: int
        due_at: float
        at: float

    @event(Charged)
    def _charged(self, side: Side, index: int, coins: int, due_at: float, at: float) -> None:
        self.paid[Side(side)] = index + 1
        self.coins[Side(side)] += coins

    def warn_ending_soon(self, index: int, at: float) -> None:
        if index > self.warned:
            self._warned(index, at)

    class EndingSoon(Aggregate.Event):
        TOPIC = "olo.video:Call.EndingSoon"
        index: int  # the caller checkpoint the wallet does not cover
        at: float

    @event(EndingSoon)
    def _warned(self, index: int, at: float) -> None:
        self.warned = index

    # --- the end ------------------------------------------------------------------------

    def billable(self, side: Side, seconds: float, *, inclusive: bool) -> list[Checkpoint]:
        """Checkpoints of a side owed for `seconds` connected and not yet charged."""
        owed = self.schedules[side].due(seconds)
        if not inclusive:
            owed = [c for c in owed if c.at_second < seconds]
        return owed[self.paid[side] :]

    def end(
        self, reason: EndReason, at: float, *, billed_seconds: float, refunded: int = 0
    ) -> None:
        self._require(CallStatus.ACCEPTED, CallStatus.CONNECTED)
        self._ended(EndReason(reason), at, billed_seconds, refunded)

    class Ended(Aggregate.Event):
        TOPIC = "olo.video:Call.Ended"
        reason: str  # an EndReason's value
        at: float
        billed_seconds: float
        refunded: int

    @event(Ended)
    def _ended(self, reason: EndReason, at: float, billed_seconds: float, refunded: int) -> None:
        self.status = CallStatus.ENDED
        self.end_reason = EndReason(reason)
        self.ended_at = at
        self.billed_seconds = billed_seconds
        self.refunded = refunded
        if refunded:
            self.coins[Side.CALLER] -= refunded
