"""Live gallery changes for every open `galleryChanges` of this process, fanned out from ONE
pair of hub subscriptions: presence transitions (video) and busy/free (the gallery's
projection). Each batch of changes is looked up once (one query for the changed people's
cards and whom they block or are blocked by; their suspensions and followers counts), then
handed to the feeds whose direction shows that role, leaving out the person themself,
blocked pairs and suspended people; each feed asks only which of them are its favorites. A feed that
reads slowly gets each person's latest change since its last item, as one item; when
changes may have been lost (the hub's listener reconnected), every feed is told so."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from uuid import UUID

from domains.gallery.changes import BusyChanged
from domains.gallery.ordering import direction_for
from domains.gallery.projection import GALLERY_CHANNEL, GALLERY_KEY
from domains.gallery.queries import Card, GalleryQueries
from domains.video.presence import PRESENCE_CHANNEL, PRESENCE_KEY, PresenceChanged
from eventlog.hub import RESYNC, Change, StreamHub, Subscription

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedChange:
    """Someone in a feed came `online`, went `offline`, became `busy` or `free`."""

    type: str
    card: Card


class Feed:
    """One viewer's open galleryChanges. What waits for a slow reader is each person's latest
    change only (bounded by the people in the feed, however slowly the app reads)."""

    def __init__(self, feeds: GalleryFeeds, viewer: UUID, shows: str) -> None:
        self._feeds = feeds
        self.viewer = viewer
        self.shows = shows
        self._pending: dict[UUID, FeedChange] = {}
        self._missed = False
        self._ready = asyncio.Event()

    def put(self, change: FeedChange) -> None:
        self._pending.pop(change.card.user_id, None)  # the latest goes last, in arrival order
        self._pending[change.card.user_id] = change
        self._ready.set()

    def missed(self) -> None:
        """Changes may have been lost (the listener reconnected, a lookup failed)."""
        self._missed = True
        self._ready.set()

    def close(self) -> None:
        self._feeds.close(self)

    async def batches(self) -> AsyncIterator[tuple[list[FeedChange], bool]]:
        """What changed since the last batch, and whether something may have been missed."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            batch, missed = list(self._pending.values()), self._missed
            self._pending.clear()
            self._missed = False
            if batch or missed:
                yield batch, missed


class GalleryFeeds:
    def __init__(self, hub: StreamHub, queries: GalleryQueries) -> None:
        self._hub = hub
        self._queries = queries
        self._feeds: dict[str, set[Feed]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._inbox: asyncio.Queue[Change] = asyncio.Queue()

    def open(self, viewer: UUID, viewer_role: str) -> Feed:
        feed = Feed(self, viewer, direction_for(viewer_role).shows)
        self._feeds[feed.shows].add(feed)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="gallery-feeds")
        return feed

    def open_feeds(self) -> int:
        """How many galleryChanges are open in this process."""
        return sum(len(feeds) for feeds in self._feeds.values())

    def close(self, feed: Feed) -> None:
        self._feeds[feed.shows].discard(feed)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        streams = [
            self._hub.subscribe(PRESENCE_CHANNEL, PRESENCE_KEY),
            self._hub.subscribe(GALLERY_CHANNEL, GALLERY_KEY),
        ]
        pumps = [asyncio.create_task(self._pump(s)) for s in streams]
        try:
            while True:
                batch = [await self._inbox.get()]
                while not self._inbox.empty():
                    batch.append(self._inbox.get_nowait())
                try:
                    await self._deliver(batch)
                except Exception:
                    log.exception("gallery changes could not be delivered")
                    self._all_missed()
        finally:
            for pump in pumps:
                pump.cancel()
            for stream in streams:
                stream.close()

    async def _pump(self, stream: Subscription) -> None:
        async for change in stream:
            if change is RESYNC:
                self._all_missed()
            else:
                self._inbox.put_nowait(change)

    def _all_missed(self) -> None:
        for feeds in self._feeds.values():
            for feed in feeds:
                feed.missed()

    async def _deliver(self, batch: list[Change]) -> None:
        kinds: list[tuple[UUID, str]] = []
        for change in batch:
            if change.channel == PRESENCE_CHANNEL:
                presence = PresenceChanged.from_json(change.data)
                kinds.append((presence.user_id, "online" if presence.online else "offline"))
            else:
                busy = BusyChanged.from_json(change.data)
                kinds.append((busy.user_id, "busy" if busy.busy else "free"))
        if not any(self._feeds.values()):
            return
        found = await self._queries.cards(list({user for user, _ in kinds}))
        suspended = await self._queries.suspensions.suspended(list(found))
        followers = await self._queries.favorites.followers_count(list(found))
        for user, kind in kinds:
            if user not in found or user in suspended:
                continue
            card, blocked_with = found[user]
            card = replace(card, followers=followers.get(user, 0))
            if kind in ("busy", "free") and card.online_since is None:
                continue  # not in anyone's feed
            item = FeedChange(kind, card)
            for feed in self._feeds[card.role]:
                if feed.viewer != user and feed.viewer not in blocked_with:
                    feed.put(item)
