"""The stream hub: ONE LISTEN connection per process, fanned out in memory to subscribers."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg

from eventlog.database import connect

log = logging.getLogger(__name__)

PAYLOAD_LIMIT = 7900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes and more


@dataclass(frozen=True)
class Change:
    """One changed read-model row, as a projection announced it."""

    channel: str
    key: str
    position: int
    data: Any


RESYNC = Change("", "", -1, None)  # the listener reconnected: changes may have been missed


def change_payloads(position: int, items: Iterable[tuple[str, Any]]) -> list[str]:
    """Encode a page's changes as NOTIFY payloads that fit PostgreSQL's limit."""
    payloads: list[str] = []
    chunk: list[str] = []
    size = 0
    for key, data in items:
        item = json.dumps([key, data], separators=(",", ":"))
        if chunk and size + len(item) + 40 > PAYLOAD_LIMIT:
            payloads.append(f'{{"p":{position},"i":[{",".join(chunk)}]}}')
            chunk, size = [], 0
        chunk.append(item)
        size += len(item) + 1
    if chunk:
        payloads.append(f'{{"p":{position},"i":[{",".join(chunk)}]}}')
    return payloads


class Subscription:
    """What one subscriber receives: changes for its keys, or RESYNC."""

    def __init__(self, hub: StreamHub, channel: str, key: str) -> None:
        self.hub = hub
        self.channel = channel
        self.key = key
        self.queue: asyncio.Queue[Change] = asyncio.Queue()

    def close(self) -> None:
        self.hub._unsubscribe(self)

    async def __aiter__(self) -> AsyncIterator[Change]:
        while True:
            yield await self.queue.get()


class StreamHub:
    """LISTENs on one connection; each NOTIFY is parsed once and dispatched by key."""

    def __init__(self, database_url: str, *, reconnect_seconds: float = 0.5) -> None:
        self._database_url = database_url
        self._reconnect_seconds = reconnect_seconds
        self._subscribers: dict[tuple[str, str], set[Subscription]] = defaultdict(set)
        self._wakeups: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._channels: set[str] = set()
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self.delivered = 0

    @property
    def ready(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def start(self, channels: Iterable[str]) -> None:
        self._channels.update(channels)
        self._task = asyncio.create_task(self._keep_listening(), name="stream-hub")
        await asyncio.wait_for(self._connected.wait(), timeout=30)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()

    def subscribe(self, channel: str, key: str) -> Subscription:
        subscription = Subscription(self, channel, key)
        self._subscribers[(channel, key)].add(subscription)
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get((subscription.channel, subscription.key))
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[(subscription.channel, subscription.key)]

    def wakeup(self, channel: str) -> asyncio.Event:
        """An event set on every NOTIFY on `channel` (for followers of the log)."""
        event = asyncio.Event()
        self._wakeups[channel].add(event)
        return event

    async def _keep_listening(self) -> None:
        first = True
        while True:
            try:
                self._conn = await connect(self._database_url)
                for channel in self._channels:
                    await self._conn.add_listener(channel, self._on_notify)
                self._connected.set()
                if not first:
                    self._resync()
                first = False
                while not self._conn.is_closed():
                    await asyncio.sleep(self._reconnect_seconds)
                    await self._conn.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("stream hub lost its connection; reconnecting", exc_info=True)
            await asyncio.sleep(self._reconnect_seconds)

    def _resync(self) -> None:
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.queue.put_nowait(RESYNC)
        for events in self._wakeups.values():
            for event in events:
                event.set()

    def _on_notify(self, _conn: object, _pid: int, channel: str, payload: object) -> None:
        for event in self._wakeups.get(channel, ()):
            event.set()
        if not isinstance(payload, str) or not payload:
            return
        try:
            message = json.loads(payload)
        except ValueError:
            log.warning("unreadable payload on %s", channel)
            return
        position = message["p"]
        for key, data in message["i"]:
            for subscription in self._subscribers.get((channel, key), ()):
                subscription.queue.put_nowait(Change(channel, key, position, data))
                self.delivered += 1
