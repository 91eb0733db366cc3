"""The group-commit writer: many commands' events in one transaction, conflicts isolated."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg
from eventsourcing.persistence import StoredEvent

from eventlog.application import EVENTS_TABLE
from eventlog.database import INSERT_FUNCTION, Connection

log = logging.getLogger(__name__)


_CONNECTION_LOST = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)


class ConflictError(Exception):
    """A command's events did not continue the stored sequence of one of its aggregates."""


@dataclass
class Unit:
    """The events of one command: committed all together or not at all."""

    events: list[StoredEvent]
    epochs: dict[UUID, int]
    future: asyncio.Future[list[int]] = field(repr=False)
    firsts: dict[UUID, int] = field(default_factory=dict)
    lasts: dict[UUID, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for e in self.events:
            oid = e.originator_id
            assert isinstance(oid, UUID)
            self.firsts.setdefault(oid, e.originator_version)
            self.lasts[oid] = e.originator_version


class GroupCommitWriter:
    """One asyncio task that commits the units handed to it in batches.

    Safety does not rest on this class alone: the insert function checks under the
    library's table lock that each aggregate's new events continue its stored sequence.
    What this class adds is *epochs*: when a unit is rejected, every aggregate in it gets
    a new epoch, so a unit built in memory on top of the rejected one is rejected too,
    even if its version numbers would happen to fit what another process stored.
    """

    def __init__(self, pool: asyncpg.Pool, *, batch_max: int = 2000, retries: int = 5) -> None:
        self._pool = pool
        self._batch_max = batch_max
        self._retries = retries
        self._queue: deque[Unit] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._epochs: dict[UUID, int] = {}
        self.batches = 0
        self.units = 0

    def epoch(self, oid: UUID) -> int:
        return self._epochs.get(oid, 0)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="group-commit-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        while self._queue:
            self._fail(self._queue.popleft(), RuntimeError("event log writer stopped"))

    def submit(
        self, events: list[StoredEvent], epochs: dict[UUID, int]
    ) -> asyncio.Future[list[int]]:
        """Queue one command's events; the future gives their notification ids."""
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        if not events:
            future.set_result([])
            return future
        if self._task is None:
            raise RuntimeError("event log writer is not running")
        self._queue.append(Unit(events, epochs, future))
        self._wakeup.set()
        return future

    async def _run(self) -> None:
        while True:
            try:
                async with self._pool.acquire() as conn:
                    await self._drain(conn)
            except _CONNECTION_LOST:
                # The batch in flight was failed with the error (whether it committed is
                # unknown to us: its commands' idempotency keys make a retry safe).
                log.warning("event log writer lost its connection; reconnecting", exc_info=True)
                await asyncio.sleep(0.2)

    async def _drain(self, conn: Connection) -> None:
        while True:
            if not self._queue:
                await self._wakeup.wait()
            self._wakeup.clear()
            if conn.is_closed():
                # Dropped by the server while idle: take a new one, keep the queue.
                raise asyncpg.InterfaceError("event log writer's connection was closed")
            while self._queue:
                batch = self._take_batch()
                try:
                    await self._write(conn, batch)
                except BaseException as error:
                    for unit in batch:
                        self._fail(
                            unit,
                            error
                            if isinstance(error, Exception)
                            else RuntimeError("event log writer stopped"),
                        )
                    if isinstance(error, _CONNECTION_LOST) or not isinstance(error, Exception):
                        raise
                    log.exception("batch of %d commands failed", len(batch))

    def _take_batch(self) -> list[Unit]:
        batch: list[Unit] = []
        size = 0
        while self._queue and (not batch or size + len(self._queue[0].events) <= self._batch_max):
            unit = self._queue.popleft()
            batch.append(unit)
            size += len(unit.events)
        return batch

    async def _write(self, conn: Connection, batch: list[Unit]) -> None:
        units = [u for u in batch if self._current(u)]
        for _ in range(self._retries):
            if not units:
                return
            events = [e for u in units for e in u.events]
            try:
                rows = await conn.fetch(
                    f"SELECT {INSERT_FUNCTION}($1, $2, $3, $4) AS id",
                    [e.originator_id for e in events],
                    [e.originator_version for e in events],
                    [e.topic for e in events],
                    [e.state for e in events],
                )
            except asyncpg.UniqueViolationError:
                units = await self._isolate(conn, units)
                continue
            self._resolve(units, [r["id"] for r in rows])
            return
        for unit in units:
            self._reject(unit)

    async def _isolate(self, conn: Connection, units: list[Unit]) -> list[Unit]:
        """Keep the units that continue what is stored, in order; reject the others."""
        oids = list({oid for u in units for oid in u.firsts})
        rows = await conn.fetch(
            f"SELECT originator_id AS oid, max(originator_version) AS v FROM {EVENTS_TABLE} "
            "WHERE originator_id = ANY($1::uuid[]) GROUP BY originator_id",
            oids,
        )
        stored = {r["oid"]: r["v"] for r in rows}
        keep: list[Unit] = []
        for unit in units:
            fits = all(first == stored.get(oid, 0) + 1 for oid, first in unit.firsts.items())
            if fits and self._current(unit):
                stored.update(unit.lasts)
                keep.append(unit)
            else:
                self._reject(unit)
        return keep

    def _current(self, unit: Unit) -> bool:
        if all(self._epochs.get(oid, 0) == epoch for oid, epoch in unit.epochs.items()):
            return True
        # Built on a state that was already rejected. What it changed is wrong in memory too,
        # so whatever was built on it in turn must go as well.
        self._invalidate(unit)
        self._fail(unit, ConflictError("built on a rejected command"))
        return False

    def _resolve(self, units: list[Unit], ids: list[int]) -> None:
        self.batches += 1
        start = 0
        for unit in units:
            end = start + len(unit.events)
            self.units += 1
            if not unit.future.done():
                unit.future.set_result(ids[start:end])
            start = end

    def _reject(self, unit: Unit) -> None:
        self._invalidate(unit)
        self._fail(unit, ConflictError(f"conflict on {sorted(map(str, unit.firsts))}"))

    def _invalidate(self, unit: Unit) -> None:
        """New epochs for the unit's aggregates: nothing built on it in memory may commit."""
        for oid in unit.firsts:
            self._epochs[oid] = self._epochs.get(oid, 0) + 1

    def _fail(self, unit: Unit, error: BaseException) -> None:
        if not unit.future.done():
            unit.future.set_exception(error)
