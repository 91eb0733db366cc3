"""asyncpg access to the log's database: pool, schema of olo's own tables and functions."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from eventlog.application import EVENTS_TABLE
from eventlog.text import storable_json

INSERT_FUNCTION = "olo_insert_events"

# A connection of our own or one borrowed from a pool: both run the same queries.
Connection = asyncpg.Connection | PoolConnectionProxy

# One round trip per batch: the library's table lock and NOTIFY, then a check that every
# event continues its aggregate's sequence with no hole and no duplicate, then the insert.
# A failed check raises unique_violation, so stale and gapped commands are treated alike.
_INSERT_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {INSERT_FUNCTION}(
    ids uuid[], versions bigint[], topics text[], states bytea[]
) RETURNS SETOF bigint LANGUAGE plpgsql AS $body$
DECLARE
    bad_id uuid;
BEGIN
    SET LOCAL lock_timeout = '10s';
    LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE;
    SELECT e.id INTO bad_id
    FROM (
        SELECT b.id, b.v,
               row_number() OVER (PARTITION BY b.id ORDER BY b.ord) AS rn,
               min(b.v) OVER (PARTITION BY b.id) AS first_v
        FROM unnest(ids, versions) WITH ORDINALITY AS b(id, v, ord)
    ) e
    LEFT JOIN LATERAL (
        SELECT max(t.originator_version) AS cur
        FROM {EVENTS_TABLE} t WHERE t.originator_id = e.id
    ) c ON true
    WHERE e.v <> coalesce(c.cur, 0) + e.rn
    LIMIT 1;
    IF bad_id IS NOT NULL THEN
        RAISE EXCEPTION 'olo version conflict on %', bad_id USING ERRCODE = 'unique_violation';
    END IF;
    NOTIFY {EVENTS_TABLE};
    RETURN QUERY
        INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state)
        SELECT b.id, b.v, b.t, b.s
        FROM unnest(ids, versions, topics, states) WITH ORDINALITY AS b(id, v, t, s, ord)
        ORDER BY b.ord
        RETURNING notification_id;
END;
$body$;
"""

_TRACKING_SQL = """
CREATE TABLE IF NOT EXISTS olo_tracking (
    name text PRIMARY KEY,
    position bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""


def connect_kwargs(database_url: str) -> dict[str, Any]:
    """asyncpg connection arguments for a URL, including pgserver's `?host=/socket/dir`."""
    url = urlsplit(database_url)
    query = parse_qs(url.query)
    host = query.get("host", [url.hostname or "127.0.0.1"])[0]
    return {
        "host": host,
        "port": url.port or 5432,
        "user": url.username or "postgres",
        "password": url.password or None,
        "database": url.path.lstrip("/") or "postgres",
    }


def _jsonb(value: object) -> str:
    # jsonb refuses the escape \u0000 that json.dumps writes for a NUL: such a string (let
    # into the log by an older release) is stored with U+FFFD instead (eventlog/text.py).
    return storable_json(json.dumps(value))


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=_jsonb, decoder=json.loads, schema="pg_catalog")


async def create_pool(database_url: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        **connect_kwargs(database_url),
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
    )
    assert pool is not None
    return pool


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset: olo leaves no session state on pooled connections (no SET, no
    LISTEN; a one-off tool that takes a session lock unlocks it itself), so the default
    reset query, a round trip on every release, is skipped. asyncpg itself still clears an
    unfinished transaction before this is called."""


async def connect(database_url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(**connect_kwargs(database_url))
    await _init_connection(conn)
    return conn


SCHEMA_LOCK = 0x6F6C6F5F73636800  # "olo_sch": one process at a time creates tables


@contextlib.asynccontextmanager
async def schema_lock(database_url: str) -> AsyncIterator[None]:
    """Hold the schema lock: workers started together would otherwise race their
    `CREATE ... IF NOT EXISTS` ("tuple concurrently updated"), and one would die."""
    conn = await asyncpg.connect(**connect_kwargs(database_url))
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", SCHEMA_LOCK)
        yield
    finally:
        await conn.close()  # the session's lock goes with it


async def create_log_schema(conn: Connection) -> None:
    """olo's additions to the library's table: the batch insert function and tracking."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7310001)")
        await conn.execute(_INSERT_FUNCTION_SQL)
        await conn.execute(_TRACKING_SQL)


class SchemaConnection(Protocol):
    """What making a read model's tables may do: run DDL (a connection, or `DdlOnce`)."""

    async def execute(self, statement: str, *args: Any) -> str: ...


class DdlOnce:
    """A connection for making tables that runs each DDL text once per database.

    `CREATE INDEX IF NOT EXISTS` takes its table's SHARE lock and `ALTER TABLE ... ADD COLUMN
    IF NOT EXISTS` its ACCESS EXCLUSIVE lock even when there is nothing to do. Run at every
    start, they queued behind whatever wrote the table, and every read and write of it queued
    behind them: a worker started during traffic stalled it (and itself). A text that ran
    once is recorded by its digest and skipped after; a changed text (a new column) runs once.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._applied: set[str] | None = None

    async def execute(self, statement: str, *args: Any) -> str:
        digest = hashlib.sha256(statement.encode()).hexdigest()
        if self._applied is None:
            await self._conn.execute(_DDL_APPLIED_SQL)  # IF NOT EXISTS of a table: no lock
            self._applied = {
                r[0] for r in await self._conn.fetch("SELECT digest FROM olo_ddl_applied")
            }
        if digest in self._applied:
            return "SKIPPED"
        result = await self._conn.execute(statement, *args)
        await self._conn.execute(
            "INSERT INTO olo_ddl_applied (digest) VALUES ($1) ON CONFLICT DO NOTHING", digest
        )
        self._applied.add(digest)
        return str(result)


_DDL_APPLIED_SQL = """
CREATE TABLE IF NOT EXISTS olo_ddl_applied (
    digest text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
