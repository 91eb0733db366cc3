"""Reads of the gift read models."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class CatalogGift:
    gift_id: UUID
    code: str
    name: str
    price: int
    streamer_share: int
    image_url: str
    active: bool


class GiftQueries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def active(self) -> list[CatalogGift]:
        """The gifts on sale, cheapest first (then by name)."""
        rows = await self.pool.fetch(
            "SELECT gift_id, code, name, price, streamer_share, image_url, active "
            "FROM gift_catalog WHERE active ORDER BY price, name, gift_id"
        )
        return [CatalogGift(*r) for r in rows]
