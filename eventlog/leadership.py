"""Leadership through PostgreSQL advisory locks: each named job runs in one process at a
time; the others wait as hot standbys and take over when the holder's session ends."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from eventlog.database import Connection, connect

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a job name."""
    digest = hashlib.blake2b(f"olo:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass
class _Job:
    name: str
    run: Callable[[], Coroutine[Any, Any, None]]
    group: str | None = None
    task: asyncio.Task[None] | None = field(default=None)


STOP_WARNING_SECONDS = 10.0  # a job handed back and still running this long is logged
WORKERS = "workers"  # every Leadership session holds this lock shared: a count of workers


class Leadership:
    """Holds one connection whose session owns the advisory locks of the jobs it leads.

    If that connection dies, PostgreSQL releases its locks; this process cancels every job
    it was leading as soon as it notices (at once when the connection reports its end, else
    at the next health check, within a poll interval) and only then reconnects. A standby
    may start in that window, so jobs must not rely on leadership alone: projections fence
    with their tracking row, and policies' effects are idempotent.
    """

    def __init__(self, database_url: str, *, poll_seconds: float = 1.0) -> None:
        self._database_url = database_url
        self._poll = poll_seconds
        self._jobs: dict[str, _Job] = {}
        self._conn: Connection | None = None

    def add(
        self, name: str, run: Callable[[], Coroutine[Any, Any, None]], *, group: str | None = None
    ) -> None:
        """A job to lead. Jobs of one `group` (the shards of something) are shared out: a
        worker leads at most its fair share of them, ceil(group size / live workers), and
        hands the surplus back when another worker arrives."""
        self._jobs[name] = _Job(name, run, group)

    @property
    def leading(self) -> set[str]:
        return {j.name for j in self._jobs.values() if j.task is not None and not j.task.done()}

    @property
    def backend_pid(self) -> int | None:
        return self._conn.get_server_pid() if self._conn is not None else None

    async def run(self) -> None:
        """Run until cancelled."""
        try:
            while True:
                try:
                    self._conn = await connect(self._database_url)
                    self._conn.add_termination_listener(self._on_terminated)
                    await self._lead()
                except Exception:  # any failure of the session ends leadership
                    log.warning("leadership connection lost; stopping led jobs", exc_info=True)
                await self._stop_all()
                await self._close()
                await asyncio.sleep(self._poll)
        finally:
            await self._stop_all()
            await self._close()

    async def _lead(self) -> None:
        assert self._conn is not None
        await self._conn.execute("SELECT pg_advisory_lock_shared($1)", lock_key(WORKERS))
        while True:
            shares = await self._fair_shares()
            for job in self._jobs.values():
                if job.task is not None and job.task.done():
                    await self._release(job)
                if job.task is None and self._may_take(job, shares):
                    if await self._conn.fetchval(
                        "SELECT pg_try_advisory_lock($1)", lock_key(job.name)
                    ):
                        log.info("leading %s", job.name)
                        job.task = asyncio.create_task(job.run(), name=job.name)
            await self._hand_back_surplus(shares)
            await asyncio.sleep(self._poll)
            await self._conn.fetchval("SELECT 1", timeout=max(self._poll * 5, 5))

    async def _fair_shares(self) -> dict[str, int]:
        groups: dict[str, int] = {}
        for job in self._jobs.values():
            if job.group is not None:
                groups[job.group] = groups.get(job.group, 0) + 1
        if not groups:
            return {}
        assert self._conn is not None
        key = lock_key(WORKERS) & 0xFFFFFFFFFFFFFFFF
        workers = await self._conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1",
            key >> 32,
            key & 0xFFFFFFFF,
        )
        live = max(1, int(workers))
        return {group: -(-size // live) for group, size in groups.items()}

    def _led_in(self, group: str) -> list[_Job]:
        return [j for j in self._jobs.values() if j.group == group and j.task is not None]

    def _may_take(self, job: _Job, shares: dict[str, int]) -> bool:
        return job.group is None or len(self._led_in(job.group)) < shares[job.group]

    async def _hand_back_surplus(self, shares: dict[str, int]) -> None:
        for group, share in shares.items():
            for job in self._led_in(group)[share:]:
                assert job.task is not None
                log.info("handing %s back (fair share of %s: %d)", job.name, group, share)
                job.task.cancel()
                while not (await asyncio.wait({job.task}, timeout=STOP_WARNING_SECONDS))[0]:
                    log.warning(
                        "%s has not stopped %s s after its cancel", job.name, STOP_WARNING_SECONDS
                    )
                await self._release(job)

    def _on_terminated(self, _conn: object) -> None:
        # The session that held our locks is gone: a standby may lead now, so stop at once
        # rather than at the next health check.
        for job in self._jobs.values():
            if job.task is not None:
                job.task.cancel()

    async def _release(self, job: _Job) -> None:
        assert job.task is not None and self._conn is not None
        if not job.task.cancelled() and job.task.exception() is not None:
            log.error("%s failed; releasing it", job.name, exc_info=job.task.exception())
        job.task = None
        await self._conn.execute("SELECT pg_advisory_unlock($1)", lock_key(job.name))

    async def _stop_all(self) -> None:
        tasks = [j.task for j in self._jobs.values() if j.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for job in self._jobs.values():
            job.task = None

    async def _close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
        self._conn = None


async def wait_for_lock(conn: Connection, name: str) -> None:
    """Block until this session holds the named job's lock (for one-off tools like replay)."""
    await conn.execute("SELECT pg_advisory_lock($1)", lock_key(name))
