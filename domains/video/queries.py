"""Reads of the calls read model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from domains.billing.aggregate import Schedule
from eventlog.clock import Clock


@dataclass(frozen=True)
class ChargedCheckpoint:
    """A tariff checkpoint charged (caller) or credited (streamer) on a call."""

    at_second: int
    coins: int


@dataclass(frozen=True)
class CallRecord:
    call_id: UUID
    peer_id: UUID
    peer_name: str | None
    side: str  # "caller" or "streamer": the viewer's side
    kind: str
    status: str
    requested_at: float
    connected_at: float | None
    ended_at: float | None
    duration_seconds: float  # connected time
    coins: int  # charged to a caller, earned by a streamer
    end_reason: str | None
    billed_seconds: float | None = None  # the connected time the coins pay for (once ended)
    checkpoints: tuple[ChargedCheckpoint, ...] = ()  # the viewer's side's, in order


class CallQueries:
    def __init__(self, pool: asyncpg.Pool, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock

    async def history(
        self, user_id: UUID, *, limit: int = 20, before: float | None = None
    ) -> list[CallRecord]:
        """A user's calls on both sides, newest first (`before`: older than this time)."""
        rows = await self._pool.fetch(
            "SELECT c.*, p.public->>'display_name' AS peer_name, "
            "t.caller AS caller_schedule, t.streamer AS streamer_schedule FROM ("
            "  (SELECT * FROM video_calls WHERE caller_id = $1 AND requested_at < $2 "
            "   ORDER BY requested_at DESC LIMIT $3)"
            "  UNION ALL"
            "  (SELECT * FROM video_calls WHERE callee_id = $1 AND requested_at < $2 "
            "   ORDER BY requested_at DESC LIMIT $3)"
            ") c LEFT JOIN profile_users p ON p.user_id = "
            "  CASE WHEN c.caller_id = $1 THEN c.callee_id ELSE c.caller_id END "
            "LEFT JOIN billing_tariffs t ON t.kind = c.kind AND t.version = c.tariff_version "
            "ORDER BY c.requested_at DESC LIMIT $3",
            user_id,
            before if before is not None else float("inf"),
            limit,
        )
        return [_record(r, user_id) for r in rows]

    async def earned_today(self, streamer_id: UUID) -> int:
        """A streamer's earnings so far today (UTC): calls and other sources (gifts)."""
        day = datetime.fromtimestamp(self._clock.now(), UTC).date()
        coins = await self._pool.fetchval(
            "SELECT coalesce((SELECT coins FROM video_earnings_daily "
            "WHERE streamer_id = $1 AND day = $2), 0) + coalesce((SELECT sum(coins)::bigint "
            "FROM video_earnings_daily_other WHERE streamer_id = $1 AND day = $2), 0)",
            streamer_id,
            day,
        )
        return int(coins or 0)


def _record(r: asyncpg.Record, user_id: UUID) -> CallRecord:
    caller = r["caller_id"] == user_id
    connected, ended = r["connected_at"], r["ended_at"]
    duration = (ended - connected) if connected is not None and ended is not None else 0.0
    return CallRecord(
        call_id=r["call_id"],
        peer_id=r["callee_id"] if caller else r["caller_id"],
        peer_name=r["peer_name"],
        side="caller" if caller else "streamer",
        kind=r["kind"],
        status=r["status"],
        requested_at=r["requested_at"],
        connected_at=connected,
        ended_at=ended,
        duration_seconds=max(0.0, duration),
        coins=r["caller_coins"] if caller else r["streamer_coins"],
        end_reason=r["end_reason"],
        billed_seconds=r["billed_seconds"],
        checkpoints=_checkpoints(
            r["caller_schedule" if caller else "streamer_schedule"],
            r["caller_checkpoints" if caller else "streamer_checkpoints"],
        ),
    )


def _checkpoints(schedule: object, count: int) -> tuple[ChargedCheckpoint, ...]:
    if schedule is None or not count:
        return ()
    parsed = Schedule.of(schedule)  # type: ignore[arg-type]
    return tuple(
        ChargedCheckpoint(c.at_second, c.coins) for c in map(parsed.checkpoint, range(count))
    )
