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
from typing import Protocol

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
