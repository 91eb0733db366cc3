"""Workers started together on an empty database: one creates the tables while the others
wait for it, and every one of them starts."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from app import Olo, start
from eventlog.database import connect
from eventlog.settings import Settings

PROCESSES = 4


async def test_processes_started_together_on_an_empty_database_all_start(
    server_url: str, settings: Settings
) -> None:
    name = f"olo_race_{uuid.uuid4().hex[:12]}"
    admin = await connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
    small = settings.model_copy(update={"db_pool_min": 1, "db_pool_max": 2})
    try:
        started = await asyncio.gather(
            *(start(small, url) for _ in range(PROCESSES)), return_exceptions=True
        )
        failures = [s for s in started if isinstance(s, BaseException)]
        for olo in started:
            if not isinstance(olo, BaseException):
                await olo.close()
        assert failures == []
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_a_process_starting_on_a_busy_database_takes_no_table_lock(
    olo: Olo, settings: Settings, database_url: str, pg: asyncpg.Connection
) -> None:
    """A worker (re)started while the read models are written starts at once, and the
    traffic goes on meanwhile: making what exists already locks no table (CREATE INDEX IF NOT
    EXISTS takes a SHARE lock, ALTER TABLE an ACCESS EXCLUSIVE one, even when there is nothing
    to do; queued behind a long write they stalled every read of the table behind them)."""
    busy = await connect(database_url)
    try:
        writing = busy.transaction()
        await writing.start()
        for table in ("video_calls", "video_availability", "balance_accounts", "profile_devices"):
            await busy.execute(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE")  # a write under way
        small = settings.model_copy(update={"db_pool_min": 1, "db_pool_max": 2})
        second = await asyncio.wait_for(start(small, database_url), timeout=10)
        try:
            assert await asyncio.wait_for(pg.fetchval("SELECT count(*) FROM video_calls"), 2) == 0
        finally:
            await second.close()
        await writing.rollback()
    finally:
        await busy.close()
