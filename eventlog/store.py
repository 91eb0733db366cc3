"""Commands against the log: load aggregates (asyncpg + the library's mapper), save through
the group-commit writer, retry a command that lost a conflict."""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
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


@dataclass
class _Entry:
    aggregate: Aggregate
    epoch: int  # the writer epoch it was loaded at
    committing: asyncio.Future[list[int]] | None = None  # the last command that changed it


class _Cache:
    """Recently used aggregates, as this process last saw or changed them (LRU)."""

    def __init__(self, maxsize: int) -> None:
        self._items: OrderedDict[UUID, _Entry] = OrderedDict()
        self._maxsize = maxsize

    def get(self, oid: UUID, epoch: int) -> _Entry | None:
        entry = self._items.get(oid)
        if entry is None or entry.epoch != epoch:
            return None
        self._items.move_to_end(oid)
        return entry

    def put(self, entry: _Entry) -> None:
        self._items[entry.aggregate.id] = entry
        self._items.move_to_end(entry.aggregate.id)
        while len(self._items) > self._maxsize:
            self._items.popitem(last=False)

    def evict(self, oid: UUID) -> None:
        self._items.pop(oid, None)


class Transaction(Protocol):
    """What a command is handed: load aggregates, add new ones (every store's transaction)."""

    retrying: bool  # an earlier try of this command lost a conflict

    async def get(self, oid: UUID, cls: type[A], *, fresh: bool = False) -> A | None: ...

    def add(self, aggregate: Aggregate) -> None: ...


class AggregateStore(Protocol):
    """What services need of a store: the log's (EventStore) or a test's (InMemoryEventStore)."""

    async def load(self, oid: UUID, *, fresh: bool = False) -> Aggregate | None: ...

    def remember(self, aggregate: Aggregate) -> None: ...

    async def transact(self, command: Callable[[Transaction], Awaitable[T]]) -> T: ...


class LogTransaction:
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
        # Commits still in flight whose state this command read: its answer stands only if
        # they land.
        self.depends: list[asyncio.Future[list[int]]] = []
        self._absent: set[UUID] = set()

    async def get(self, oid: UUID, cls: type[A], *, fresh: bool = False) -> A | None:
        """The aggregate with this id (None if it has no events yet); `fresh`: as the log
        has it, for an aggregate that other processes change more often than this one.

        What this command already loaded or created is answered without a round trip, so
        it may be asked for again after changes; anything else must be loaded first."""
        if oid in self.aggregates:
            found = self.aggregates[oid]
        elif oid in self._absent:
            return None
        else:
            if any(a.pending_events for a in self.aggregates.values()):
                raise ProgrammingError("load every aggregate before changing any of them")
            epoch = self._store.writer.epoch(oid)
            entry = await self._store.entry(oid, fresh=self._fresh or fresh)
            if entry is None:
                self._absent.add(oid)
                return None
            found = entry.aggregate
            self.aggregates[oid] = found
            self.epochs[oid] = epoch
            if entry.committing is not None and not entry.committing.done():
                self.depends.append(entry.committing)
        if not isinstance(found, cls):
            raise TypeError(f"{oid} is a {type(found).__name__}, not a {cls.__name__}")
        return found

    def add(self, aggregate: Aggregate) -> None:
        """A new aggregate created by this command."""
        self.aggregates[aggregate.id] = aggregate
        self._absent.discard(aggregate.id)
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
        """The aggregate as this process knows it (`fresh`: as the log has it, unless a
        command of this process in flight is already ahead)."""
        entry = await self.entry(oid, fresh=fresh)
        return entry.aggregate if entry is not None else None

    async def entry(self, oid: UUID, *, fresh: bool = False) -> _Entry | None:
        epoch = self.writer.epoch(oid)
        if not fresh and (cached := self._cache.get(oid, epoch)) is not None:
            return cached
        rows = await self.pool.fetch(
            f"SELECT originator_version, topic, state FROM {EVENTS_TABLE} "
            "WHERE originator_id = $1 ORDER BY originator_version",
            oid,
        )
        if self.writer.epoch(oid) != epoch:
            # A command on it was rejected while we read; our copy may predate a retry.
            return await self.entry(oid, fresh=True)
        cached = self._cache.get(oid, epoch)
        if not rows:
            return cached  # created by a command in flight, or absent
        if cached is not None and cached.aggregate.version >= rows[-1]["originator_version"]:
            return cached  # a command in flight in this process is already ahead
        events = (
            self.mapper.to_domain_event(
                StoredEvent(oid, r["originator_version"], r["topic"], r["state"])
            )
            for r in rows
        )
        aggregate = project_aggregate(None, events)
        assert aggregate is not None
        entry = _Entry(aggregate, epoch)
        self._cache.put(entry)
        return entry

    def remember(self, aggregate: Aggregate) -> None:
        """An aggregate this process just projected from events read from the log, for the
        commands that act on it next (a copy known here already is kept). If the log holds
        more of it, those commands conflict and run again on fresh state."""
        epoch = self.writer.epoch(aggregate.id)
        if self._cache.get(aggregate.id, epoch) is None:
            self._cache.put(_Entry(aggregate, epoch))

    async def transact(self, command: Callable[[Transaction], Awaitable[T]]) -> T:
        """Run a command, commit its events in a group commit, retry it on a conflict.

        Its result (or its domain error) is returned only once everything it read from
        commands still in flight has committed too; otherwise it runs again on fresh state.
        """
        for attempt in range(self._retries):
            tx = LogTransaction(self, fresh=attempt > 0)
            try:
                result = await command(tx)
            except Exception:
                self._discard(tx)
                if await self._landed(tx.depends):
                    raise
                await self._after_conflict(tx, attempt)
                continue
            except BaseException:
                self._discard(tx)
                raise
            future = self._submit(tx)
            try:
                await future
            except ConflictError:
                await self._after_conflict(tx, attempt)
                continue
            except BaseException:
                # Not known to be committed: the next command reloads what this one touched.
                for oid in tx.aggregates:
                    self._cache.evict(oid)
                raise
            if await self._landed(tx.depends):
                return result
            await self._after_conflict(tx, attempt)
        raise ConflictError(f"gave up after {self._retries} conflicting tries")

    @staticmethod
    async def _landed(depends: list[asyncio.Future[list[int]]]) -> bool:
        if not depends:
            return True
        outcomes = await asyncio.gather(*depends, return_exceptions=True)
        return not any(isinstance(o, BaseException) for o in outcomes)

    async def _after_conflict(self, tx: LogTransaction, attempt: int) -> None:
        self.conflicts += 1
        for oid in tx.aggregates:
            self._cache.evict(oid)
        # Exponential backoff with jitter: processes contending on one aggregate spread out.
        await asyncio.sleep(random.uniform(0, min(0.1, 0.002 * 2**attempt)))

    def _submit(self, tx: LogTransaction) -> asyncio.Future[list[int]]:
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
        future = self.writer.submit(events, epochs)
        for aggregate in changed:
            if getattr(aggregate, "CACHED", True):  # write-once kinds opt out
                self._cache.put(_Entry(aggregate, tx.epochs[aggregate.id], future))
            else:
                self._cache.evict(aggregate.id)
        return future

    def _discard(self, tx: LogTransaction) -> None:
        """A command that failed may have changed aggregates in memory: forget those."""
        for oid, aggregate in tx.aggregates.items():
            if aggregate.pending_events:
                aggregate.collect_events()
                self._cache.evict(oid)
