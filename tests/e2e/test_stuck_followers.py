"""Followers never stall silently: a projection that cannot apply an event (declared here,
served through the extension seam) retries with backoff, shows its failing position and lag
on /metrics, makes /readyz answer 503 once it has been stuck `stuck_seconds`, and recovers
(ready, failing position cleared) when the failure stops; the other jobs go on meanwhile."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from graphql_client import data_of, post, token_for
from prometheus_client.parser import text_string_to_metric_families

from app import Extension, Olo, Services, create_app
from cli import serve_worker_ops
from domains.profile.aggregate import User
from eventlog.database import Connection, SchemaConnection
from eventlog.projection import Recorded
from eventlog.settings import Settings
from eventlog.wiring import Domain

JOB = "test.flaky"


class FlakyProjection:
    """Names of users; it cannot apply a user called Poison while `refuse` is set."""

    name = JOB
    topics = frozenset({User.Registered.TOPIC})
    refuse = True

    async def create_tables(self, conn: SchemaConnection) -> None:
        await conn.execute("CREATE TABLE IF NOT EXISTS test_flaky (name text PRIMARY KEY)")

    async def clear(self, conn: Connection) -> None:
        await conn.execute("TRUNCATE test_flaky")

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        for recorded in events:
            if recorded.event.display_name == "Poison" and FlakyProjection.refuse:
                raise RuntimeError("cannot apply Poison")
            await conn.execute(
                "INSERT INTO test_flaky VALUES ($1) ON CONFLICT DO NOTHING",
                recorded.event.display_name,
            )
        return {}


FLAKY = Domain[Services]("test_flaky", projections=(FlakyProjection,))


def job_samples(text: str) -> dict[str, float]:
    """This test job's olo_job_* samples, by metric name."""
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("olo_job_") and sample.labels.get("job") == JOB
    }


async def until(check: Callable[[], Any], what: str, within: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if found := await check():
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"never: {what}")


async def test_a_failing_projection_retries_shows_where_it_is_stuck_and_recovers(
    database_url: str,
    pg: asyncpg.Connection,
    serve: Callable[[FastAPI], AbstractAsyncContextManager[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(
        mode="development",
        firebase_auth_emulator_host="127.0.0.1:9099",
        leadership_poll_seconds=0.2,
        follower_retry_seconds=0.1,
        follower_retry_max_seconds=0.4,
        stuck_seconds=1.5,
    )
    FlakyProjection.refuse = True
    caplog.set_level(logging.ERROR, logger="eventlog.followers")
    app = create_app(settings, database_url, extensions=[Extension(FLAKY)])
    async with serve(app) as api, httpx.AsyncClient(base_url=api) as client:
        data_of(await post(api, "{ me { id } }", None, token_for("first", name="First")))
        data_of(await post(api, "{ me { id } }", None, token_for("poison", name="Poison")))
        poison_at = await pg.fetchval(
            "SELECT max(notification_id) FROM eventlog_events WHERE topic = $1",
            User.Registered.TOPIC,
        )

        async def failing() -> dict[str, float] | None:
            samples = job_samples((await client.get("/metrics")).text)
            return samples if samples.get("olo_job_failing_position") == poison_at else None

        samples = await until(failing, "the failing position on /metrics")
        assert samples["olo_job_lag_events"] >= 1
        assert (await client.get("/readyz")).status_code == 200  # not stuck long enough yet

        async def stuck() -> httpx.Response | None:
            ready = await client.get("/readyz")
            return ready if ready.status_code == 503 else None

        ready = await until(stuck, "/readyz 503")
        assert ready.json() == {"status": "stuck", "jobs": {JOB: poison_at}}
        samples = job_samples((await client.get("/metrics")).text)
        assert samples["olo_job_lag_seconds"] >= 1.5
        assert samples["olo_job_stuck_seconds"] >= 1.5
        assert samples["olo_job_retries_total"] >= 3
        # Once per backoff step, each naming the position: not a log line per poll.
        steps = [r for r in caplog.records if f"at position {poison_at}" in r.getMessage()]
        assert 3 <= len(steps) <= samples["olo_job_retries_total"] + 1
        # The other jobs went on: the profile projection has both users.
        assert await pg.fetchval("SELECT count(*) FROM profile_users") == 2
        assert await pg.fetchval("SELECT count(*) FROM test_flaky") == 1  # First, not Poison

        FlakyProjection.refuse = False

        async def recovered() -> dict[str, float] | None:
            if (await client.get("/readyz")).status_code != 200:
                return None
            samples = job_samples((await client.get("/metrics")).text)
            return samples if samples["olo_job_failing_position"] == 0 else None

        samples = await until(recovered, "recovery")
        assert samples["olo_job_lag_events"] == 0
        assert samples["olo_job_lag_seconds"] == 0
        assert await pg.fetchval("SELECT count(*) FROM test_flaky") == 2
        assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_a_worker_process_serves_its_jobs_lag_on_its_ops_port(olo: Olo) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    olo.start_worker()
    serving = asyncio.create_task(serve_worker_ops(olo.settings, olo, port))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def ready() -> httpx.Response | None:
                try:
                    response = await client.get("/readyz")
                except httpx.TransportError:
                    return None
                return response if response.status_code == 200 else None

            await until(ready, "the worker's /readyz")

            async def lag_shown() -> str | None:
                text = (await client.get("/metrics")).text
                return text if 'olo_job_lag_events{job="profile"} 0.0' in text else None

            await until(lag_shown, "the profile projection's lag on the worker's /metrics")
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
