"""Reads of the interaction read model: a pair as one of its two users sees it (one or many
counterparts at once), a user's counterparts by last contact, a streamer's top spenders, and
pairs that talk much and pay little (anti-fraud)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class Interaction:
    """A pair as `viewer_id` sees it: "you" is the viewer, "they" the peer. Coins are
    what each spent on the other (calls, gifts) and what the viewer earned from the peer."""

    viewer_id: UUID
    peer_id: UUID
    direct_calls: int = 0
    direct_seconds: int = 0
    roulette_calls: int = 0
    roulette_seconds: int = 0
    paid_calls: int = 0
    call_coins_you_spent: int = 0
    call_coins_they_spent: int = 0
    call_coins_you_earned: int = 0
    gifts_sent: int = 0
    gifts_received: int = 0
    gift_coins_you_spent: int = 0
    gift_coins_they_spent: int = 0
    gift_coins_you_earned: int = 0
    messages_sent: int = 0
    messages_received: int = 0
    masked_sent: int = 0
    masked_received: int = 0
    first_contact: datetime | None = None
    last_contact: datetime | None = None

    @property
    def calls(self) -> int:
        return self.direct_calls + self.roulette_calls

    @property
    def coins_you_spent(self) -> int:
        return self.call_coins_you_spent + self.gift_coins_you_spent

    @property
    def coins_they_spent(self) -> int:
        return self.call_coins_they_spent + self.gift_coins_they_spent

    @property
    def coins_you_earned(self) -> int:
        return self.call_coins_you_earned + self.gift_coins_you_earned


def seen_by(row: asyncpg.Record | dict[str, object], viewer_id: UUID) -> Interaction:
    """A pair's row from one side: the viewer's columns are "you", the other's "they"."""
    you, they = ("a", "b") if row["user_a"] == viewer_id else ("b", "a")
    peer = row[f"user_{they}"]
    assert isinstance(peer, UUID)

    def n(column: str) -> int:
        value = row[column]
        assert isinstance(value, int)
        return value

    first, last = row["first_contact"], row["last_contact"]
    assert isinstance(first, datetime) and isinstance(last, datetime)
    return Interaction(
        viewer_id=viewer_id,
        peer_id=peer,
        direct_calls=n("direct_calls"),
        direct_seconds=n("direct_seconds"),
        roulette_calls=n("roulette_calls"),
        roulette_seconds=n("roulette_seconds"),
        paid_calls=n("paid_calls"),
        call_coins_you_spent=n(f"call_spent_{you}"),
        call_coins_they_spent=n(f"call_spent_{they}"),
        call_coins_you_earned=n(f"call_earned_{you}"),
        gifts_sent=n(f"gifts_{you}"),
        gifts_received=n(f"gifts_{they}"),
        gift_coins_you_spent=n(f"gift_spent_{you}"),
        gift_coins_they_spent=n(f"gift_spent_{they}"),
        gift_coins_you_earned=n(f"gift_earned_{you}"),
        messages_sent=n(f"messages_{you}"),
        messages_received=n(f"messages_{they}"),
        masked_sent=n(f"masked_{you}"),
        masked_received=n(f"masked_{they}"),
        first_contact=first,
        last_contact=last,
    )


@dataclass(frozen=True)
class Spender:
    """Someone who spent coins on a streamer, and what the streamer earned from them."""

    user_id: UUID
    call_coins: int
    gift_coins: int
    earned: int
    last_contact: datetime

    @property
    def coins(self) -> int:
        return self.call_coins + self.gift_coins


@dataclass(frozen=True)
class SuspiciousPair:
    """Two users who message each other much and pay for few calls."""

    user_a: UUID
    user_b: UUID
    messages_a: int  # sent by user_a
    messages_b: int
    calls: int  # connected calls
    paid_calls: int
    masked_a: int  # user_a's messages that had contacts masked
    masked_b: int
    last_contact: datetime

    @property
    def messages(self) -> int:
        return self.messages_a + self.messages_b

    @property
    def masked(self) -> int:
        return self.masked_a + self.masked_b


# A cursor of pairs_of: (last contact, peer id); the first page starts after the newest.
PairsCursor = tuple[datetime, UUID]

