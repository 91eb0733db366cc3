"""Reads of the tariffs read model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from domains.billing.aggregate import Schedule


@dataclass(frozen=True)
class TariffVersion:
    kind: str
    version: int
    caller: Schedule
    streamer: Schedule
    published_at: datetime


class TariffQueries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def current(self) -> list[TariffVersion]:
        """The latest version of each call kind's tariff."""
        rows = await self.pool.fetch(
            "SELECT DISTINCT ON (kind) kind, version, caller, streamer, published_at "
            "FROM billing_tariffs ORDER BY kind, version DESC"
        )
        return [TariffVersion(r[0], r[1], Schedule.of(r[2]), Schedule.of(r[3]), r[4]) for r in rows]
