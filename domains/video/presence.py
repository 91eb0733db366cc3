"""Who is online: users with a live connection (a `callEvents` subscription) to some API
process. Each process refreshes its users' rows on a heartbeat; a row outlives its
process's last heartbeat by the TTL, so a crashed process's users go offline by themselves.
Presence is liveness, not history: it lives in unlogged tables, not in the event log.

Transitions: `video_online` holds one row per user who is online, with the time their
unbroken stretch online began (its first connection: one closing while others stay open does
not move it, so a feed's order holds). A user comes online when a connection opens and they
had no row there; they go offline when their last connection closes, or when the sweep (a
led job in a worker) finds that none of their rows is alive any more (the process died).
Each transition is published on PRESENCE_CHANNEL (pg_notify, in the transaction that made
it) and handed to the hooks registered in the process that made it (`on_online`,
`on_offline`)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from domains.profile.queries import ProfileQueries
from eventlog.database import Connection
from eventlog.hub import change_payloads
from eventlog.reader import LogReader

log = logging.getLogger(__name__)

PRESENCE_CHANNEL = "olo_presence"
PRESENCE_KEY = "all"  # every transition goes to one key: its listeners filter
Hook = Callable[[UUID], Awaitable[None]]

# A transaction-scoped lock per user: a connection opening, the last one closing and the sweep
# decide a user's transition one at a time.
_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtextextended('presence:' || u::text, 0)) "
    "FROM unnest($1::uuid[]) AS u ORDER BY u"
)

_CAME_ONLINE = """
INSERT INTO video_online AS o (user_id, since) VALUES ($1, now())
ON CONFLICT (user_id) DO UPDATE SET since = excluded.since
WHERE NOT EXISTS (
    SELECT 1 FROM video_presence p
    WHERE p.user_id = $1 AND p.instance <> $2 AND p.expires_at > now())
RETURNING since
"""
# Offline: users with an online row and no live presence row (rows expired are deleted too).
_GONE = """
DELETE FROM video_online o WHERE o.user_id = ANY($1::uuid[]) AND NOT EXISTS (
    SELECT 1 FROM video_presence p WHERE p.user_id = o.user_id AND p.expires_at > now())
