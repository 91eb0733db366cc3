"""Gift read models: the catalog as it stands, and every gift sent. A gift sent in a call is
announced on the call's `callEvents` (both parties); the streamer's share on `earnings`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from domains.gift.aggregate import Gift, GiftSend
from domains.video.changes import CallChanged, EarningsChanged
from domains.video.projection import CALLS_CHANNEL, EARNINGS_CHANNEL, OTHER_EARNINGS_TODAY
from eventlog.database import Connection, SchemaConnection
from eventlog.projection import Recorded
from eventlog.text import storable

SOURCE = "gift"  # this domain's rows of video's other earnings per day

_CATALOG_TABLES = """
CREATE TABLE IF NOT EXISTS gift_catalog (
    gift_id uuid PRIMARY KEY,
    code text NOT NULL,
    name text NOT NULL,
    price bigint NOT NULL,
    streamer_share integer NOT NULL,
    image_url text NOT NULL,
    active boolean NOT NULL,
    position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS gift_catalog_active ON gift_catalog (price, name) WHERE active;
"""

_SEND_TABLES = """
CREATE TABLE IF NOT EXISTS gift_sends (
    send_id uuid PRIMARY KEY,
    sender_id uuid NOT NULL,
    recipient_id uuid NOT NULL,
    gift_id uuid NOT NULL,
    name text NOT NULL,
    coins bigint NOT NULL,
    streamer_coins bigint NOT NULL,
    call_id uuid,
    at double precision NOT NULL,
    position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS gift_sends_sender ON gift_sends (sender_id, at DESC);
CREATE INDEX IF NOT EXISTS gift_sends_recipient ON gift_sends (recipient_id, at DESC);
"""


class GiftCatalogProjection:
    """One row per gift, as last listed or edited."""

    name = "gift.catalog"
    topics = frozenset(
        {
            Gift.Listed.TOPIC,
            Gift.Updated.TOPIC,
            Gift.Deactivated.TOPIC,
            Gift.Activated.TOPIC,
        }
    )

    async def create_tables(self, conn: SchemaConnection) -> None:
        await conn.execute(_CATALOG_TABLES)

    async def clear(self, conn: Connection) -> None:
        await conn.execute("TRUNCATE gift_catalog")

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        for recorded in events:
            e, position = recorded.event, recorded.position
            match e:
                case Gift.Listed():
                    await conn.execute(
                        "INSERT INTO gift_catalog VALUES ($1, $2, $3, $4, $5, $6, true, $7) "
                        "ON CONFLICT DO NOTHING",
                        e.originator_id,
                        storable(e.code),
                        storable(e.name),
                        e.price,
                        e.streamer_share,
                        storable(e.image_url),
                        position,
                    )
                case Gift.Updated():
                    await conn.execute(
                        "UPDATE gift_catalog SET name = $2, price = $3, streamer_share = $4, "
                        "image_url = $5, position = $6 WHERE gift_id = $1",
                        e.originator_id,
                        storable(e.name),
                        e.price,
                        e.streamer_share,
                        storable(e.image_url),
                        position,
                    )
                case Gift.Deactivated() | Gift.Activated():
                    await conn.execute(
                        "UPDATE gift_catalog SET active = $2, position = $3 WHERE gift_id = $1",
                        e.originator_id,
                        isinstance(e, Gift.Activated),
                        position,
                    )
        return {}


class GiftSendProjection:
    """Every gift sent; announced on the call it was sent in and on the streamer's earnings."""

    name = "gift.sends"
    topics = frozenset({GiftSend.Sent.TOPIC})

    async def create_tables(self, conn: SchemaConnection) -> None:
        await conn.execute(_SEND_TABLES)

    async def clear(self, conn: Connection) -> None:
        await conn.execute("TRUNCATE gift_sends")
        await conn.execute("DELETE FROM video_earnings_daily_other WHERE source = $1", SOURCE)

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        calls: list[tuple[str, Any]] = []
        earnings: list[tuple[str, Any]] = []
        for recorded in events:
            e, position = recorded.event, recorded.position
            if not isinstance(e, GiftSend.Sent):
                continue
            inserted = await conn.fetchval(
                "INSERT INTO gift_sends VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
                "ON CONFLICT DO NOTHING RETURNING true",
                e.originator_id,
                e.sender_id,
                e.recipient_id,
                e.gift_id,
                storable(e.name),
                e.coins,
                e.streamer_coins,
                e.call_id,
                e.at,
                position,
            )
            if not inserted:
                continue
            call_id = str(e.call_id) if e.call_id is not None else None
            if call_id is not None:
                item = CallChanged(
                    "gift",
                    call_id,
                    e.at,
                    position,
                    side="caller",
                    coins=e.coins,
                    gift_id=str(e.gift_id),
                    gift_name=e.name,
                    sender_id=str(e.sender_id),
                )
                calls += [(str(user), item.to_json()) for user in (e.sender_id, e.recipient_id)]
            if e.streamer_coins:
                today = await _earned(conn, e)
                credit = EarningsChanged(
                    call_id, e.streamer_coins, 0, today, e.at, position, SOURCE, e.name
                )
                earnings.append((str(e.recipient_id), credit.to_json()))
        return {CALLS_CHANNEL: calls, EARNINGS_CHANNEL: earnings}


async def _earned(conn: Connection, e: GiftSend.Sent) -> int:
    """Add the share to the streamer's gift earnings of the day; their total for the day."""
    day = datetime.fromtimestamp(e.at, UTC).date()
    await conn.execute(
        "INSERT INTO video_earnings_daily_other (streamer_id, day, source, coins) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (streamer_id, day, source) DO UPDATE "
        "SET coins = video_earnings_daily_other.coins + $4",
        e.recipient_id,
        day,
        SOURCE,
        e.streamer_coins,
    )
    today = await conn.fetchval(
        "SELECT coalesce((SELECT coins FROM video_earnings_daily "
        f"WHERE streamer_id = $1 AND day = $2), 0) + {OTHER_EARNINGS_TODAY}",
        e.recipient_id,
        day,
    )
    return int(today)
