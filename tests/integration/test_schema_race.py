"""Workers started together on an empty database: one creates the tables while the others
wait for it, and every one of them starts."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlsplit, urlunsplit

from app import start
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
