"""Operations of every process: the `/healthz`, `/readyz` and `/metrics` (Prometheus)
endpoints, and the garbage collector's tuning."""

from __future__ import annotations

import asyncio
import gc
import hmac
import logging
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from eventlog.followers import log_head, unapplied_ages
from eventlog.hub import StreamHub
from eventlog.leadership import Leadership
from eventlog.projection import LOG_READS
from eventlog.reader import LogReader
from eventlog.settings import Settings
from eventlog.store import EventStore
from eventlog.writer import GroupCommitWriter


class Running(Protocol):
    """What the ops endpoints look at in a running process."""

    pool: asyncpg.Pool
    writer: GroupCommitWriter
    store: EventStore
    hub: StreamHub
    leadership: Leadership | None
    reader: LogReader | None
    settings: Settings


class _Collector:
    def __init__(self, running: Callable[[], Running | None]) -> None:
        self.running = running
        # Read by the endpoint before each collect: the log's last position, and the age of
        # the oldest event not applied by the jobs at each position behind it.
        self.head = 0
        self.ages: dict[int, float] = {}

    def collect(self) -> Iterator[Any]:
        o = self.running()
        if o is None:
            return
        yield CounterMetricFamily("olo_writer_batches", "Group commits", value=o.writer.batches)
        yield CounterMetricFamily("olo_writer_commands", "Commands committed", value=o.writer.units)
        yield CounterMetricFamily(
            "olo_command_conflicts", "Command retries", value=o.store.conflicts
        )
        yield CounterMetricFamily(
            "olo_log_reads", "Queries of the log by its followers", value=LOG_READS.queries
        )
        yield CounterMetricFamily(
            "olo_stream_delivered", "Changes fanned out", value=o.hub.delivered
        )
        leading = GaugeMetricFamily("olo_leading", "Jobs this process leads", labels=["job"])
        for name in sorted(o.leadership.leading if o.leadership else ()):
            leading.add_metric([name], 1)
        yield leading
        yield from _follower_metrics(o.reader, self.head, self.ages)


def _follower_metrics(reader: LogReader | None, head: int, ages: dict[int, float]) -> Iterator[Any]:
    """Each led job's lag behind the log and, while its pages fail, where it is stuck."""
    followers = sorted((reader.followers if reader else {}).items())
    labels = ["job"]
    lag = GaugeMetricFamily("olo_job_lag_events", "Log positions a job is behind", labels=labels)
    seconds = GaugeMetricFamily(
        "olo_job_lag_seconds", "Age of the oldest event a job has not applied", labels=labels
    )
    failing = GaugeMetricFamily(
        "olo_job_failing_position", "Where a job's page fails (0: healthy)", labels=labels
    )
    stuck = GaugeMetricFamily(
        "olo_job_stuck_seconds", "How long a job's page has been failing", labels=labels
    )
    retries = CounterMetricFamily("olo_job_retries", "Failed pages tried again", labels=labels)
    for name, health in followers:
        lag.add_metric([name], max(0, head - health.position))
        seconds.add_metric([name], ages.get(health.position, 0.0) if health.position < head else 0)
        failing.add_metric([name], health.failing_at or 0)
        stuck.add_metric([name], health.stuck_for())
        retries.add_metric([name], health.retries)
    yield from (lag, seconds, failing, stuck, retries)


def stuck_jobs(olo: Running) -> dict[str, int]:
    """Jobs whose pages have been failing longer than `stuck_seconds`: their failing position."""
    limit = olo.settings.stuck_seconds
    followers = olo.reader.followers.values() if olo.reader else ()
    return {h.name: h.failing_at or 0 for h in followers if h.stuck_for() > limit}


def ops_router(running: Callable[[], Running | None], settings: Settings) -> APIRouter:
    """The endpoints; `running` gives the process once it has started (None before)."""
    router = APIRouter()
    registry = CollectorRegistry()
    collector = _Collector(running)
    registry.register(collector)
    allowed = metrics_access(settings)

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        refusal = allowed(request.headers.get("authorization"))
        if refusal is not None:
            return refusal
        olo = running()
        if olo is not None and olo.reader is not None and olo.reader.followers:
            followers = olo.reader.followers.values()
            try:
                collector.head = head = await log_head(olo.pool)
                behind = {h.position for h in followers if h.position < head}
                collector.ages = await unapplied_ages(olo.pool, olo.store.mapper, behind)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                pass  # the last known: lags read stale rather than no metrics at all
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        olo = running()
        if olo is None or not olo.hub.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            await olo.pool.fetchval("SELECT 1", timeout=2)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        if stuck := stuck_jobs(olo):
            return JSONResponse({"status": "stuck", "jobs": stuck}, status_code=503)
        return JSONResponse({"status": "ready"})

    return router


def metrics_access(settings: Settings) -> Callable[[str | None], Response | None]:
    """Who may read /metrics: with `OLO_METRICS_TOKEN` set, a bearer of that token (401
    otherwise); without it, anyone in development and no one in production (404, as if
    there were no such page)."""
    token = settings.metrics_token
    if not token:
        refused = None if settings.development else Response(status_code=404)
        return lambda _header: refused
    expected = f"Bearer {token}".encode()

    def check(header: str | None) -> Response | None:
        if header is not None and hmac.compare_digest(header.strip().encode(), expected):
            return None
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})

    return check


def tune_garbage_collector(settings: Settings) -> None:
    """Every command allocates events, dicts and futures; with CPython's default threshold
    (a young collection every 700 allocations) collections of a heap holding thousands of
    cached aggregates and connections took a third of a purchase's CPU time (bench/api).
    Objects alive after start-up are frozen out of collection altogether."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(settings.gc_young_threshold, 20, 50)


def log_task_stacks() -> None:
    """Log where every task of the process waits: on `kill -USR1 <worker pid>`, and when a
    shutdown does not finish (a job that ignores its cancel, a close that hangs)."""
    for task in asyncio.all_tasks():
        frames: list[str] = []
        awaited: Any = task.get_coro()
        while awaited is not None and hasattr(awaited, "cr_frame"):
            frame = awaited.cr_frame
            if frame is not None:
                frames.append(
                    f"  {frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}"
                )
            awaited = getattr(awaited, "cr_await", None)
        frames.append(f"  waits on {awaited!r}"[:300])
        logging.getLogger("olo").warning("task %s:\n%s", task.get_name(), "\n".join(frames))
