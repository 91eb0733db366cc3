"""Reads of the blocklist read model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class BlockedUser:
    user_id: UUID
    display_name: str | None  # None until the profile read model has the user
    reason: str
    blocked_at: datetime


class BlocklistQueries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def blocked(self, user_id: UUID, *, limit: int = 1000) -> list[BlockedUser]:
        """The users `user_id` blocks, newest first."""
        rows = await self.pool.fetch(
            "SELECT b.blocked_id, u.public->>'display_name', b.reason, b.blocked_at "
            "FROM blocklist_blocks b LEFT JOIN profile_users u ON u.user_id = b.blocked_id "
            "WHERE b.blocker_id = $1 ORDER BY b.position DESC LIMIT $2",
            user_id,
            limit,
        )
        return [BlockedUser(*r) for r in rows]

    async def suspended(self, user_ids: list[UUID]) -> set[UUID]:
        """Which of `user_ids` are suspended pending review (feeds leave them out)."""
        rows = await self.pool.fetch(
            "SELECT user_id FROM blocklist_suspensions WHERE user_id = ANY($1::uuid[])",
            user_ids,
        )
        return {r[0] for r in rows}
