"""The dispatcher: pushes what the in-app path did not deliver. Each shard of notifications
runs in one worker at a time (leadership; the shards are shared out among the workers),
follows the log for new notifications, and at each one's moment (at once if the recipient
has no live connection or the kind is push-only, else at its ACK deadline) claims it
(`PushStarted`) and pushes it to every device of the recipient, unless it was acknowledged
or withdrawn by then.

After a restart it takes the waiting notifications from the read model, at a log position
read in the same snapshot, and follows the log from there: nothing is lost. A push claimed but
not recorded when the worker died is in doubt: it is sent again once, with the same OneSignal
idempotency key (OneSignal sends it once) and the same notification id and collapse key in
FCM's message (the app shows it once).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

import asyncpg
from eventsourcing.application import project_aggregate
from eventsourcing.persistence import Mapper

from domains.notification.aggregate import Notification, NotificationKind
from domains.notification.devices import DeviceReads
from domains.notification.projection import NotificationProjection
from domains.notification.push import Push
from domains.notification.router import PushRouter
from domains.notification.service import NotificationService
from domains.profile.projection import ProfileProjection
from domains.profile.queries import ProfileQueries
from domains.profile.service import ProfileService
from eventlog.alarms import Alarms
from eventlog.clock import Clock
from eventlog.projection import Recorded, Watermark, applied_position, read_topics
from eventlog.reader import LogReader

log = logging.getLogger(__name__)

_WATCHED = frozenset({Notification.Requested.TOPIC})
RETRY = 5.0  # seconds before a push that failed on our side (not the provider's) is retried
PAGE = 1000  # Requested events read from the log at a time
YIELD_EVERY = 200  # rows handled between two chances for other tasks to run
DEVICES_WAIT = 5.0  # seconds a push waits for the devices read model to catch up


def push_of(notification: Notification) -> Push:
    """The push for a notification; its payload's keys in the push data's snake_case (FCM
    data values are strings)."""
    payload = {_snake(k): str(v) for k, v in notification.payload.items()}
    call_id = payload.pop("call_id", "")
    push = _push_of(notification.kind, call_id, payload)
    data = {**push.data, "notification_id": str(notification.id)}
    # the collapse key lets a device show a push sent again after a crash once
    collapse_key = push.collapse_key or str(notification.id)
    return replace(push, data=data, id=str(notification.id), collapse_key=collapse_key)


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _push_of(kind: NotificationKind, call_id: str, payload: dict[str, str]) -> Push:
    if kind is NotificationKind.INCOMING_CALL:
        return Push.incoming_call(call_id, "Incoming call", "Someone is calling you", **payload)
    if kind is NotificationKind.RINGING_ENDED:
        return Push.call_ended(call_id, payload.get("reason", "ended"))
    titles = {
        NotificationKind.MISSED_CALL: ("Missed call", "You missed a call"),
        NotificationKind.CALL_ENDED: ("Call ended", "Your call was ended"),
        NotificationKind.LOW_BALANCE: ("Low balance", "Top up to keep calling"),
        NotificationKind.GIFT_RECEIVED: ("New gift", "Someone sent you a gift"),
        NotificationKind.NEW_MESSAGE: ("New message", "You have a new message"),
    }
    title, body = titles.get(kind, ("olo", ""))
    collapse_key = call_id or payload.get("chat_id") or None  # a chat's pushes replace each other
    return Push.alert(title, body, collapse_key=collapse_key, **payload)


class Dispatcher:
    """The pushes of one shard of notifications (a notification's shard is its id modulo
    the shard count), so several workers can share the pushing."""

    def __init__(
        self,
        service: NotificationService,
        router: PushRouter,
        profiles: ProfileService,
        devices: ProfileQueries,
        online: Callable[[list[UUID]], Awaitable[set[UUID]]],
        pool: asyncpg.Pool,
        mapper: Mapper[Any],
        clock: Clock,
        *,
        shard: int = 0,
        shards: int = 1,
        concurrency: int = 200,
    ) -> None:
        self.shard, self.shards = shard, shards
        self.name = f"notification.dispatcher.{shard}"
        self._service = service
        self._router = router
        self._profiles = profiles
        self._devices = DeviceReads(devices.devices_of)
        self._online = online
        self._pool = pool
        self._mapper = mapper
        self._clock = clock
        # Handing a shard to another worker waits for its pushes under way: none in doubt.
        drain = router.deadline_seconds + 1.0
        self._alarms: Alarms[UUID] = Alarms(clock, concurrency=concurrency, drain_seconds=drain)
        self._in_flight: set[UUID] = set()  # being pushed by this process right now
        self._positions: dict[UUID, int] = {}  # where each waiting one was asked for
        self._devices_known = Watermark(pool, ProfileProjection.name)
        self.position = 0
        self.pushed = 0

    async def run(self, wakeup: asyncio.Event, reader: LogReader | None = None) -> None:
        """Until cancelled: the waiting notifications, then the log (on its own, or fed by
        the process's log reader once level with it) and the clock."""
        await self._load_waiting()
        if reader is None:
            await self._alarms.run(self._due, follow=self._follow_log, wakeup=wakeup)
            return
        with reader.feed(self, _WATCHED) as feed:
            await self._alarms.run(self._due, follow=feed.catch_up, wakeup=feed.ready)

    def _due(self, notification_id: UUID, _: float) -> Callable[[], Awaitable[None]] | None:
        if notification_id in self._in_flight:
            return None  # a second alarm for a push under way
        self._in_flight.add(notification_id)
        return lambda: self._dispatch(notification_id)

    async def _load_waiting(self) -> None:
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            self.position = await applied_position(conn, NotificationProjection.name)
            rows = await conn.fetch(
                "SELECT notification_id, recipient_id, ack_deadline, status "
                "FROM notification_items WHERE status IN ('requested', 'delivered', 'pushing')"
            )
        waiting = []
        for i, row in enumerate(rows):
            if i % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            if not self._mine(row["notification_id"]):
                continue
            self._positions[row["notification_id"]] = self.position
            if row["status"] == "pushing":  # claimed by a dispatcher that died: in doubt
                self._alarms.set(row["notification_id"], self._clock.now())
            else:
                waiting.append((row["notification_id"], row["recipient_id"], row["ack_deadline"]))
        await self._schedule(waiting)

    async def _follow_log(self) -> None:
        while await self.run_page() > 0:
            pass

    async def run_page(self) -> int:
        """Read the next notifications on its own; how many positions they covered."""
        start = self.position
        last, events = await read_topics(self._pool, self._mapper, start, PAGE, _WATCHED)
        if last > start:
            await self.take_page(last, events)
        return last - start

    async def take_page(self, last: int, events: Sequence[Recorded]) -> None:
        """Schedule this shard's new notifications."""
        waiting = []
        for i, recorded in enumerate(events):
            if i % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # pushes in flight keep being answered meanwhile
            e = recorded.event
            if not self._mine(e.originator_id):
                continue
            self._positions[e.originator_id] = recorded.position
            waiting.append((e.originator_id, e.recipient_id, e.ack_deadline))
            # the claim starts from this copy instead of reading the log again
            notification = project_aggregate(None, [e])
            assert notification is not None
            self._service.store.remember(notification)
        await self._schedule(waiting)
        self.position = last

    def _mine(self, notification_id: UUID) -> bool:
        return notification_id.int % self.shards == self.shard

    async def _schedule(self, waiting: list[tuple[UUID, UUID, float]]) -> None:
        """Set each notification's alarm: at its ACK deadline if its recipient is online
        (in-app first), else now (nobody to show it in-app). One presence query a page."""
        now = self._clock.now()
        later = [recipient for _, recipient, deadline in waiting if deadline > now]
        online = await self._online(later) if later else set()
        for notification_id, recipient, deadline in waiting:
            in_app = deadline > now and recipient in online
            self._alarms.set(notification_id, deadline if in_app else now)

    async def _dispatch(self, notification_id: UUID) -> None:
        retry = False
        try:
            await self._push(notification_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("dispatcher: notification %s (again in %s s)", notification_id, RETRY)
            self._alarms.set(notification_id, self._clock.now() + RETRY)
            retry = True
        finally:
            self._in_flight.discard(notification_id)
            if not retry:
                self._positions.pop(notification_id, None)

    async def _push(self, notification_id: UUID) -> None:
        # This process is not pushing it (`_in_flight`): a claim already made is a dead
        # dispatcher's, whatever the read model shows yet
        notification = await self._service.begin_push(notification_id)
        if notification is None:
            return  # acknowledged, withdrawn or already pushed
        # A device registered just before the notification was asked for must be in the
        # devices read model when it is read.
        position = self._positions.get(notification_id, 0)
        if not await self._devices_known.reached(position, within=DEVICES_WAIT):
            log.warning("dispatcher: devices read model behind position %s", position)
        push = push_of(notification)
        devices = [
            d
            for d in await self._devices.devices(notification.recipient_id)
            if d.device_id != notification.skip_device_id
        ]
        results = await asyncio.gather(*(self._router.send(d, push) for d in devices))
        for device, result in zip(devices, results, strict=True):
            if result.prune:
                await self._profiles.prune_device(device.device_id)
        await self._service.record_push(
            notification_id,
            [
                (d.device_id, r.provider, r.status.value, r.response)
                for d, r in zip(devices, results, strict=True)
            ],
            sent=any(r.ok for r in results),
        )
        self.pushed += 1
