"""A running olo for gallery tests: people registered through the API, online while they hold
a `callEvents` subscription, and the gallery's operations as the app sends them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from call_support import CALL_EVENTS, Party, make_party
from graphql_client import SubscriptionClient, data_of, post, subscribe

from app import Olo, create_app
from eventlog.followers import log_head
from eventlog.projection import Watermark
from eventlog.settings import Settings

CARD = (
    "id displayName avatarUrl country onlineSince takesCalls inRoulette busy"
    " priceFirstMinute favorite followersCount"
)
PAGE = (
    "__typename ... on GalleryPage { cards { " + CARD + " } nextCursor }"
    " ... on InvalidInput { message field }"
)
GALLERY = (
    "query($first: Int!, $after: String) { gallery(first: $first, after: $after) { " + PAGE + " } }"
)
SEARCH = (
    "query($q: String!, $first: Int!, $after: String) {"
    " searchStreamers(query: $q, first: $first, after: $after) { " + PAGE + " } }"
)
CHANGES = "subscription { galleryChanges { missed changes { type card { " + CARD + " } } } }"


@dataclass
class GalleryWorld:
    olo: Olo
    base: str
    stack: contextlib.AsyncExitStack
    online_streams: dict[str, SubscriptionClient] = field(default_factory=dict)

    async def person(self, uid: str, *, streamer: bool = False, coins: int = 0) -> Party:
        return await make_party(self.olo, self.base, uid, coins=coins, streamer=streamer)

    async def gql(self, who: Party, query: str, **variables: Any) -> dict[str, Any]:
        return data_of(await post(self.base, query, variables or None, who.token))

    async def gallery(
        self, who: Party, first: int = 30, after: str | None = None
    ) -> dict[str, Any]:
        page = (await self.gql(who, GALLERY, first=first, after=after))["gallery"]
        assert isinstance(page, dict)
        return page

    async def browse(self, who: Party, first: int) -> list[str]:
        """Every card id of one browse, page after page."""
        ids: list[str] = []
        after = None
        while True:
            page = await self.gallery(who, first, after)
            ids += [c["id"] for c in page["cards"]]
            after = page["nextCursor"]
            if after is None:
                return ids

    async def go_online(self, who: Party) -> None:
        """`who` opens a callEvents subscription (online until `go_offline` or the end)."""
        stream = await self.stack.enter_async_context(subscribe(self.base, CALL_EVENTS, who.token))
        self.online_streams[who.uid] = stream
        for _ in range(250):
            if await self.olo.services.presence.online_since(who.user_id) is not None:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{who.uid} did not come online")

    async def go_offline(self, who: Party) -> None:
        stream = self.online_streams.pop(who.uid)
        await stream.ws.close()
        for _ in range(250):
            if await self.olo.services.presence.online_since(who.user_id) is None:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{who.uid} did not go offline")


@contextlib.asynccontextmanager
async def gallery_world(
    settings: Settings, database_url: str, serve: Callable[..., Any]
) -> AsyncIterator[GalleryWorld]:
    app = create_app(settings, database_url)
    async with serve(app) as base, contextlib.AsyncExitStack() as stack:
        olo: Olo = app.state.olo
        await olo.services.tariffs.ensure_seeded()
        yield GalleryWorld(olo, base, stack)


async def caught_up(olo: Olo, within: float = 10.0) -> None:
    """Wait until the read models the gallery reads hold everything committed so far."""
    head = await log_head(olo.pool)
    for name in ("profile", "gallery", "blocklist", "video.calls"):
        assert await Watermark(olo.pool, name).reached(head, within=within), name


def ids(page: dict[str, Any]) -> list[str]:
    return [c["id"] for c in page["cards"]]


def id_of(party: Party) -> str:
    return str(party.user_id)


class Changes:
    """A galleryChanges subscription read change by change (items may carry several)."""

    def __init__(self, stream: SubscriptionClient) -> None:
        self.stream = stream
        self.buffered: list[dict[str, Any]] = []

    async def next(self, seconds: float = 10.0) -> dict[str, Any]:
        while not self.buffered:
            data = (await self.stream.next_data(seconds))["galleryChanges"]
            assert not data["missed"], "changes were missed"
            self.buffered += data["changes"]
        return self.buffered.pop(0)

    async def none_within(self, seconds: float) -> bool:
        if self.buffered:
            return False
        return await self.stream.pending(seconds) is None


async def watch(world: GalleryWorld, who: Party) -> Changes:
    """`who` opens galleryChanges (until the world ends), registered once this returns."""
    before = world.olo.services.gallery_feeds.open_feeds()
    stream = await world.stack.enter_async_context(subscribe(world.base, CHANGES, who.token))
    for _ in range(250):
        if world.olo.services.gallery_feeds.open_feeds() > before:
            return Changes(stream)
        await asyncio.sleep(0.02)
    raise AssertionError("galleryChanges did not open")


class Lookups:
    """What the favorites and blocklist domains will answer, as the gallery asks it."""

    def __init__(self, suspended: set[UUID], favorites: set[UUID], followers: dict[UUID, int]):
        self._suspended = suspended
        self._favorites = favorites
        self._followers = followers

    async def suspended(self, ids: Sequence[UUID]) -> set[UUID]:
        return self._suspended & set(ids)

    async def is_favorite(self, viewer: UUID, ids: Sequence[UUID]) -> set[UUID]:
        return self._favorites & set(ids)

    async def followers_count(self, ids: Sequence[UUID]) -> dict[UUID, int]:
        return {i: self._followers[i] for i in ids if i in self._followers}
