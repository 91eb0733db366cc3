"""Reads of the favorites read model, batch-shaped for cards (the gallery reads a page of
cards' favorite flags and followers counts in one query each)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class FavoriteCard:
    """A favorite as its follower sees it: a small public card."""

    user_id: UUID
    display_name: str | None  # None until the profile read model has the user
    avatar_url: str | None
    online: bool
    followers: int
    added_at: datetime
    position: int  # the cursor: the log position of the (last) add


class FavoritesQueries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def favorites(
        self, follower_id: UUID, *, before_position: int | None = None, limit: int = 20
    ) -> list[FavoriteCard]:
        """The users `follower_id` follows, newest first; `before_position` is the cursor
        of the previous page."""
        rows = await self.pool.fetch(
            "SELECT f.favorite_id, u.public->>'display_name', u.public->>'avatar_url', "
            "EXISTS (SELECT 1 FROM video_presence p "
            "        WHERE p.user_id = f.favorite_id AND p.expires_at > now()), "
            "coalesce(c.followers, 0), f.added_at, f.position "
            "FROM favorites_pairs f "
            "LEFT JOIN profile_users u ON u.user_id = f.favorite_id "
            "LEFT JOIN favorites_followers c ON c.user_id = f.favorite_id "
            "WHERE f.follower_id = $1 AND f.position < $2 "
            "ORDER BY f.position DESC LIMIT $3",
            follower_id,
            before_position if before_position is not None else 2**62,
            limit,
        )
        return [FavoriteCard(*r) for r in rows]

    async def is_favorite(self, viewer_id: UUID, user_ids: list[UUID]) -> set[UUID]:
        """Which of `user_ids` the viewer follows."""
        rows = await self.pool.fetch(
            "SELECT favorite_id FROM favorites_pairs "
            "WHERE follower_id = $1 AND favorite_id = ANY($2::uuid[])",
            viewer_id,
            user_ids,
        )
        return {r[0] for r in rows}

    async def followers_count(self, user_ids: list[UUID]) -> dict[UUID, int]:
        """Followers of each of `user_ids` (0 for those nobody follows)."""
        rows = await self.pool.fetch(
            "SELECT user_id, followers FROM favorites_followers WHERE user_id = ANY($1::uuid[])",
            user_ids,
        )
        counts = dict.fromkeys(user_ids, 0)
        counts.update({r[0]: int(r[1]) for r in rows})
        return counts

    async def followers_of(self, user_id: UUID) -> list[UUID]:
        """Everyone who follows `user_id`."""
        rows = await self.pool.fetch(
            "SELECT follower_id FROM favorites_pairs WHERE favorite_id = $1", user_id
        )
        return [r[0] for r in rows]
