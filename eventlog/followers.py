"""How each job that follows the log is doing, so none stalls silently: its position and,
while a page fails, where and since when.

A job whose page fails (a projection the database refuses, a policy whose reaction raises)
retries it with exponential backoff, capped; each step is logged once with the failing
position. `/metrics` shows every job's lag and failing position, and `/readyz` is not ready
while a job has been failing longer than `OLO_STUCK_SECONDS`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import asyncpg
from eventsourcing.persistence import Mapper, StoredEvent

from eventlog.application import EVENTS_TABLE

log = logging.getLogger(__name__)


class Positioned(Protocol):
    position: int


@dataclass(frozen=True)
class Backoff:
    """Delays between a failing page's tries: `first`, doubling, at most `cap` seconds."""

    first: float = 0.5
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        """The wait after the `failures`-th failure in a row (1, 2, ...)."""
        return float(min(self.cap, self.first * 2 ** min(failures - 1, 30)))


@dataclass
class FollowerHealth:
    """One job's progress along the log, as its feed sees it."""

    name: str
    job: Positioned
    clock: Callable[[], float] = time.monotonic
    failing_at: int | None = None  # the first position it could not apply, while failing
    failing_since: float | None = None
    failures: int = 0  # in a row
    retries: int = 0  # in all

    @property
    def position(self) -> int:
        return self.job.position

    def level(self) -> None:
        """It applied everything it was given: healthy."""
        if self.failing_at is not None:
            log.warning(
                "%s recovered: applied position %d after %d failed tries",
                self.name,
                self.failing_at,
                self.failures,
            )
        self.failing_at = self.failing_since = None
        self.failures = 0

    def failed(self, failing_at: int, error: BaseException, backoff: Backoff) -> float:
        """A page starting at `failing_at` failed: log it and say how long to wait."""
        if self.failing_at != failing_at:  # a first failure, or it got further meanwhile
            self.failures = 0
            self.failing_since = self.clock()
        self.failing_at = failing_at
        self.failures += 1
        self.retries += 1
        delay = backoff.delay(self.failures)
        log.error(
            "%s cannot apply the log at position %d (try %d): %r; retrying in %.1f s",
            self.name,
            failing_at,
            self.failures,
            error,
            delay,
            exc_info=error if self.failures == 1 else None,
        )
        return delay

    def stuck_for(self) -> float:
        """How long its pages have been failing (0 when healthy)."""
        return 0.0 if self.failing_since is None else self.clock() - self.failing_since


async def first_unapplied(pool: asyncpg.Pool, position: int, topics: frozenset[str]) -> int:
    """The first position after `position` with an event of `topics` (any topic if empty):
    where a failing job is stuck. `position + 1` if the log cannot say."""
    try:
        found = await pool.fetchval(
            f"SELECT min(notification_id) FROM {EVENTS_TABLE} WHERE notification_id > $1 "
            "AND (cardinality($2::text[]) = 0 OR topic = ANY($2::text[]))",
            position,
            list(topics),
            timeout=5,
        )
    except (OSError, asyncpg.PostgresError, TimeoutError):
        found = None
    return int(found) if found is not None else position + 1


async def log_head(pool: asyncpg.Pool) -> int:
    """The log's last position (for /metrics; not counted among the followers' reads)."""
    return int(
        await pool.fetchval(
            f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}", timeout=5
        )
    )


async def unapplied_ages(
    pool: asyncpg.Pool, mapper: Mapper[Any], positions: set[int]
) -> dict[int, float]:
    """For each position, the age in seconds of the first event after it (the oldest one a
    job at that position has not applied), as the event's timestamp says."""
    ages: dict[int, float] = {}
    now = datetime.now(UTC)
    for position in positions:
        row = await pool.fetchrow(
            "SELECT originator_id, originator_version, topic, state "
            f"FROM {EVENTS_TABLE} WHERE notification_id > $1 ORDER BY notification_id LIMIT 1",
            position,
            timeout=5,
        )
        if row is not None:
            stored = StoredEvent(UUID(bytes=row[0].bytes), row[1], row[2], row[3])
            timestamp = getattr(mapper.to_domain_event(stored), "timestamp", None)
            if isinstance(timestamp, datetime):
                ages[position] = max(0.0, (now - timestamp).total_seconds())
    return ages
