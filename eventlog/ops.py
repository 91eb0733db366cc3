"""Operations of every process: the `/healthz`, `/readyz` and `/metrics` (Prometheus)
endpoints, and the garbage collector's tuning."""

from __future__ import annotations

import gc
import hmac
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from eventlog.hub import StreamHub
from eventlog.leadership import Leadership
from eventlog.projection import LOG_READS
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


class _Collector:
    def __init__(self, running: Callable[[], Running | None]) -> None:
        self.running = running

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


def ops_router(running: Callable[[], Running | None], settings: Settings) -> APIRouter:
    """The endpoints; `running` gives the process once it has started (None before)."""
    router = APIRouter()
    registry = CollectorRegistry()
    registry.register(_Collector(running))
    allowed = metrics_access(settings)

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        refusal = allowed(request.headers.get("authorization"))
        if refusal is not None:
            return refusal
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
        return JSONResponse({"status": "ready"})

    return router


def metrics_access(settings: Settings) -> Callable[[str | None], Response | None]:
    """Who may read /metrics: with `OLO_METRICS_TOKEN` set, a bearer of that token (401
    otherwise); without it, anyone in development and no one in production (404, as if
    there were no such page)."""
    token = settings.metrics_token
    if not token:
        refused = None if settings.dev_mode else Response(status_code=404)
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
