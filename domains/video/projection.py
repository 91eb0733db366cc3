"""Read models of calls: every call with its outcome and coins, streamers' earnings per day,
streamers' availability; and the live `callEvents` / `earnings` streams."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domains.video.aggregate import Call, CallStatus, Side
from domains.video.changes import CallChanged, EarningsChanged
from domains.video.lines import Availability
from eventlog.database import Connection, SchemaConnection
from eventlog.projection import Recorded

CALLS_CHANNEL = "olo_calls"
EARNINGS_CHANNEL = "olo_earnings"

_TABLES = """
CREATE TABLE IF NOT EXISTS video_calls (
    call_id uuid PRIMARY KEY,
    kind text NOT NULL,
    caller_id uuid NOT NULL,
    callee_id uuid NOT NULL,
    roulette_id uuid,
    status text NOT NULL,
    requested_at double precision NOT NULL,
    accepted_at double precision,
    connected_at double precision,
    ended_at double precision,
    end_reason text,
    tariff_version integer,
    caller_coins bigint NOT NULL DEFAULT 0,
    streamer_coins bigint NOT NULL DEFAULT 0,
    position bigint NOT NULL
);
-- What the coins pay for: billed seconds (at the end) and each side's checkpoints charged.
ALTER TABLE video_calls ADD COLUMN IF NOT EXISTS billed_seconds double precision;
ALTER TABLE video_calls ADD COLUMN IF NOT EXISTS caller_checkpoints integer NOT NULL DEFAULT 0;
ALTER TABLE video_calls ADD COLUMN IF NOT EXISTS streamer_checkpoints integer NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS video_calls_caller ON video_calls (caller_id, requested_at DESC);
CREATE INDEX IF NOT EXISTS video_calls_callee ON video_calls (callee_id, requested_at DESC);
CREATE INDEX IF NOT EXISTS video_calls_open ON video_calls (call_id)
    WHERE status IN ('ringing', 'accepted', 'connected');
