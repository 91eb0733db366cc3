"""The call meter: one shard of calls' timers, run by the one worker leading the shard.

For every open call of its shard the meter keeps one wake-up time: the ring deadline, the
media deadline, or the next billing checkpoint of either side. At that time it runs the
call's next command (miss, no-media check, bill); the command answers with the call, from
which the next wake-up follows. On start it takes the open calls of its shard from the calls
read model, at a log position read in the same snapshot, and follows the log from there, so
nothing that happened while no meter ran is missed: overdue checkpoints are charged at once,
each exactly once (transfer idempotency keys and the call's own checkpoint count).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

import asyncpg
from eventsourcing.persistence import Mapper

from domains.video.aggregate import Call, CallStatus, Side
from domains.video.projection import CallProjection, shard_of
from domains.video.service import CallService
from eventlog.alarms import Alarms
from eventlog.clock import Clock
from eventlog.projection import Recorded, applied_position, read_topics
from eventlog.reader import LogReader
from eventlog.store import EventStore

log = logging.getLogger(__name__)

# Events written elsewhere that change when a call must next be looked at.
_WATCHED = frozenset(
    {
        Call.Requested.TOPIC,
        Call.Accepted.TOPIC,
        Call.Connected.TOPIC,
        Call.MediaJoined.TOPIC,
        Call.MediaLeft.TOPIC,
        Call.Ended.TOPIC,
        Call.Declined.TOPIC,
        Call.Cancelled.TOPIC,
        Call.Missed.TOPIC,
    }
)


def next_wake(call: Call, media_seconds: float) -> float | None:
    """When the meter must next act on a call (None: never again)."""
    if call.status is CallStatus.RINGING:
        return call.ring_deadline
    if call.status is CallStatus.ACCEPTED:
        return call.media_deadline
    if call.status is not CallStatus.CONNECTED:
        return None
    times = [t for t in (call.next_due(Side.CALLER), call.next_due(Side.STREAMER)) if t]
    times += [t + media_seconds for t in call.absent_since.values() if t is not None]
    return min(times) if times else None


class CallMeter:
    """Timers of one shard of calls."""

    def __init__(
        self,
        shard: int,
        shards: int,
        service: CallService,
        store: EventStore,
        pool: asyncpg.Pool,
        mapper: Mapper[Any],
        clock: Clock,
        *,
        concurrency: int = 256,
    ) -> None:
        self.shard = shard
        self.shards = shards
        self.name = f"video.meter.{shard}"
        self._service = service
        self._store = store
        self._pool = pool
        self._mapper = mapper
        self._clock = clock
        self._alarms: Alarms[UUID] = Alarms(clock, concurrency=concurrency)
        self._wake: dict[UUID, float] = {}  # each call's current wake-up (others are stale)
        self._busy: set[UUID] = set()
        self.position = 0
        self.ticks = 0

    @property
    def calls(self) -> int:
        return len(self._wake)

    async def run(self, wakeup: asyncio.Event, reader: LogReader | None = None) -> None:
        """Until cancelled: load the shard's open calls, then follow the log (on its own, or
        fed by the process's log reader once level with it) and the clock."""
        await self._load_open_calls()
        if reader is None:
            await self._alarms.run(self._due, follow=self._follow_log, wakeup=wakeup)
            return
        with reader.feed(self, _WATCHED) as feed:
            await self._alarms.run(self._due, follow=feed.catch_up, wakeup=feed.ready)

    async def _load_open_calls(self) -> None:
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            self.position = await applied_position(conn, CallProjection.name)
            rows = await conn.fetch(
                "SELECT call_id FROM video_calls "
                "WHERE status IN ('ringing', 'accepted', 'connected')"
            )
        await self._reschedule_all(
            {r["call_id"] for r in rows if shard_of(r["call_id"], self.shards) == self.shard}
        )

    async def _follow_log(self) -> None:
        while await self.run_page() > 0:
            pass

    async def run_page(self) -> int:
        """Read the next call events on its own; how many positions they covered."""
        start = self.position
        last, events = await read_topics(self._pool, self._mapper, start, 20_000, _WATCHED)
        if last > start:
            await self.take_page(last, events)
        return last - start

    async def take_page(self, last: int, events: Sequence[Recorded]) -> None:
        """Set the timers of this shard's calls that the events changed."""
        mine = {
            r.event.originator_id
            for r in events
            if shard_of(r.event.originator_id, self.shards) == self.shard
        }
        await self._reschedule_all(mine)
        self.position = last

    async def _reschedule_all(self, call_ids: set[UUID]) -> None:
        """Load the calls as the log has them now (a few at a time) and set their timers."""
        ids = list(call_ids)
        for start in range(0, len(ids), 64):
            calls = await asyncio.gather(
                *(self._store.load(i, fresh=True) for i in ids[start : start + 64])
            )
            for call in calls:
                if isinstance(call, Call):
                    self._set(call)

    def _set(self, call: Call) -> None:
        wake = next_wake(call, self._service.timings.media_seconds)
        if wake is None:
            self._wake.pop(call.id, None)
            return
        # Pushed even when unchanged: an entry that came due while the call was busy was
        # dropped, so every finished tick leaves one live entry behind.
        self._wake[call.id] = wake
        self._alarms.set(call.id, wake)

    def _due(self, call_id: UUID, wake: float) -> Callable[[], Awaitable[None]] | None:
        if self._wake.get(call_id) != wake or call_id in self._busy:
            return None  # superseded, or its call is being acted on right now
        self._busy.add(call_id)
        return lambda: self._tick(call_id)

    async def _tick(self, call_id: UUID) -> None:
        try:
            call = await self._store.load(call_id)
            if isinstance(call, Call):
                call = await self._act(call)
            self.ticks += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("meter: call %s", call_id)
            call = None
            # Try again a little later rather than lose the call's timer.
            self._wake[call_id] = retry = self._clock.now() + 1.0
            self._alarms.set(call_id, retry)
        finally:
            self._busy.discard(call_id)
        if isinstance(call, Call):
            self._set(call)

    async def _act(self, call: Call) -> Call | None:
        service = self._service
        if call.status is CallStatus.RINGING:
            await service.miss_if_unanswered(call.id)
        elif call.status is CallStatus.ACCEPTED:
            await service.check_media(call.id)
        elif call.status is CallStatus.CONNECTED:
            if any(t is not None for t in call.absent_since.values()):
                await service.check_media(call.id)
            return await service.bill(call.id)
        loaded = await self._store.load(call.id)
        return loaded if isinstance(loaded, Call) else None
