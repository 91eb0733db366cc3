"""Shared fixtures: a real PostgreSQL (OLO_TEST_DATABASE_URL, else embedded pgserver), a fresh
database per test made from a prepared template, and olo started on it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from fakes import serving
from fastapi import FastAPI

from app import Olo, create_app, projections, start
from eventlog.application import open_event_log
from eventlog.database import connect, create_log_schema
from eventlog.settings import Settings

TEMPLATE = f"olo_template_{os.getpid()}"


def _server_url() -> str:
    url = os.environ.get("OLO_TEST_DATABASE_URL")
    if url:
        return url
    import pgserver

    data = Path(__file__).resolve().parent.parent / ".olo" / "test-pgdata"
    data.mkdir(parents=True, exist_ok=True)
    return str(pgserver.get_server(data, cleanup_mode="stop").get_uri())


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def server_url() -> str:
    return _server_url()


@pytest.fixture(scope="session")
async def template(server_url: str) -> AsyncIterator[str]:
    admin = await connect(server_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
    await admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
    url = _with_database(server_url, TEMPLATE)
    await asyncio.to_thread(lambda: open_event_log(url).close())
    conn = await connect(url)
    await create_log_schema(conn)
    for projection in projections():
        await projection.create_tables(conn)
    await conn.close()
    yield TEMPLATE
    await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
    await admin.close()


@pytest.fixture
async def database_url(server_url: str, template: str) -> AsyncIterator[str]:
    """A fresh database for one test."""
    name = f"olo_test_{uuid.uuid4().hex[:12]}"
    admin = await connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _with_database(server_url, name)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture
def settings() -> Settings:
    """Development mode (emulator tokens, sandbox store, dev secrets), as every test but
    tests/security/'s runs."""
    return Settings(
        mode="development",
        firebase_auth_emulator_host="127.0.0.1:9099",
        leadership_poll_seconds=0.2,
    )


@pytest.fixture
async def olo(settings: Settings, database_url: str) -> AsyncIterator[Olo]:
    running = await start(settings, database_url)
    yield running
    await running.close()


@pytest.fixture
async def pg(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await connect(database_url)
    yield conn
    await conn.close()


@pytest.fixture
def serve() -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[str]]:
    """`async with serve(app) as base_url:` for tests that build their own app."""
    return serving


@pytest.fixture
async def api(settings: Settings, database_url: str) -> AsyncIterator[str]:
    """olo's HTTP server (API + worker) on a loopback port; yields its base URL."""
    async with serving(create_app(settings, database_url)) as base_url:
        yield base_url


@pytest.fixture(autouse=True)
def _firebase_emulator_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    yield
