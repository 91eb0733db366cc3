"""Blocklist read models: the active blocks, and every block ever made with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from domains.blocklist.aggregate import Block
from domains.blocklist.standing import Standing
from eventlog.database import Connection, SchemaConnection
from eventlog.projection import Recorded
from eventlog.text import storable

_TABLES = """
CREATE TABLE IF NOT EXISTS blocklist_blocks (
    blocker_id uuid NOT NULL,
    blocked_id uuid NOT NULL,
    reason text NOT NULL,
    blocked_at timestamptz NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX IF NOT EXISTS blocklist_blocks_blocked ON blocklist_blocks (blocked_id);
CREATE TABLE IF NOT EXISTS blocklist_reports (
    blocker_id uuid NOT NULL,
    blocked_id uuid NOT NULL,
    version bigint NOT NULL,
    position bigint NOT NULL,
    reason text NOT NULL,
    blocked_at timestamptz NOT NULL,
    unblocked_at timestamptz,
    PRIMARY KEY (blocker_id, blocked_id, version)
);
CREATE INDEX IF NOT EXISTS blocklist_reports_blocked ON blocklist_reports (blocked_id);
"""

Pair = tuple[UUID, UUID]


class BlocklistProjection:
    """A page of Blocked/Unblocked events: the last event of each pair decides its row in
    `blocklist_blocks`; every Blocked becomes a report, closed by the Unblocked after it."""

    name = "blocklist"
    topics = frozenset({Block.Blocked.TOPIC, Block.Unblocked.TOPIC})

    async def create_tables(self, conn: SchemaConnection) -> None:
        await conn.execute(_TABLES)

    async def clear(self, conn: Connection) -> None:
        await conn.execute("TRUNCATE blocklist_blocks, blocklist_reports")

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        active: dict[Pair, tuple[str, datetime, int] | None] = {}  # None: unblocked
        reports: dict[Pair, list[list[Any]]] = {}
        closed_earlier: list[tuple[UUID, UUID, datetime]] = []  # opened on an earlier page
        for recorded in events:
            e, position = recorded.event, recorded.position
            pair = (e.blocker_id, e.blocked_id)
            if isinstance(e, Block.Blocked):
                active[pair] = (storable(e.reason), e.timestamp, position)
                report = [
                    *pair,
                    e.originator_version,
                    position,
                    storable(e.reason),
                    e.timestamp,
                    None,
                ]
                reports.setdefault(pair, []).append(report)
            elif isinstance(e, Block.Unblocked):
                active[pair] = None
                if reports.get(pair):
                    reports[pair][-1][6] = e.timestamp
                else:
                    closed_earlier.append((*pair, e.timestamp))
        await _write_active(conn, active)
        await _write_reports(conn, reports, closed_earlier)
        return {}


async def _write_active(
    conn: Connection, active: dict[Pair, tuple[str, datetime, int] | None]
) -> None:
    gone = [pair for pair, row in active.items() if row is None]
    kept = [(*pair, *row) for pair, row in active.items() if row is not None]
    if gone:
        await conn.execute(
            "DELETE FROM blocklist_blocks b USING unnest($1::uuid[], $2::uuid[]) AS g(r, d) "
            "WHERE b.blocker_id = g.r AND b.blocked_id = g.d",
            [p[0] for p in gone],
            [p[1] for p in gone],
        )
    if kept:
        await conn.executemany(
            "INSERT INTO blocklist_blocks (blocker_id, blocked_id, reason, blocked_at, position) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (blocker_id, blocked_id) DO UPDATE SET "
            "reason = excluded.reason, blocked_at = excluded.blocked_at, "
            "position = excluded.position",
            kept,
        )


async def _write_reports(
    conn: Connection,
    reports: dict[Pair, list[list[Any]]],
    closed_earlier: list[tuple[UUID, UUID, datetime]],
) -> None:
    # Closing first: a report opened on an earlier page is the pair's only open one.
    if closed_earlier:
        await conn.executemany(
            "UPDATE blocklist_reports SET unblocked_at = $3 "
            "WHERE blocker_id = $1 AND blocked_id = $2 AND unblocked_at IS NULL",
            closed_earlier,
        )
    rows = [tuple(r) for pair_reports in reports.values() for r in pair_reports]
    if rows:
        await conn.copy_records_to_table("blocklist_reports", records=rows, columns=_REPORT_COLUMNS)


_REPORT_COLUMNS = [
    "blocker_id",
    "blocked_id",
    "version",
    "position",
    "reason",
    "blocked_at",
    "unblocked_at",
]


class SuspensionsProjection:
    """Who is suspended pending review now (feeds leave them out)."""

    name = "blocklist.suspensions"
    topics = frozenset({Standing.Suspended.TOPIC, Standing.Lifted.TOPIC})

    async def create_tables(self, conn: SchemaConnection) -> None:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS blocklist_suspensions ("
            " user_id uuid PRIMARY KEY, suspended_at double precision NOT NULL,"
            " position bigint NOT NULL)"
        )

    async def clear(self, conn: Connection) -> None:
        await conn.execute("TRUNCATE blocklist_suspensions")

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        last: dict[UUID, tuple[float, int] | None] = {}  # None: lifted
        for recorded in events:
            e = recorded.event
            if isinstance(e, Standing.Suspended):
                last[e.user_id] = (e.at, recorded.position)
            elif isinstance(e, Standing.Lifted):
                last[e.user_id] = None
        lifted = [user for user, row in last.items() if row is None]
        if lifted:
            await conn.execute(
                "DELETE FROM blocklist_suspensions WHERE user_id = ANY($1::uuid[])", lifted
            )
        suspended = [(user, *row) for user, row in last.items() if row is not None]
        if suspended:
            await conn.executemany(
                "INSERT INTO blocklist_suspensions (user_id, suspended_at, position) "
                "VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE SET "
                "suspended_at = excluded.suspended_at, position = excluded.position",
                suspended,
            )
        return {}
