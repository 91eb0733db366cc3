"""Favorites read model: who follows whom (newest first per follower) and each user's
followers count, kept in its own table so cards read it without counting rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from domains.favorites.aggregate import Favorite
from eventlog.database import Connection, SchemaConnection
from eventlog.projection import Recorded

_TABLES = """
CREATE TABLE IF NOT EXISTS favorites_pairs (
    follower_id uuid NOT NULL,
    favorite_id uuid NOT NULL,
    added_at timestamptz NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (follower_id, favorite_id)
);
CREATE INDEX IF NOT EXISTS favorites_pairs_newest ON favorites_pairs (follower_id, position);
CREATE INDEX IF NOT EXISTS favorites_pairs_favorite ON favorites_pairs (favorite_id);
CREATE TABLE IF NOT EXISTS favorites_followers (
    user_id uuid PRIMARY KEY,
    followers bigint NOT NULL
);
"""

Pair = tuple[UUID, UUID]


class FavoritesProjection:
    """The last event of each pair in a page decides its row; the rows actually inserted
    and deleted move the followers counts."""

    name = "favorites"
    topics = frozenset({Favorite.Added.TOPIC, Favorite.Removed.TOPIC})

    async def create_tables(self, conn: SchemaConnection) -> None:
        await conn.execute(_TABLES)

    async def clear(self, conn: Connection) -> None:
        await conn.execute("TRUNCATE favorites_pairs, favorites_followers")

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        last: dict[Pair, tuple[datetime, int] | None] = {}  # None: removed
        for recorded in events:
            e = recorded.event
            pair = (e.follower_id, e.favorite_id)
            if isinstance(e, Favorite.Added):
                last[pair] = (e.timestamp, recorded.position)
            elif isinstance(e, Favorite.Removed):
                last[pair] = None
        deltas: dict[UUID, int] = {}
        gone = [pair for pair, row in last.items() if row is None]
        if gone:
            for r in await conn.fetch(
                "DELETE FROM favorites_pairs f USING unnest($1::uuid[], $2::uuid[]) AS g(a, b) "
                "WHERE f.follower_id = g.a AND f.favorite_id = g.b RETURNING f.favorite_id",
                [p[0] for p in gone],
                [p[1] for p in gone],
            ):
                deltas[r[0]] = deltas.get(r[0], 0) - 1
        kept = [(*pair, *row) for pair, row in last.items() if row is not None]
        if kept:
            for r in await conn.fetch(
                "INSERT INTO favorites_pairs (follower_id, favorite_id, added_at, position) "
                "SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::bigint[]) "
                "ON CONFLICT (follower_id, favorite_id) DO UPDATE SET "
                "added_at = excluded.added_at, position = excluded.position "
                "RETURNING favorite_id, (xmax = 0) AS inserted",
                [k[0] for k in kept],
                [k[1] for k in kept],
                [k[2] for k in kept],
                [k[3] for k in kept],
            ):
                if r["inserted"]:
                    deltas[r[0]] = deltas.get(r[0], 0) + 1
        changed = [(user, delta) for user, delta in deltas.items() if delta]
        if changed:
            await conn.executemany(
                "INSERT INTO favorites_followers (user_id, followers) VALUES ($1, $2) "
                "ON CONFLICT (user_id) DO UPDATE "
                "SET followers = favorites_followers.followers + excluded.followers",
                changed,
            )
        return {}
