"""Reads for the gallery: a page of a viewer's feed in one query (keyset on the online index,
under the browse's snapshot, see ordering.py), cards of given users, and the name search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from domains.billing.aggregate import Schedule
from domains.gallery.lookups import FavoritesLookup, SuspensionLookup
from domains.gallery.ordering import (
    Cursor,
    Entry,
    FeedKey,
    direction_for,
    feed_page,
    microseconds,
    moment,
)

# Bounds of every key: a first page starts before the first, in either direction.
_FIRST_KEY = FeedKey(microseconds(datetime(1, 1, 2, tzinfo=UTC)), UUID(int=0))
_LAST_KEY = FeedKey(microseconds(datetime(9999, 12, 30, tzinfo=UTC)), UUID(int=2**128 - 1))

# What a card shows beside the feed's own columns (`f`: user_id, since, role, public): looked
# up per card through the primary keys (a hash join would read whole tables).
_CARD_COLUMNS = """
    (SELECT a.calls FROM video_availability a WHERE a.user_id = f.user_id) AS calls,
    (SELECT a.roulette FROM video_availability a WHERE a.user_id = f.user_id) AS roulette,
    EXISTS (SELECT 1 FROM gallery_lines l WHERE l.user_id = f.user_id AND l.call_id IS NOT NULL)
        AS busy,
    (SELECT caller FROM billing_tariffs WHERE kind = 'direct' ORDER BY version DESC LIMIT 1)
        AS tariff
"""
_NOT_BLOCKED = """
    AND NOT EXISTS (SELECT 1 FROM blocklist_blocks b WHERE b.blocker_id = $1 AND b.blocked_id = {0})
    AND NOT EXISTS (SELECT 1 FROM blocklist_blocks b WHERE b.blocker_id = {0} AND b.blocked_id = $1)
"""
_VIEWER_ROLE = "(SELECT role FROM profile_users WHERE user_id = $1)"
_SNAPSHOT = "coalesce($2::timestamptz, now())"
# Both directions in one statement: the viewer's role picks the branch that runs.
_FEED = f"""
SELECT f.*, {_SNAPSHOT} AS snapshot, {_VIEWER_ROLE} AS viewer_role, {_CARD_COLUMNS}
FROM (
  (SELECT o.user_id, o.since, p.role, p.public FROM video_online o
   JOIN profile_users p ON p.user_id = o.user_id AND p.role = 'streamer'
   WHERE coalesce({_VIEWER_ROLE}, 'user') <> 'streamer'
     AND o.since <= {_SNAPSHOT} AND (o.since, o.user_id) > ($3, $4::uuid)
     AND o.user_id <> $1 {_NOT_BLOCKED.format("o.user_id")}
   ORDER BY o.since, o.user_id LIMIT $7)
  UNION ALL
  (SELECT o.user_id, o.since, p.role, p.public FROM video_online o
   JOIN profile_users p ON p.user_id = o.user_id AND p.role = 'user'
   WHERE {_VIEWER_ROLE} = 'streamer'
     AND o.since <= {_SNAPSHOT} AND (o.since, o.user_id) < ($5, $6::uuid)
     AND o.user_id <> $1 {_NOT_BLOCKED.format("o.user_id")}
   ORDER BY o.since DESC, o.user_id DESC LIMIT $7)
) f
"""
_CARDS = f"""
SELECT f.user_id, o.since, f.role, f.public, {_CARD_COLUMNS},
       ARRAY(SELECT blocked_id FROM blocklist_blocks WHERE blocker_id = f.user_id
             UNION SELECT blocker_id FROM blocklist_blocks WHERE blocked_id = f.user_id)
           AS blocked_with
FROM profile_users f
LEFT JOIN video_online o ON o.user_id = f.user_id
WHERE f.user_id = ANY($1::uuid[])
"""
_SEARCH = f"""
SELECT f.*, o.since, {_CARD_COLUMNS}
FROM (SELECT n.user_id, n.name_key, p.role, p.public FROM gallery_names n
      JOIN profile_users p ON p.user_id = n.user_id
      WHERE n.role = 'streamer' AND strpos(n.name_key, $2) > 0
        AND (n.name_key, n.user_id) > ($3, $4::uuid)
        AND n.user_id <> $1 {_NOT_BLOCKED.format("n.user_id")}
      ORDER BY n.name_key, n.user_id LIMIT $5) f