RETURNING user_id, now() AS at
"""


@dataclass(frozen=True)
class PresenceChanged:
    """A user came online (since: their earliest live connection) or went offline (since:
    when the change was seen)."""

    user_id: UUID
    online: bool
    since: datetime

    def to_json(self) -> dict[str, Any]:
        return {"user": str(self.user_id), "online": self.online, "since": self.since.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PresenceChanged:
        return cls(UUID(data["user"]), bool(data["online"]), datetime.fromisoformat(data["since"]))


async def _publish(conn: Connection, changes: list[PresenceChanged]) -> None:
    items = [(PRESENCE_KEY, c.to_json()) for c in changes]
    for payload in change_payloads(0, items):
        await conn.execute("SELECT pg_notify($1, $2)", PRESENCE_CHANNEL, payload)


class Presence:
    def __init__(self, pool: asyncpg.Pool, *, heartbeat_seconds: float, ttl_seconds: float) -> None:
        self._pool = pool
        self._heartbeat = heartbeat_seconds
        self._ttl = ttl_seconds
        self._instance = uuid4()
        self._connections: Counter[UUID] = Counter()
        self._task: asyncio.Task[None] | None = None
        self._hooks: dict[bool, list[Hook]] = {True: [], False: []}
        self._running: set[asyncio.Task[None]] = set()

    def on_online(self, hook: Hook) -> None:
        """Call `hook(user_id)` whenever this process sees a user come online."""
        self._hooks[True].append(hook)

    def on_offline(self, hook: Hook) -> None:
        """Call `hook(user_id)` whenever this process sees a user go offline."""
        self._hooks[False].append(hook)

    def start(self) -> None:
        self._task = asyncio.create_task(self._beat(), name="presence")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            users = list(self._connections)
            self._connections.clear()
            async with asyncio.timeout(2):
                await self._closed(users)
        except (OSError, asyncpg.PostgresError, TimeoutError, asyncpg.InterfaceError):
            pass  # the rows expire by themselves, and the sweep reports them
        await asyncio.gather(*self._running, return_exceptions=True)

    async def connected(self, user_id: UUID) -> None:
        """A connection of this user opened here."""
        self._connections[user_id] += 1
        if self._connections[user_id] == 1:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(_LOCK, [user_id])
                await self._refresh_rows(conn, [user_id])
                since = await conn.fetchval(_CAME_ONLINE, user_id, self._instance)
                if since is not None:
                    await _publish(conn, [PresenceChanged(user_id, True, since)])
            if since is not None:
                self._fire(True, [user_id])

    async def disconnected(self, user_id: UUID) -> None:
        self._connections[user_id] -= 1
        if self._connections[user_id] <= 0:
            del self._connections[user_id]
            await self._closed([user_id])

    async def _closed(self, user_ids: list[UUID]) -> None:
        """This process's last connections of these users closed."""
        if not user_ids:
            return
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_LOCK, user_ids)
            await conn.execute(
                "DELETE FROM video_presence WHERE user_id = ANY($1::uuid[]) AND instance = $2",
                user_ids,
                self._instance,
            )
            gone = await self._went_offline(conn, user_ids)
        self._fire(False, [c.user_id for c in gone])

    async def sweep(self) -> list[UUID]:
        """Delete expired rows; publish every user left with no live row as offline (their
        process died or stopped beating). The users gone offline."""
        async with self._pool.acquire() as conn:
            candidates = await conn.fetch(
                "SELECT o.user_id FROM video_online o WHERE NOT EXISTS (SELECT 1 FROM "
                "video_presence p WHERE p.user_id = o.user_id AND p.expires_at > now())"
            )
            users = [r["user_id"] for r in candidates]
            async with conn.transaction():
                await conn.execute("DELETE FROM video_presence WHERE expires_at <= now()")
                if users:
                    await conn.execute(_LOCK, users)
                gone = await self._went_offline(conn, users) if users else []
        left = [c.user_id for c in gone]
        self._fire(False, left)
        return left

    async def _went_offline(self, conn: Connection, user_ids: list[UUID]) -> list[PresenceChanged]:
        rows = await conn.fetch(_GONE, user_ids)
        gone = [PresenceChanged(r["user_id"], False, r["at"]) for r in rows]
        if gone:
            await _publish(conn, gone)
        return gone

    async def is_online(self, user_id: UUID) -> bool:
        return bool(await self.online([user_id]))

    async def online(self, user_ids: list[UUID]) -> set[UUID]:
        rows = await self._pool.fetch(
            "SELECT DISTINCT user_id FROM video_presence "
            "WHERE user_id = ANY($1::uuid[]) AND expires_at > now()",
            user_ids,
        )
        return {r["user_id"] for r in rows}

    async def online_since(self, user_id: UUID) -> datetime | None:
        """When the user's unbroken stretch online began; None while offline."""
        since: datetime | None = await self._pool.fetchval(
            "SELECT since FROM video_online WHERE user_id = $1", user_id
        )
        return since

    async def _refresh_rows(self, conn: Connection, user_ids: list[UUID]) -> None:
        await conn.execute(
            "INSERT INTO video_presence (user_id, instance, expires_at) "
            "SELECT u, $2, now() + make_interval(secs => $3) "
            "FROM unnest($1::uuid[]) AS u "
            "ON CONFLICT (user_id, instance) DO UPDATE SET expires_at = excluded.expires_at",
            user_ids,
            self._instance,
            self._ttl,
        )

    async def _refresh(self, user_ids: list[UUID]) -> None:
        """Keep this process's rows alive; a user the sweep took offline while this process
        stalled (past the TTL) comes back online."""
        async with self._pool.acquire() as conn, conn.transaction():
            await self._refresh_rows(conn, user_ids)
            rows = await conn.fetch(
                "INSERT INTO video_online (user_id, since) SELECT u, now() "
                "FROM unnest($1::uuid[]) AS u ON CONFLICT (user_id) DO NOTHING "
                "RETURNING user_id, since",
                user_ids,
            )
            back = [PresenceChanged(r["user_id"], True, r["since"]) for r in rows]
            if back:
                await _publish(conn, back)
        self._fire(True, [c.user_id for c in back])

    def _fire(self, online: bool, user_ids: list[UUID]) -> None:
        for user_id in user_ids:
            for hook in self._hooks[online]:
                task = asyncio.create_task(self._run_hook(hook, user_id))
                self._running.add(task)
                task.add_done_callback(self._running.discard)

    @staticmethod
    async def _run_hook(hook: Hook, user_id: UUID) -> None:
        try:
            await hook(user_id)
        except Exception:
            log.exception("a presence hook failed for %s", user_id)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                if self._connections:
                    await self._refresh(list(self._connections))
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("presence heartbeat failed; retrying", exc_info=True)


class PresenceSweep:
    """The led job that takes users whose process died offline: every `every` seconds it
    deletes expired presence rows and publishes who is left with none."""

    name = "video.presence_sweep"

    def __init__(self, presence: Presence, every: float) -> None:
        self._presence = presence
        self._every = every

    async def run(self, wakeup: asyncio.Event, reader: LogReader | None = None) -> None:
        while True:
            try:
                await self._presence.sweep()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("presence sweep failed; retrying", exc_info=True)
            await asyncio.sleep(self._every)


def reachable(presence: Presence, devices: ProfileQueries) -> Callable[[UUID], Awaitable[bool]]:
    """Can a ring reach the user: online, or with a device a push wakes (the app in the
    background or killed)."""

    async def is_reachable(user_id: UUID) -> bool:
        return await presence.is_online(user_id) or await devices.has_devices(user_id)

    return is_reachable
