"""A process's worker duties: every projection, policy and led job (meter and dispatcher
shards, sweeps) run under leadership, all fed by one reader of the log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import asyncpg
from eventsourcing.persistence import Mapper

from eventlog.application import CHANNEL
from eventlog.followers import Backoff
from eventlog.hub import StreamHub
from eventlog.leadership import Leadership
from eventlog.ops import log_task_stacks
from eventlog.policy import PolicyRunner
from eventlog.projection import ProjectionRunner
from eventlog.reader import LogReader
from eventlog.settings import Settings
from eventlog.wiring import LedJob

log = logging.getLogger("olo")
SLOW_STOP_SECONDS = 10.0  # a worker still stopping after this logs where its tasks wait


class Worker:
    """Leads what it can of `runners` and `jobs` (advisory locks), reading the log once."""

    def __init__(
        self,
        settings: Settings,
        database_url: str,
        pool: asyncpg.Pool,
        mapper: Mapper[Any],
        hub: StreamHub,
        runners: Sequence[ProjectionRunner | PolicyRunner],
        jobs: Sequence[LedJob],
    ) -> None:
        self.leadership = Leadership(database_url, poll_seconds=settings.leadership_poll_seconds)
        self.reader = LogReader(
            pool,
            mapper,
            page_size=settings.projection_page_size,
            backoff=Backoff(settings.follower_retry_seconds, settings.follower_retry_max_seconds),
        )
        self._hub = hub
        for runner in runners:
            name = (
                runner.projection.name
                if isinstance(runner, ProjectionRunner)
                else runner.policy.name
            )
            self.leadership.add(name, self._on_log(runner.follow))
        for led in jobs:
            self.leadership.add(led.job.name, self._on_log(led.job.run), group=led.group)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        work = self.reader.run_alongside(self._hub.wakeup(CHANNEL), self.leadership.run())
        self._task = asyncio.create_task(work, name="leadership")

    async def stop(self) -> None:
        """Stop every job it leads (their locks go back with them). Still stopping after
        SLOW_STOP_SECONDS, it logs where its tasks wait."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        if not (await asyncio.wait({task}, timeout=SLOW_STOP_SECONDS))[0]:
            log.warning("the worker is still stopping after %s s", SLOW_STOP_SECONDS)
            log_task_stacks()
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("the worker had failed")

    def _on_log(
        self, follow: Callable[[asyncio.Event, LogReader], Awaitable[None]]
    ) -> Callable[[], Coroutine[Any, Any, None]]:
        """A led job that follows the log: fed by the reader, on its own while behind."""
        wakeup = self._hub.wakeup(CHANNEL)

        async def run() -> None:
            await follow(wakeup, self.reader)

        return run
