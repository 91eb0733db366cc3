"""Roulette: a caller asks for any available streamer; streamers are offered one at a time,
each with a short ring, until one answers, none is left, or the caller cancels.

An offer is a roulette-kind call (so the roulette tariff applies when it is answered). The
session records its current call; whatever reacts to that call's outcome (the policy, or the
offer itself finding its call already answered or declined) acts only while that call is
still the current one, so a replay, a retry or two reactions racing move the session once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from domains.balance.aggregate import InsufficientFundsError
from domains.billing.aggregate import CallKind
from domains.blocklist.review import ensure_not_suspended
from domains.video.aggregate import Call, CallError, CallStatus
from domains.video.lines import Line, line_id_of
from domains.video.ringing import CallerBusyError
from domains.video.service import CallService
from eventlog.store import Transaction


class RouletteStatus(StrEnum):
    SEARCHING = "searching"
    MATCHED = "matched"
    CANCELLED = "cancelled"
    EXHAUSTED = "exhausted"


class ExhaustReason(StrEnum):
    NO_STREAMER = "no_streamer"  # every candidate was offered, declined or is gone
    INSUFFICIENT_FUNDS = "insufficient_funds"
    CALLER_BUSY = "caller_busy"  # the caller took another call meanwhile


class RouletteError(Exception):
    """A roulette rule was broken."""


class RouletteStateError(RouletteError):
    """The roulette is not in a state that allows this."""


class UnknownRouletteError(RouletteError):
    """No such roulette, or not yours."""


class NoStreamerAvailableError(RouletteError):
    """No streamer can be offered to this caller now."""


class Roulette(Aggregate):
    """One search session of one caller, with the streamers offered so far."""

    TOPIC = "olo.video:Roulette"

    class Created(Aggregate.Created):
        TOPIC = "olo.video:Roulette.Created"

    # The id is chosen before the first offer's call is rung (the call carries it), and the
    # session exists only once that call does: a start that offers nobody leaves no trace.
    class Started(Created):
        TOPIC = "olo.video:Roulette.Started"
        session_id: UUID
        caller_id: UUID
        at: float

    @event(Started)
    def __init__(self, session_id: UUID, caller_id: UUID, at: float) -> None:
        self.caller_id = caller_id
        self.status = RouletteStatus.SEARCHING
        self.offered: list[UUID] = []  # streamers, in offer order
        self.call_id: UUID | None = None  # the current offer (or the answered call)
        self.started_at = at
        self.ended_at: float | None = None
        self.reason: ExhaustReason | None = None

    @staticmethod
    def create_id(session_id: UUID) -> UUID:
        return session_id

    def is_current(self, call_id: UUID | None) -> bool:
        """Whether the session is searching and `call_id` is its offer now."""
        return self.status is RouletteStatus.SEARCHING and self.call_id == call_id

    def _require_current(self, call_id: UUID | None) -> None:
        if not self.is_current(call_id):
            raise RouletteStateError(f"the roulette is {self.status.value}, offer {self.call_id}")

    def offer(self, streamer_id: UUID, call_id: UUID, at: float, *, after: UUID | None) -> None:
        """Offer a streamer, replacing the offer `after` (None: the first offer)."""
        self._require_current(after)
        if streamer_id in self.offered:
            raise RouletteStateError("this streamer was already offered")
        self._offered(self.caller_id, streamer_id, call_id, at)

    class Offered(Aggregate.Event):
        TOPIC = "olo.video:Roulette.Offered"
        caller_id: UUID
        streamer_id: UUID
        call_id: UUID
        at: float

    @event(Offered)
    def _offered(self, caller_id: UUID, streamer_id: UUID, call_id: UUID, at: float) -> None:
        self.offered.append(streamer_id)
        self.call_id = call_id

    def match(self, call_id: UUID, at: float) -> None:
        self._require_current(call_id)
        self._matched(self.caller_id, call_id, at)

    class Matched(Aggregate.Event):
        TOPIC = "olo.video:Roulette.Matched"
        caller_id: UUID
        call_id: UUID
        at: float

    @event(Matched)
    def _matched(self, caller_id: UUID, call_id: UUID, at: float) -> None:
        self.status = RouletteStatus.MATCHED
        self.ended_at = at

    def exhaust(self, after: UUID | None, reason: ExhaustReason, at: float) -> None:
        self._require_current(after)
        self._exhausted(self.caller_id, ExhaustReason(reason).value, at)

    class Exhausted(Aggregate.Event):
        TOPIC = "olo.video:Roulette.Exhausted"
        caller_id: UUID
        reason: str  # an ExhaustReason's value
        at: float

    @event(Exhausted)
    def _exhausted(self, caller_id: UUID, reason: str, at: float) -> None:
        self.status = RouletteStatus.EXHAUSTED
        self.reason = ExhaustReason(reason)
        self.ended_at = at

    def cancel(self, at: float) -> bool:
        """Stop searching; False if it was already cancelled (nothing is emitted)."""
        if self.status is RouletteStatus.CANCELLED:
            return False
        self._require_current(self.call_id)
        self._cancelled(self.caller_id, at)
        return True

    class Cancelled(Aggregate.Event):
        TOPIC = "olo.video:Roulette.Cancelled"
        caller_id: UUID
        at: float

    @event(Cancelled)
    def _cancelled(self, caller_id: UUID, at: float) -> None:
        self.status = RouletteStatus.CANCELLED
        self.ended_at = at


class Candidates(Protocol):
    async def candidates(
        self, caller_id: UUID, *, exclude: Sequence[UUID], skipped_since: float, limit: int
    ) -> list[UUID]:
        """Streamers who may be offered to the caller now, in random order."""
        ...


@dataclass(frozen=True)
class RouletteTimings:
    offer_seconds: float = 10.0  # each offer rings this long
    skip_minutes: float = 10.0  # a streamer offered and not connected is skipped this long
    candidates: int = 20  # streamers read per offer (the rest are for the next read)


class RouletteService:
    """Start, follow and cancel roulette sessions."""

    def __init__(self, calls: CallService, matching: Candidates, timings: RouletteTimings) -> None:
        self.calls = calls
        self.store = calls.store
        self.clock = calls.clock
        self.matching = matching
        self.timings = timings

    async def start(self, caller_id: UUID) -> tuple[Roulette, Call]:
        """Offer a random available streamer. Raises NoStreamerAvailable, InsufficientFunds,
        CallerBusy, Suspended."""
        await ensure_not_suspended(self.store, caller_id)
        session_id = uuid4()
        found = await self._ring_someone(session_id, caller_id, exclude=())
        if found is None:
            raise NoStreamerAvailableError("no streamer is available now")
        roulette = await self._record(session_id, caller_id, None, found)
        if roulette is None:  # cannot happen to a new id; keep the caller's line free anyway
            await self._hang_up(found)
            raise NoStreamerAvailableError("no streamer is available now")
        await self.follow_call(session_id, found.id)
        return roulette, found

    async def follow_call(self, session_id: UUID, call_id: UUID) -> None:
        """Move the session on from its offer `call_id` as that call now stands."""
        call = await self.store.load(call_id, fresh=True)
        if not isinstance(call, Call):
            return
        if call.status in (CallStatus.DECLINED, CallStatus.MISSED):
            await self._offer_next(session_id, call_id)
        elif call.status is CallStatus.CANCELLED:
            await self._conditionally(session_id, call_id, lambda r, at: r.cancel(at))
        elif call.status is not CallStatus.RINGING:
            await self._conditionally(session_id, call_id, lambda r, at: r.match(call_id, at))

    async def cancel(self, user_id: UUID, session_id: UUID) -> tuple[Roulette, Call | None]:
        """The caller stops searching; an offer still open is hung up. The session, with
        its offer as it stands now."""

        async def command(tx: Transaction) -> Roulette:
            roulette = await _session(tx, session_id)
            if roulette is None or roulette.caller_id != user_id:
                raise UnknownRouletteError(f"no roulette {session_id}")
            roulette.cancel(self.clock.now())
            return roulette

        roulette = await self.store.transact(command)
        if roulette.call_id is not None:
            call = await self.store.load(roulette.call_id, fresh=True)
            if isinstance(call, Call) and call.is_open:
                await self._hang_up(call)
            call = await self.store.load(roulette.call_id, fresh=True)
            return roulette, call if isinstance(call, Call) else None
        return roulette, None

    async def _offer_next(self, session_id: UUID, after: UUID) -> None:
        roulette = await self.store.load(session_id, fresh=True)
        if not isinstance(roulette, Roulette) or not roulette.is_current(after):
            return
        caller = roulette.caller_id
        reason = ExhaustReason.NO_STREAMER
        try:
            found = await self._ring_someone(session_id, caller, exclude=roulette.offered)
        except InsufficientFundsError:
            found, reason = None, ExhaustReason.INSUFFICIENT_FUNDS
        except CallerBusyError:
            found, reason = await self._orphan_offer(session_id, caller), ExhaustReason.CALLER_BUSY
        if found is None:
            await self._exhaust(session_id, after, reason)
        elif await self._record(session_id, caller, after, found) is None:
            await self._hang_up(found)
        else:
            await self.follow_call(session_id, found.id)

    async def _ring_someone(
        self, session_id: UUID, caller_id: UUID, *, exclude: Sequence[UUID]
    ) -> Call | None:
        """Ring the first candidate who can take the call (others may have gone busy,
        offline or blocked since the read model said otherwise)."""
        since = self.clock.now() - self.timings.skip_minutes * 60
        streamers = await self.matching.candidates(
            caller_id, exclude=exclude, skipped_since=since, limit=self.timings.candidates
        )
        for streamer_id in streamers:
            try:
                return await self.calls.request_call(
                    caller_id,
                    streamer_id,
                    kind=CallKind.ROULETTE,
                    roulette_id=session_id,
                    ring_seconds=self.timings.offer_seconds,
                )
            except (InsufficientFundsError, CallerBusyError):
                raise  # the caller's own state: no other streamer would do better
            except CallError:
                continue
        return None

    async def _orphan_offer(self, session_id: UUID, caller_id: UUID) -> Call | None:
        """A call of this session rung but never recorded (the process stopped between the
        two): it is what keeps the caller busy, so it becomes the offer."""
        line = await self.store.load(line_id_of(caller_id), fresh=True)
        if not isinstance(line, Line) or line.call_id is None:
            return None
        call = await self.store.load(line.call_id, fresh=True)
        if isinstance(call, Call) and call.roulette_id == session_id and call.is_open:
            return call
        return None

    async def _record(
        self, session_id: UUID, caller_id: UUID, after: UUID | None, call: Call
    ) -> Roulette | None:
        """Record `call` as the offer replacing `after`; None if the session moved on."""

        async def command(tx: Transaction) -> Roulette | None:
            roulette = await _session(tx, session_id)
            now = self.clock.now()
            if roulette is None and after is None:
                roulette = Roulette(session_id=session_id, caller_id=caller_id, at=now)
                tx.add(roulette)
            if roulette is not None and roulette.call_id == call.id:
                return roulette  # another reaction recorded this very call already
            if roulette is None or not roulette.is_current(after):
                return None
            if call.callee_id in roulette.offered:
                return None
            roulette.offer(call.callee_id, call.id, now, after=after)
            return roulette

        return await self.store.transact(command)

    async def _exhaust(self, session_id: UUID, after: UUID, reason: ExhaustReason) -> None:
        await self._conditionally(session_id, after, lambda r, at: r.exhaust(after, reason, at))

    async def _conditionally(self, session_id: UUID, call_id: UUID, change: Any) -> None:
        """Apply `change(roulette, now)` only while `call_id` is the session's offer."""

        async def command(tx: Transaction) -> None:
            roulette = await _session(tx, session_id)
            if roulette is not None and roulette.is_current(call_id):
                change(roulette, self.clock.now())

        await self.store.transact(command)

    async def _hang_up(self, call: Call) -> None:
        try:
            await self.calls.hang_up(call.caller_id, call.id)
        except CallError:
            pass  # answered, declined or missed meanwhile: it is closed or the caller's now


async def _session(tx: Transaction, session_id: UUID) -> Roulette | None:
    try:
        return await tx.get(session_id, Roulette)
    except TypeError:  # the id of something else
        return None


class RoulettePolicy:
    """A roulette offer was answered, declined, missed or cancelled: the session is matched,
    offers the next streamer, or stops."""

    name = "video.roulette"
    # Event classes made by @event at run time, which mypy cannot see.
    topics = frozenset(
        {
            Call.Accepted.TOPIC,
            Call.Declined.TOPIC,
            Call.Missed.TOPIC,
            Call.Cancelled.TOPIC,
        }
    )

    def __init__(self, roulette: RouletteService) -> None:
        self.roulette = roulette

    async def handle(self, event: Any, position: int) -> None:
        call = await self.roulette.store.load(event.originator_id)
        if isinstance(call, Call) and call.roulette_id is not None:
            await self.roulette.follow_call(call.roulette_id, call.id)
