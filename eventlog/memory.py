"""The event store's API over a dict, for service tests that run in milliseconds.

Faithful where services can tell: every event goes through the log's own mapper (what
cannot be stored fails here too), every load projects the stored events afresh (a failed
command leaves nothing behind), a command may not load after changing, and optimistic
concurrency is the table's: an event whose version is already taken fails the command,
which runs again on fresh state. What it leaves out is what only PostgreSQL shows: group
commits, the writer's epochs, another process's cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import project_aggregate
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, StoredEvent

from eventlog.application import EventLog
from eventlog.store import ProgrammingError, Transaction
from eventlog.writer import ConflictError

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)


def _log_mapper() -> Mapper[Any]:
    """The mapper (topics, transcodings) of the real log, without its database."""
    return EventLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper


class MemoryTransaction:
    """One try of a command against the in-memory store."""

    def __init__(self, store: InMemoryEventStore, *, retrying: bool) -> None:
        self._store = store
        self.retrying = retrying
        self.aggregates: dict[UUID, Aggregate] = {}
        self._absent: set[UUID] = set()

    async def get(self, oid: UUID, cls: type[A], *, fresh: bool = False) -> A | None:
        """As EventStore's: what this command loaded or created, else the stored state."""
        if oid in self.aggregates:
            found = self.aggregates[oid]
        elif oid in self._absent:
            return None
        else:
            if any(a.pending_events for a in self.aggregates.values()):
                raise ProgrammingError("load every aggregate before changing any of them")
            loaded = self._store.project(oid)
            # A load is a round trip on the real store: other commands may commit while
            # its answer is on the way.
            await asyncio.sleep(0)
            if loaded is None:
                self._absent.add(oid)
                return None
            found = self.aggregates[oid] = loaded
        if not isinstance(found, cls):
            raise TypeError(f"{oid} is a {type(found).__name__}, not a {cls.__name__}")
        return found

    def add(self, aggregate: Aggregate) -> None:
        """A new aggregate created by this command."""
        self.aggregates[aggregate.id] = aggregate
        self._absent.discard(aggregate.id)


class InMemoryEventStore:
    """Keeps each aggregate's events; records every event committed, in commit order."""

    def __init__(self, mapper: Mapper[Any] | None = None, *, retries: int = 10) -> None:
        self.mapper = mapper or _log_mapper()
        self._events: dict[UUID, list[StoredEvent]] = {}
        # Any: most event classes are made at run time by @event, so mypy cannot see fields.
        self.committed: list[Any] = []
        self._taken = 0
        self._retries = retries
        self.conflicts = 0

    def project(self, oid: UUID) -> Aggregate | None:
        """The aggregate as its stored events make it (a new copy each time)."""
        stored = self._events.get(oid)
        if not stored:
            return None
        aggregate = project_aggregate(None, map(self.mapper.to_domain_event, stored))
        assert isinstance(aggregate, Aggregate)
        return aggregate

    async def load(self, oid: UUID, *, fresh: bool = False) -> Aggregate | None:
        return self.project(oid)

    def remember(self, aggregate: Aggregate) -> None:
        """Nothing to keep: every load projects the stored events."""

    async def transact(self, command: Callable[[Transaction], Awaitable[T]]) -> T:
        """Run a command, commit its events if no other commit took their versions, else
        run it again on fresh state; a domain error commits nothing."""
        for attempt in range(self._retries):
            tx = MemoryTransaction(self, retrying=attempt > 0)
            result = await command(tx)
            try:
                self._commit(tx)
            except ConflictError:
                self.conflicts += 1
                continue
            return result
        raise ConflictError(f"gave up after {self._retries} conflicting tries")

    def _commit(self, tx: MemoryTransaction) -> None:
        pending = {oid: a.collect_events() for oid, a in tx.aggregates.items()}
        stored = {
            oid: [self.mapper.to_stored_event(e) for e in events]
            for oid, events in pending.items()
            if events
        }
        for oid, events in stored.items():
            have = len(self._events.get(oid, ()))
            if events[0].originator_version != have + 1:
                raise ConflictError(f"{oid} is at version {have} already")
        for oid, events in stored.items():
            self._events.setdefault(oid, []).extend(events)
            self.committed.extend(map(self.mapper.to_domain_event, events))

    def take_events(self) -> list[Any]:
        """The events committed since the last take: what one command did."""
        taken = self.committed[self._taken :]
        self._taken = len(self.committed)
        return taken
