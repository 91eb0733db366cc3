"""Reads for the gallery: a page of a viewer's feed in one statement per direction (keyset on
the online index, under the browse's snapshot, see ordering.py), cards of given users, and
the name search."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from domains.billing.aggregate import Schedule
from domains.gallery.lookups import FavoritesLookup, SuspensionLookup
from domains.gallery.ordering import (
    STREAMERS_LONGEST_ONLINE,
    USER,
    USERS_NEWEST_ONLINE,
    Cursor,
    Direction,
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


def _feed_sql(direction: Direction) -> str:
    """A page of one direction's feed: keyset on the online index under the snapshot."""
    after, order = ("<", "DESC") if direction.newest_first else (">", "ASC")
    return f"""
SELECT f.*, coalesce($2::timestamptz, now()) AS snapshot, {_CARD_COLUMNS}
FROM (SELECT o.user_id, o.since, p.role, p.public FROM video_online o
      JOIN profile_users p ON p.user_id = o.user_id AND p.role = '{direction.shows}'
      WHERE o.since <= coalesce($2::timestamptz, now())
        AND (o.since, o.user_id) {after} ($3, $4::uuid)
        AND o.user_id <> $1 {_NOT_BLOCKED.format("o.user_id")}
      ORDER BY o.since {order}, o.user_id {order} LIMIT $5) f
"""


_FEEDS = {d: _feed_sql(d) for d in (STREAMERS_LONGEST_ONLINE, USERS_NEWEST_ONLINE)}
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
        self._roles = ViewerRoles(pool)

    async def feed(self, viewer: UUID, first: int, cursor: Cursor | None) -> Page:
        """A page of the viewer's feed (ordering.py's rule) after `cursor`: one statement,
        more only when suspended people were left out."""
        direction = direction_for(await self._roles.role_of(viewer))
        snapshot = None if cursor is None else moment(cursor.snapshot_us)
        last = None if cursor is None else cursor.last
        start = last or (_LAST_KEY if direction.newest_first else _FIRST_KEY)
        kept: list[Entry] = []
        cards: dict[UUID, Card] = {}
        while True:
            limit = first + 1 - len(kept)
            rows = await self._pool.fetch(
                _FEEDS[direction], viewer, snapshot, moment(start.since_us), start.user_id, limit
            )
            if not rows:
                break
            snapshot = rows[0]["snapshot"]
            entries = [
                Entry(FeedKey(microseconds(r["since"]), r["user_id"]), r["role"]) for r in rows
            ]
            ordered, _ = feed_page(entries, direction, Cursor(microseconds(snapshot), last), limit)
            suspended = await self.suspensions.suspended([e.key.user_id for e in ordered])
            kept += [e for e in ordered if e.key.user_id not in suspended]
            cards.update((r["user_id"], _card(r, r["since"])) for r in rows)
            last = start = ordered[-1].key
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
        return await self._roles.role_of(user_id)


class ViewerRoles:
    """Viewers' roles, kept a while in memory: which direction a feed goes is asked on every
    page, and a role changes only when an operator makes someone a streamer (their feed
    turns round within `ttl_seconds`)."""

    def __init__(self, pool: asyncpg.Pool, ttl_seconds: float = 30.0, size: int = 100_000):
        self._pool = pool
        self._ttl = ttl_seconds
        self._size = size
        self._known: dict[UUID, tuple[str, float]] = {}

    async def role_of(self, user_id: UUID) -> str:
        known = self._known.get(user_id)
        now = time.monotonic()
        if known is not None and now - known[1] < self._ttl:
            return known[0]
        role: str = (
            await self._pool.fetchval("SELECT role FROM profile_users WHERE user_id = $1", user_id)
            or USER
        )
        if len(self._known) >= self._size:
            self._known.clear()
        self._known[user_id] = (role, now)
        return role
