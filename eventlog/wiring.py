"""What a domain contributes to a running olo, as typed records its own `wiring.py` returns.

A domain describes itself twice, because two moments need it: its `Domain` (read models,
the stream channels they publish on, GraphQL types, HTTP routes) is known before anything
runs, so tables, the schema and the app can be made without a running log; its `Parts`
(services, reactions, led jobs, closers) are built by its `wire(core, lower parts...)` once
the log is open. `app.py` concatenates both in layer order; the hub's channels, the tables,
the schema and the worker's jobs all derive from these records, so no list elsewhere can
forget a domain's piece.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import asyncpg
from eventsourcing.persistence import Mapper
from fastapi import APIRouter

from eventlog.clock import Clock
from eventlog.hub import StreamHub
from eventlog.policy import Policy
from eventlog.projection import Projection
from eventlog.reader import LogReader
from eventlog.settings import Settings
from eventlog.store import EventStore

S = TypeVar("S")
Closer = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Core:
    """What every domain's wiring is given: the one log and the process's shared parts."""

    settings: Settings
    pool: asyncpg.Pool
    mapper: Mapper[Any]
    store: EventStore
    hub: StreamHub
    clock: Clock


class Follower(Protocol):
    """A job that follows the log (and maybe the clock) until cancelled, in one worker at a
    time: `run` is given the event set when the log has news, and the worker's one reader
    of the log, which feeds the job once it is level with it."""

    name: str

    async def run(self, wakeup: asyncio.Event, reader: LogReader | None = None) -> None: ...


@dataclass(frozen=True)
class LedJob:
    """A follower run under leadership; jobs of one `group` (shards) are shared out among
    the workers instead of all going to the first."""

    job: Follower
    group: str | None = None


@dataclass(frozen=True)
class TimetableJob:
    """A plain async function the timetable (`timetable/`) runs on a cron schedule, in one
    worker of all at a time. `cron` is a five-field crontab expression in UTC (domains take it
    from `settings.cron(name)`, so `OLO_TIMETABLE` can move it); `run` is given the time the
    run was due (a run caught up after a takeover gets the missed time). A run that raises is
    recorded as failed and runs again at its next time."""

    name: str
    cron: str
    run: Callable[[datetime], Awaitable[None]]


@dataclass(frozen=True)
class Parts(Generic[S]):
    """A domain's running pieces. `services` is the domain's own frozen record of typed
    services and queries (what resolvers, other domains, tests and tools call)."""

    services: S
    policies: tuple[Policy, ...] = ()
    jobs: tuple[LedJob, ...] = ()
    timetable: tuple[TimetableJob, ...] = ()
    closers: tuple[Closer, ...] = ()


@dataclass(frozen=True)
class Domain(Generic[S]):
    """What a domain is before it runs: its read models (made fresh for each running olo),
    the NOTIFY channels they publish changes on, its GraphQL root types and its HTTP routes
    (given the settings and a way to reach the running services)."""

    name: str
    projections: tuple[Callable[[], Projection], ...] = ()
    channels: tuple[str, ...] = ()
    query: tuple[type, ...] = ()
    mutation: tuple[type, ...] = ()
    subscription: tuple[type, ...] = ()
    routes: Callable[[Settings, Callable[[], S]], Iterable[APIRouter]] | None = field(default=None)


def merged_services(cls: type[S], records: Iterable[object]) -> S:
    """`cls` (a frozen dataclass whose bases are the domains' services records) filled from
    the domains' records. A field two domains share (a lower domain's service handed up)
    must be the very same object in both."""
    values: dict[str, Any] = {}
    for record in records:
        for f in fields(record):  # type: ignore[arg-type]
            value = getattr(record, f.name)
            if f.name in values and values[f.name] is not value:
                raise ValueError(f"two domains give different {f.name!r} services")
            values[f.name] = value
    return cls(**values)
