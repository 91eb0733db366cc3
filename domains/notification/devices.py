"""The devices of the recipients being pushed, read together: the pushes that come due at
about the same moment (a backlog, a page of rings) asked for theirs one query each, 14% of
the worker's CPU in the FCM drain of bench/notifications.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from uuid import UUID

from domains.profile.queries import DeviceRecord

ReadMany = Callable[[list[UUID]], Awaitable[dict[UUID, list[DeviceRecord]]]]


class DeviceReads:
    """`devices(user)` as one query per turn of the event loop: every push that asks in the
    same turn is answered by the same read, made after all of them asked (so no later than
    a read of its own would have been)."""

    def __init__(self, read_many: ReadMany) -> None:
        self._read_many = read_many
        self._waiting: dict[UUID, list[asyncio.Future[list[DeviceRecord]]]] = {}
        self._batch: asyncio.Task[None] | None = None

    async def devices(self, user_id: UUID) -> list[DeviceRecord]:
        """The user's reachable devices, most recently registered first."""
        future: asyncio.Future[list[DeviceRecord]] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(user_id, []).append(future)
        if self._batch is None:
            self._batch = asyncio.create_task(self._read())
        return await future

    async def _read(self) -> None:
        await asyncio.sleep(0)  # the other pushes of this turn ask meanwhile
        waiting, self._waiting, self._batch = self._waiting, {}, None
        try:
            found = await self._read_many(list(waiting))
        except asyncio.CancelledError:
            for futures in waiting.values():
                for future in futures:
                    future.cancel()
            raise
        except Exception as error:
            for futures in waiting.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(error)
            return
        for user_id, futures in waiting.items():
            for future in futures:
                if not future.done():
                    future.set_result(list(found.get(user_id, ())))
