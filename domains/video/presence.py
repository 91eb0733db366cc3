"""Who is online: users with a live connection (a `callEvents` subscription) to some API
process. Each process refreshes its users' rows on a heartbeat; a row outlives its
process's last heartbeat by the TTL, so a crashed process's users go offline by themselves.
Presence is liveness, not history: it lives in an unlogged table, not in the event log."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from uuid import UUID, uuid4

import asyncpg

from domains.profile.queries import ProfileQueries

log = logging.getLogger(__name__)


class Presence:
    def __init__(self, pool: asyncpg.Pool, *, heartbeat_seconds: float, ttl_seconds: float) -> None:
        self._pool = pool
        self._heartbeat = heartbeat_seconds
        self._ttl = ttl_seconds
        self._instance = uuid4()
        self._connections: Counter[UUID] = Counter()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._beat(), name="presence")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            await self._pool.execute(
                "DELETE FROM video_presence WHERE instance = $1", self._instance, timeout=2
            )
        except (OSError, asyncpg.PostgresError, TimeoutError, asyncpg.InterfaceError):
            pass  # the rows expire by themselves

    async def connected(self, user_id: UUID) -> None:
        """A connection of this user opened here."""
        self._connections[user_id] += 1
        if self._connections[user_id] == 1:
            await self._refresh([user_id])

    async def disconnected(self, user_id: UUID) -> None:
        self._connections[user_id] -= 1
        if self._connections[user_id] <= 0:
            del self._connections[user_id]
            await self._pool.execute(
                "DELETE FROM video_presence WHERE user_id = $1 AND instance = $2",
                user_id,
                self._instance,
            )

    async def is_online(self, user_id: UUID) -> bool:
        return bool(await self.online([user_id]))

    async def online(self, user_ids: list[UUID]) -> set[UUID]:
        rows = await self._pool.fetch(
            "SELECT DISTINCT user_id FROM video_presence "
            "WHERE user_id = ANY($1::uuid[]) AND expires_at > now()",
            user_ids,
        )
        return {r["user_id"] for r in rows}

    async def _refresh(self, user_ids: list[UUID]) -> None:
        await self._pool.execute(
            "INSERT INTO video_presence (user_id, instance, expires_at) "
            "SELECT u, $2, now() + make_interval(secs => $3) FROM unnest($1::uuid[]) AS u "
            "ON CONFLICT (user_id, instance) DO UPDATE SET expires_at = excluded.expires_at",
            user_ids,
            self._instance,
            self._ttl,
        )

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                if self._connections:
                    await self._refresh(list(self._connections))
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("presence heartbeat failed; retrying", exc_info=True)


def reachable(presence: Presence, devices: ProfileQueries) -> Callable[[UUID], Awaitable[bool]]:
    """Can a ring reach the user: online, or with a device a push wakes (the app in the
    background or killed)."""

    async def is_reachable(user_id: UUID) -> bool:
        return await presence.is_online(user_id) or await devices.has_devices(user_id)

    return is_reachable