CREATE TABLE IF NOT EXISTS video_earnings_daily (
    streamer_id uuid NOT NULL,
    day date NOT NULL,
    coins bigint NOT NULL,
    PRIMARY KEY (streamer_id, day)
);
-- A streamer's earnings per day from other sources (gifts, ...), a row per source: the
-- projection of each domain that credits them writes and clears its own source's rows.
CREATE TABLE IF NOT EXISTS video_earnings_daily_other (
    streamer_id uuid NOT NULL,
    day date NOT NULL,
    source text NOT NULL,
    coins bigint NOT NULL,
    PRIMARY KEY (streamer_id, day, source)
);
CREATE TABLE IF NOT EXISTS video_availability (
    user_id uuid PRIMARY KEY,
    calls boolean NOT NULL,
    roulette boolean NOT NULL
);
-- Availability.Changed names only its aggregate, not the user: this is how it finds the row.
ALTER TABLE video_availability ADD COLUMN IF NOT EXISTS availability_id uuid;
CREATE UNIQUE INDEX IF NOT EXISTS video_availability_id ON video_availability (availability_id);
CREATE UNLOGGED TABLE IF NOT EXISTS video_presence (
    user_id uuid NOT NULL,
    instance uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, instance)
);
-- Presence transitions (presence.py): who is online, since the start of their unbroken
-- stretch online (the gallery pages through it in that order).
CREATE UNLOGGED TABLE IF NOT EXISTS video_online (
    user_id uuid PRIMARY KEY,
    since timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS video_online_since ON video_online (since, user_id);
"""

# Which callEvents item each lifecycle event becomes, and who receives it.
_LIFECYCLE: dict[type[Any], tuple[str, str]] = {
    Call.Requested: ("incoming", "both"),
    Call.Accepted: ("accepted", "both"),
    Call.Declined: ("declined", "both"),
    Call.Missed: ("missed", "both"),
    Call.Cancelled: ("cancelled", "both"),
    Call.Connected: ("connected", "both"),
    Call.Ended: ("ended", "both"),
    Call.EndingSoon: ("endingSoon", "caller"),
}
_Changed = (
    Call.Accepted | Call.Declined | Call.Missed | Call.Cancelled | Call.Connected | Call.Ended
)
_Timed = _Changed | Call.Requested | Call.Charged | Call.EndingSoon


# Today's earnings from other sources, for streamer $1 on day $2 (added to the calls').
OTHER_EARNINGS_TODAY = (
    "coalesce((SELECT sum(coins)::bigint FROM video_earnings_daily_other "
    "WHERE streamer_id = $1 AND day = $2), 0)"
)


def shard_of(call_id: UUID, shards: int) -> int:
    return call_id.int % shards


class CallProjection:
    """One row per call, updated a page at a time; each change is announced per party."""

    name = "video.calls"
    topics = frozenset(
        {
            Call.Requested.TOPIC,
            Call.Accepted.TOPIC,
            Call.Declined.TOPIC,
            Call.Missed.TOPIC,
            Call.Cancelled.TOPIC,
            Call.Connected.TOPIC,
            Call.Charged.TOPIC,
            Call.EndingSoon.TOPIC,
            Call.Ended.TOPIC,
            Availability.Set.TOPIC,
            Availability.Changed.TOPIC,
        }
    )

    def __init__(self) -> None:
        self._parties: dict[UUID, tuple[UUID, UUID]] = {}

    async def create_tables(self, conn: SchemaConnection) -> None:
        await conn.execute(_TABLES)

    async def clear(self, conn: Connection) -> None:
        await conn.execute("TRUNCATE video_calls, video_earnings_daily, video_availability")

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        calls: list[tuple[str, Any]] = []
        earnings: list[tuple[str, Any]] = []
        # caller coins, position, checkpoints
        charged: dict[UUID, list[int]] = defaultdict(lambda: [0, 0, 0])
        for recorded in events:
            e, position = recorded.event, recorded.position
            match e:
                case Availability.Set() | Availability.Changed():
                    await self._availability(conn, e)
                case Call.Charged():
                    if Side(e.side) is Side.CALLER:
                        totals = charged[e.originator_id]
                        totals[0] += e.coins
                        totals[1] = position
                        totals[2] += 1
                    await self._announce_charge(conn, e, position, calls, earnings)
                case Call.Requested():
                    await self._requested(conn, e, position)
                case (
                    Call.Accepted()
                    | Call.Declined()
                    | Call.Missed()
                    | Call.Cancelled()
                    | Call.Connected()
                    | Call.Ended()
                ):
                    await self._changed(conn, e, position)
            if type(e) in _LIFECYCLE:
                kind, to = _LIFECYCLE[type(e)]
                for user in await self._recipients(conn, e.originator_id, to):
                    calls.append((str(user), _item(kind, e, position).to_json()))
        if charged:
            await conn.execute(
                "UPDATE video_calls c SET caller_coins = c.caller_coins + u.a, position = u.p, "
                "caller_checkpoints = c.caller_checkpoints + u.n "
                "FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::int[]) AS u(id, a, p, n) "
                "WHERE c.call_id = u.id",
                list(charged),
                [v[0] for v in charged.values()],
                [v[1] for v in charged.values()],
                [v[2] for v in charged.values()],
            )
        return {CALLS_CHANNEL: calls, EARNINGS_CHANNEL: earnings}

    async def _availability(
        self, conn: Connection, e: Availability.Set | Availability.Changed
    ) -> None:
        if isinstance(e, Availability.Set):
            await conn.execute(
                "INSERT INTO video_availability (user_id, availability_id, calls, roulette) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE "
                "SET availability_id = $2, calls = $3, roulette = $4",
                e.user_id,
                e.originator_id,
                e.calls,
                e.roulette,
            )
        else:  # the row its Set wrote (a rebuild written before this column needs a replay)
            await conn.execute(
                "UPDATE video_availability SET calls = $2, roulette = $3 "
                "WHERE availability_id = $1",
                e.originator_id,
                e.calls,
                e.roulette,
            )

    async def _requested(self, conn: Connection, e: Call.Requested, position: int) -> None:
        self._parties[e.originator_id] = (e.caller_id, e.callee_id)
        await conn.execute(
            "INSERT INTO video_calls (call_id, kind, caller_id, callee_id, "
            "roulette_id, status, requested_at, position) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            e.originator_id,
            str(e.kind),
            e.caller_id,
            e.callee_id,
            e.roulette_id,
            CallStatus.RINGING.value,
            e.at,
            position,
        )

    async def _changed(self, conn: Connection, e: _Changed, position: int) -> None:
        """A change of the call's status, and the column that keeps when it happened."""
        match e:
            case Call.Accepted():
                status, column = CallStatus.ACCEPTED, "accepted_at"
            case Call.Connected():
                status, column = CallStatus.CONNECTED, "connected_at"
            case Call.Declined():
                status, column = CallStatus.DECLINED, "ended_at"
            case Call.Missed():
                status, column = CallStatus.MISSED, "ended_at"
            case Call.Cancelled():
                status, column = CallStatus.CANCELLED, "ended_at"
            case Call.Ended():
                status, column = CallStatus.ENDED, "ended_at"
        await conn.execute(
            f"UPDATE video_calls SET status = $2, {column} = $3, position = $4, "
            "end_reason = coalesce($5, end_reason), "
            "tariff_version = coalesce($6, tariff_version), "
            "caller_coins = caller_coins - $7, billed_seconds = coalesce($8, billed_seconds), "
            # a refund gives back the connect charge, the one checkpoint taken before connecting
            "caller_checkpoints = caller_checkpoints - CASE WHEN $7 > 0 THEN 1 ELSE 0 END "
            "WHERE call_id = $1",
            e.originator_id,
            status.value,
            e.at,
            position,
            str(e.reason) if isinstance(e, Call.Ended) else None,
            e.tariff_version if isinstance(e, Call.Accepted) else None,
            e.refunded if isinstance(e, Call.Ended) else 0,
            e.billed_seconds if isinstance(e, Call.Ended) else None,
        )

    async def _recipients(self, conn: Connection, call_id: UUID, to: str) -> list[UUID]:
        parties = self._parties.get(call_id)
        if parties is None:
            row = await conn.fetchrow(
                "SELECT caller_id, callee_id FROM video_calls WHERE call_id = $1", call_id
            )
            if row is None:
                return []
            parties = self._parties[call_id] = (row["caller_id"], row["callee_id"])
            if len(self._parties) > 100_000:
                self._parties.clear()
        return [parties[0]] if to == "caller" else list(parties)

    async def _announce_charge(
        self,
        conn: Connection,
        e: Call.Charged,
        position: int,
        calls: list[tuple[str, Any]],
        earnings: list[tuple[str, Any]],
    ) -> None:
        parties = await self._recipients(conn, e.originator_id, "both")
        if not parties:
            return
        caller, streamer = parties
        side = Side(e.side)
        item = replace(_item("charged", e, position), side=side.value, coins=e.coins)
        calls.append((str(caller if side is Side.CALLER else streamer), item.to_json()))
        if side is Side.CALLER:  # paid time moved on: both get a token valid for it
            renewed = _item("tokenRenewed", e, position).to_json()
            calls += [(str(caller), renewed), (str(streamer), renewed)]
        if side is Side.STREAMER:
            day = datetime.fromtimestamp(e.at, UTC).date()
            call_total = await conn.fetchval(
                "UPDATE video_calls SET streamer_coins = streamer_coins + $2, position = $3, "
                "streamer_checkpoints = streamer_checkpoints + 1 "
                "WHERE call_id = $1 RETURNING streamer_coins",
                e.originator_id,
                e.coins,
                position,
            )
            today = await conn.fetchval(
                "WITH d AS (INSERT INTO video_earnings_daily (streamer_id, day, coins) "
                "VALUES ($1, $2, $3) ON CONFLICT (streamer_id, day) DO UPDATE "
                "SET coins = video_earnings_daily.coins + $3 RETURNING coins) "
                f"SELECT (SELECT coins FROM d) + {OTHER_EARNINGS_TODAY}",
                streamer,
                day,
                e.coins,
            )
            credit = EarningsChanged(
                str(e.originator_id), e.coins, call_total, today, e.at, position
            )
            earnings.append((str(streamer), credit.to_json()))


def _item(kind: str, e: _Timed, position: int) -> CallChanged:
    reason = str(e.reason) if isinstance(e, Call.Ended) else None
    return CallChanged(kind, str(e.originator_id), e.at, position, reason=reason)