LEFT JOIN video_online o ON o.user_id = f.user_id
ORDER BY f.name_key, f.user_id
"""


@dataclass(frozen=True)
class Card:
    """A person as the gallery shows them."""

    user_id: UUID
    role: str
    display_name: str | None
    avatar_url: str | None
    country: str | None
    online_since: datetime | None  # None: offline
    takes_calls: bool
    in_roulette: bool
    busy: bool
    price_first_minute: int | None  # the current direct tariff's first minute, in coins
    favorite: bool = False
    followers: int = 0


@dataclass(frozen=True)
class Page:
    cards: list[Card]
    next_cursor: str | None


def _card(r: asyncpg.Record, since: datetime | None) -> Card:
    public: dict[str, Any] = r["public"] or {}
    tariff = r["tariff"]
    return Card(
        user_id=r["user_id"],
        role=r["role"],
        display_name=public.get("display_name"),
        avatar_url=public.get("avatar_url"),
        country=public.get("country"),
        online_since=since,
        takes_calls=r["calls"] if r["calls"] is not None else True,  # video's default
        in_roulette=bool(r["roulette"]),
        busy=bool(r["busy"]),
        price_first_minute=Schedule.of(tariff).first_minute() if tariff else None,
    )


class GalleryQueries:
    def __init__(
        self, pool: asyncpg.Pool, favorites: FavoritesLookup, suspensions: SuspensionLookup
    ) -> None:
        self._pool = pool
        self.favorites = favorites
        self.suspensions = suspensions

    async def feed(self, viewer: UUID, first: int, cursor: Cursor | None) -> Page:
        """A page of the viewer's feed (ordering.py's rule) after `cursor`."""
        snapshot = None if cursor is None else moment(cursor.snapshot_us)
        last = None if cursor is None else cursor.last
        kept: list[Entry] = []
        cards: dict[UUID, Card] = {}
        while True:  # more than one round only when suspended people were left out
            limit = first + 1 - len(kept)
            rows = await self._pool.fetch(
                _FEED,
                viewer,
                snapshot,
                moment((last or _FIRST_KEY).since_us),
                (last or _FIRST_KEY).user_id,
                moment((last or _LAST_KEY).since_us),
                (last or _LAST_KEY).user_id,
                limit,
            )
            if not rows:
                break
            snapshot = rows[0]["snapshot"]
            direction = direction_for(rows[0]["viewer_role"] or "user")
            entries = [
                Entry(FeedKey(microseconds(r["since"]), r["user_id"]), r["role"]) for r in rows
            ]
            ordered, _ = feed_page(entries, direction, Cursor(microseconds(snapshot), last), limit)
            suspended = await self.suspensions.suspended([e.key.user_id for e in ordered])
            kept += [e for e in ordered if e.key.user_id not in suspended]
            cards.update((r["user_id"], _card(r, r["since"])) for r in rows)
            last = ordered[-1].key
            if len(rows) < limit or len(kept) > first:
                break
        if snapshot is None:
            return Page([], None)
        shown = kept[:first]
        more = len(kept) > first
        next_cursor = Cursor(microseconds(snapshot), shown[-1].key).encode() if more else None
        return Page(
            await self._personal(viewer, [cards[e.key.user_id] for e in shown]), next_cursor
        )

    async def cards(self, user_ids: Sequence[UUID]) -> dict[UUID, tuple[Card, frozenset[UUID]]]:
        """Cards of these users (online or not), each with the people blocked either way."""
        rows = await self._pool.fetch(_CARDS, list(user_ids))
        return {r["user_id"]: (_card(r, r["since"]), frozenset(r["blocked_with"])) for r in rows}

    async def search(
        self, viewer: UUID, key: str, first: int, after: tuple[str, UUID] | None
    ) -> tuple[list[Card], tuple[str, UUID] | None]:
        """Streamers whose display name contains `key` (a search key), by name."""
        name, user_id = after or ("", UUID(int=0))
        rows = await self._pool.fetch(_SEARCH, viewer, key, name, user_id, first + 1)
        suspended = await self.suspensions.suspended([r["user_id"] for r in rows])
        page = rows[:first]
        more = (page[-1]["name_key"], page[-1]["user_id"]) if len(rows) > first else None
        cards = [_card(r, r["since"]) for r in page if r["user_id"] not in suspended]
        return await self._personal(viewer, cards), more

    async def _personal(self, viewer: UUID, cards: list[Card]) -> list[Card]:
        """The cards with the viewer's favorites and followers counts."""
        ids = [c.user_id for c in cards]
        favorites = await self.favorites.is_favorite(viewer, ids)
        followers = await self.favorites.followers_count(ids)
        return [
            replace(c, favorite=c.user_id in favorites, followers=followers.get(c.user_id, 0))
            for c in cards
        ]

    async def role_of(self, user_id: UUID) -> str:
        role: str | None = await self._pool.fetchval(
            "SELECT role FROM profile_users WHERE user_id = $1", user_id
        )
        return role or "user"
