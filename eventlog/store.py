"""Commands against the log: load aggregates (asyncpg + the library's mapper), save through
the group-commit writer, retry a command that lost a conflict."""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
from eventsourcing.application import project_aggregate
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, StoredEvent

from eventlog.application import EVENTS_TABLE
from eventlog.writer import ConflictError, GroupCommitWriter

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)


class ProgrammingError(Exception):
    """A command used the store in a way that could lose an update."""


class _Cache:
    """Recently used aggregates with the writer epoch they were loaded at (LRU)."""

    def __init__(self, maxsize: int) -> None:
        self._items: OrderedDict[UUID, tuple[Aggregate, int]] = OrderedDict()
        self._maxsize = maxsize

    def get(self, oid: UUID, epoch: int) -> Aggregate | None:
        item = self._items.get(oid)
        if item is None or item[1] != epoch:
            return None
        self._items.move_to_end(oid)
        return item[0]

    def put(self, aggregate: Aggregate, epoch: int) -> None:
        self._items[aggregate.id] = (aggregate, epoch)
        self._items.move_to_end(aggregate.id)
        while len(self._items) > self._maxsize:
            self._items.popitem(last=False)

    def evict(self, oid: UUID) -> None:
        self._items.pop(oid, None)


class Transaction:
    """What one try of a command sees: aggregates it loaded and aggregates it created.

    Load everything first, then change aggregates without awaiting anything: the events
    are handed to the writer as soon as the command returns, so another command that
    loads the same aggregate meanwhile builds on these events (chained in flight).
    """

    def __init__(self, store: EventStore, *, fresh: bool) -> None:
        self._store = store
        self._fresh = fresh
        self.retrying = fresh  # an earlier try of this command lost a conflict
        self.aggregates: dict[UUID, Aggregate] = {}
        self.epochs: dict[UUID, int] = {}

    async def get(self, oid: UUID, cls: type[A]) -> A | None:
        """The aggregate with this id (None if it has no events yet)."""
        if any(a.pending_events for a in self.aggregates.values()):
            raise ProgrammingError("load every aggregate before changing any of them")
        if oid in self.aggregates:
            found = self.aggregates[oid]
        else:
            epoch = self._store.writer.epoch(oid)
            loaded = await self._store.load(oid, fresh=self._fresh)
            if loaded is None:
                return None
            found = loaded
            self.aggregates[oid] = found
            self.epochs[oid] = epoch
        if not isinstance(found, cls):
            raise TypeError(f"{oid} is a {type(found).__name__}, not a {cls.__name__}")
        return found

    def add(self, aggregate: Aggregate) -> None:
        """A new aggregate created by this command."""
        self.aggregates[aggregate.id] = aggregate
        self.epochs[aggregate.id] = self._store.writer.epoch(aggregate.id)


class EventStore:
    """Loads and saves aggregates of the one event log."""

    def __init__(
        self,
        mapper: Mapper[Any],
        pool: asyncpg.Pool,
        writer: GroupCommitWriter,
        *,
        cache_size: int = 100_000,
        retries: int = 10,
    ) -> None:
        self.mapper = mapper
        self.pool = pool
        self.writer = writer
        self._cache = _Cache(cache_size)
        self._retries = retries
        self.conflicts = 0

    async def load(self, oid: UUID, *, fresh: bool = False) -> Aggregate | None:
        epoch = self.writer.epoch(oid)
        if not fresh:
            cached = self._cache.get(oid, epoch)
            if cached is not None:
                return cached
        rows = await self.pool.fetch(
            f"SELECT originator_version, topic, state FROM {EVENTS_TABLE} "
            "WHERE originator_id = $1 ORDER BY originator_version",
            oid,
        )
        if not rows:
            return None
        events = (
            self.mapper.to_domain_event(
                StoredEvent(oid, r["originator_version"], r["topic"], r["state"])
            )
            for r in rows
        )
        aggregate = project_aggregate(None, events)
        assert aggregate is not None
        if self.writer.epoch(oid) != epoch:
            # A command on it was rejected while we read; our copy may predate a retry.
            return await self.load(oid, fresh=True)
        cached = self._cache.get(oid, epoch)
        if cached is not None and cached.version >= aggregate.version:
            return cached  # a command in flight in this process is already ahead
        self._cache.put(aggregate, epoch)
        return aggregate

    async def transact(self, command: Callable[[Transaction], Awaitable[T]]) -> T:
        """Run a command, commit its events in a group commit, retry it on a conflict."""
        for attempt in range(self._retries):
            tx = Transaction(self, fresh=attempt > 0)
            try:
                result = await command(tx)
            except BaseException:
                self._discard(tx)
                raise
            future = self._submit(tx)
            try:
                await future
            except ConflictError:
                self.conflicts += 1
                for oid in tx.aggregates:
                    self._cache.evict(oid)
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                continue
            except BaseException:
                # Not known to be committed: the next command reloads what this one touched.
                for oid in tx.aggregates:
                    self._cache.evict(oid)
                raise
            return result
        raise ConflictError(f"gave up after {self._retries} conflicting tries")

    def _submit(self, tx: Transaction) -> asyncio.Future[list[int]]:
        events: list[StoredEvent] = []
        epochs: dict[UUID, int] = {}
        changed: list[Aggregate] = []
        try:
            for oid, aggregate in tx.aggregates.items():
                pending = aggregate.collect_events()
                if pending:
                    events.extend(self.mapper.to_stored_event(e) for e in pending)
                    epochs[oid] = tx.epochs[oid]
                    changed.append(aggregate)
        except BaseException:
            for oid in tx.aggregates:  # changed in memory, never saved
                self._cache.evict(oid)
            raise
        for aggregate in changed:
            self._cache.put(aggregate, tx.epochs[aggregate.id])
        return self.writer.submit(events, epochs)

    def _discard(self, tx: Transaction) -> None:
        """A command that failed may have changed aggregates in memory: forget those."""
        for oid, aggregate in tx.aggregates.items():
            if aggregate.pending_events:
                aggregate.collect_events()
                self._cache.evict(oid)
