"""A feed that reads slowly is sent each person's latest change, in the order they last
changed: what waits for it is bounded by the people in the feed."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from domains.gallery.feeds import Feed, FeedChange
from domains.gallery.queries import Card


def change(kind: str, n: int) -> FeedChange:
    card = Card(UUID(int=n), "streamer", f"s{n}", None, None, None, True, False, False, 69)
    return FeedChange(kind, card)


async def test_a_slow_reader_gets_each_persons_latest_change_in_one_batch() -> None:
    feed = Feed(feeds=None, viewer=UUID(int=0), shows="streamer")  # type: ignore[arg-type]
    batches: Any = feed.batches()
    for kind, n in [("online", 1), ("online", 2), ("busy", 1), ("offline", 2), ("free", 1)]:
        feed.put(change(kind, n))

    batch, missed = await asyncio.wait_for(anext(batches), 1)

    assert [(c.type, c.card.user_id.int) for c in batch] == [("offline", 2), ("free", 1)]
    assert not missed
    feed.put(change("online", 3))
    batch, _ = await asyncio.wait_for(anext(batches), 1)
    assert [c.type for c in batch] == ["online"]


async def test_a_feed_is_told_when_changes_may_have_been_missed() -> None:
    feed = Feed(feeds=None, viewer=UUID(int=0), shows="streamer")  # type: ignore[arg-type]
    batches: Any = feed.batches()
    feed.missed()

    assert await asyncio.wait_for(anext(batches), 1) == ([], True)
    feed.put(change("online", 3))
    batch, missed = await asyncio.wait_for(anext(batches), 1)
    assert (len(batch), missed) == (1, False)
