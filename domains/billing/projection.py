"""Every version of every tariff, as published."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domains.billing.aggregate import CallKind, Tariff, tariff_id_of
from eventlog.database import Connection, SchemaConnection
from eventlog.projection import Recorded

_TABLES = """
CREATE TABLE IF NOT EXISTS billing_tariffs (
    kind text NOT NULL,
    version bigint NOT NULL,
    caller jsonb NOT NULL,
    streamer jsonb NOT NULL,
    published_at timestamptz NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (kind, version)
);
"""


class TariffProjection:
    name = "billing.tariffs"
    topics = frozenset({Tariff.Published.TOPIC, Tariff.Revised.TOPIC})

    async def create_tables(self, conn: SchemaConnection) -> None:
        await conn.execute(_TABLES)

    async def clear(self, conn: Connection) -> None:
        await conn.execute("TRUNCATE billing_tariffs")

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        for recorded in events:
            e = recorded.event
            kind = _KIND_OF[e.originator_id]
            await conn.execute(
                "INSERT INTO billing_tariffs VALUES ($1, $2, $3, $4, $5, $6) "
                "ON CONFLICT DO NOTHING",
                kind,
                e.originator_version,
                e.caller,
                e.streamer,
                e.timestamp,
                recorded.position,
            )
        return {}


_KIND_OF = {tariff_id_of(kind): kind.value for kind in CallKind}