# Each direction of the pair is walked down its own index, the two merged.
_PAIRS_OF = """
(SELECT * FROM interaction_pairs WHERE user_a = $1
   AND ($2::timestamptz IS NULL OR (last_contact, user_b) < ($2, $3::uuid))
 ORDER BY last_contact DESC, user_b DESC LIMIT $4)
UNION ALL
(SELECT * FROM interaction_pairs WHERE user_b = $1
   AND ($2::timestamptz IS NULL OR (last_contact, user_a) < ($2, $3::uuid))
 ORDER BY last_contact DESC, user_a DESC LIMIT $4)
"""

_TOP_SPENDERS = """
SELECT * FROM (
  SELECT user_a AS spender, call_spent_a AS calls, gift_spent_a AS gifts,
         call_earned_b + gift_earned_b AS earned, last_contact
  FROM interaction_pairs WHERE user_b = $1
  UNION ALL
  SELECT user_b, call_spent_b, gift_spent_b, call_earned_a + gift_earned_a, last_contact
  FROM interaction_pairs WHERE user_a = $1) s
WHERE calls + gifts > 0
ORDER BY calls + gifts DESC, spender LIMIT $2
"""

_SUSPICIOUS = """
SELECT * FROM interaction_pairs
WHERE messages_a + messages_b >= $1 AND paid_calls <= $2
ORDER BY masked_a + masked_b DESC, messages_a + messages_b DESC, last_contact DESC
LIMIT $3
"""


class InteractionQueries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def between(self, viewer_id: UUID, peer_ids: Sequence[UUID]) -> dict[UUID, Interaction]:
        """The viewer's pair with each of these users, as the viewer sees it (zeros for
        those they never met): one statement for any number of peers."""
        pairs = [(min(viewer_id, p), max(viewer_id, p)) for p in peer_ids if p != viewer_id]
        rows = await self._pool.fetch(
            "SELECT p.* FROM interaction_pairs p JOIN unnest($1::uuid[], $2::uuid[]) AS k(a, b)"
            " ON p.user_a = k.a AND p.user_b = k.b",
            [a for a, _ in pairs],
            [b for _, b in pairs],
        )
        found = {i.peer_id: i for i in (seen_by(r, viewer_id) for r in rows)}
        return {p: found.get(p) or Interaction(viewer_id, p) for p in peer_ids}

    async def pair(self, viewer_id: UUID, peer_id: UUID) -> Interaction:
        """The viewer's pair with one user (zeros if they never met)."""
        return (await self.between(viewer_id, [peer_id]))[peer_id]

    async def pairs_of(
        self, user_id: UUID, first: int, after: PairsCursor | None = None
    ) -> tuple[list[Interaction], PairsCursor | None]:
        """The user's counterparts, most recent contact first, `first` at a time; the
        cursor of the next page (None on the last)."""
        since, peer = after or (None, UUID(int=0))
        rows = await self._pool.fetch(_PAIRS_OF, user_id, since, peer, first + 1)
        seen = sorted(
            (seen_by(r, user_id) for r in rows),
            key=lambda i: (i.last_contact, i.peer_id),
            reverse=True,
        )
        page = seen[:first]
        if len(seen) <= first:
            return page, None
        last = page[-1]
        assert last.last_contact is not None
        return page, (last.last_contact, last.peer_id)

    async def top_spenders(self, streamer_id: UUID, limit: int) -> list[Spender]:
        """Who spent the most on the streamer (calls and gifts), most first."""
        rows = await self._pool.fetch(_TOP_SPENDERS, streamer_id, limit)
        return [
            Spender(r["spender"], r["calls"], r["gifts"], r["earned"], r["last_contact"])
            for r in rows
        ]

    async def suspicious_pairs(
        self, min_messages: int, max_calls: int, limit: int
    ) -> list[SuspiciousPair]:
        """Pairs with at least `min_messages` messages (both ways) and at most `max_calls`
        paid calls: perhaps taking the conversation off the platform. Most masked contacts
        first, then most messages."""
        rows = await self._pool.fetch(_SUSPICIOUS, min_messages, max_calls, limit)
        return [
            SuspiciousPair(
                r["user_a"],
                r["user_b"],
                r["messages_a"],
                r["messages_b"],
                r["direct_calls"] + r["roulette_calls"],
                r["paid_calls"],
                r["masked_a"],
                r["masked_b"],
                r["last_contact"],
            )
            for r in rows
        ]
