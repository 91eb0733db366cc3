"""GraphQL for the gallery: `gallery(first, after)`, `searchStreamers(query, first, after)`
and the live `galleryChanges`."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry
from strawberry.types import Info

from domains.gallery.ordering import Cursor, CursorError
from domains.gallery.queries import Card
from domains.gallery.search_key import search_key
from domains.gallery.services import GalleryServices
from eventlog import text
from eventlog.api import Context, InvalidInput, invalid_text
from eventlog.text import InvalidTextError

MAX_FIRST = 100
MAX_QUERY_CHARS = 40


@strawberry.type(description="A person in the gallery; `id` is what `requestCall` takes.")
class GalleryCard:
    id: strawberry.ID
    display_name: str | None
    avatar_url: str | None
    country: str | None
    online_since: datetime | None = strawberry.field(
        description="When their unbroken stretch online began; null while offline."
    )
    takes_calls: bool = strawberry.field(description="Available for direct calls.")
    in_roulette: bool = strawberry.field(description="Available for the roulette.")
    busy: bool = strawberry.field(description="In a call now (ringing or connected).")
    price_first_minute: int | None = strawberry.field(
        description="Coins a direct call's first minute costs (the current tariff)."
    )
    favorite: bool
    followers_count: int


@strawberry.type(description="A page of cards; `nextCursor` is null on the last page.")
class GalleryPage:
    cards: list[GalleryCard]
    next_cursor: str | None


@strawberry.type(description="Someone in your feed came online, went offline, became busy or free.")
class GalleryChange:
    type: str = strawberry.field(description="online, offline, busy or free")
    card: GalleryCard


@strawberry.type(
    description="Changes of your feed: what queued up since the last item, each person's latest."
)
class GalleryChanges:
    changes: list[GalleryChange]
    missed: bool = strawberry.field(
        description="Changes may have been missed (the server's listener reconnected): "
        "fetch `gallery` again."
    )


GalleryResult = Annotated[GalleryPage | InvalidInput, strawberry.union("GalleryResult")]


def card_view(card: Card) -> GalleryCard:
    return GalleryCard(
        id=strawberry.ID(str(card.user_id)),
        display_name=card.display_name,
        avatar_url=card.avatar_url,
        country=card.country,
        online_since=card.online_since,
        takes_calls=card.takes_calls,
        in_roulette=card.in_roulette,
        busy=card.busy,
        price_first_minute=card.price_first_minute,
        favorite=card.favorite,
        followers_count=card.followers,
    )


def _first(first: int) -> InvalidInput | None:
    if 1 <= first <= MAX_FIRST:
        return None
    return InvalidInput(message=f"first must be between 1 and {MAX_FIRST}", field="first")


def _bad_cursor() -> InvalidInput:
    return InvalidInput(message="after is not a cursor of this list", field="after")


def _search_cursor(text: str) -> tuple[str, UUID] | InvalidInput:
    if len(text) > 4096:
        return _bad_cursor()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        tag, user_id, name = raw.split(".", 2)
        if tag != "s1" or "\x00" in name:
            return _bad_cursor()
        return name, UUID(hex=user_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return _bad_cursor()


def _search_cursor_of(after: tuple[str, UUID]) -> str:
    name, user_id = after
    raw = f"s1.{user_id.hex}.{name}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@strawberry.type
class GalleryQuery:
    @strawberry.field(
        description="Your feed: users see streamers online (longest first), streamers see "
        "users online (most recent first); pass `nextCursor` as `after` for the next page."
    )
    async def gallery(
        self,
        info: Info[Context[GalleryServices], None],
        first: int = 30,
        after: str | None = None,
    ) -> GalleryResult:
        viewer = await info.context.viewer()
        if invalid := _first(first):
            return invalid
        cursor = None
        if after is not None:
            try:
                cursor = Cursor.decode(after)
            except CursorError:
                return _bad_cursor()
        page = await info.context.services.gallery.feed(viewer.user_id, first, cursor)
        return GalleryPage(cards=[card_view(c) for c in page.cards], next_cursor=page.next_cursor)

    @strawberry.field(
        description="Streamers whose display name contains `query` (case and accents ignored), "
        "by name."
    )
    async def search_streamers(
        self,
        info: Info[Context[GalleryServices], None],
        query: str,
        first: int = 30,
        after: str | None = None,
    ) -> GalleryResult:
        viewer = await info.context.viewer()
        if invalid := _first(first):
            return invalid
        try:
            key = search_key(text.line(query, "query", MAX_QUERY_CHARS, blank=False))
        except InvalidTextError as error:
            return invalid_text(error)
        if not key:
            return InvalidInput(message="query: must not be blank", field="query")
        position = None if after is None else _search_cursor(after)
        if isinstance(position, InvalidInput):
            return position
        search = info.context.services.gallery.search
        cards, more = await search(viewer.user_id, key, first, position)
        next_cursor = None if more is None else _search_cursor_of(more)
        return GalleryPage(cards=[card_view(c) for c in cards], next_cursor=next_cursor)


@strawberry.type
class GallerySubscription:
    @strawberry.subscription(
        description="People of your feed who came online, went offline, became busy or free."
    )
    async def gallery_changes(
        self, info: Info[Context[GalleryServices], None]
    ) -> AsyncGenerator[GalleryChanges, None]:
        viewer = await info.context.viewer()
        services = info.context.services
        role = await services.gallery.role_of(viewer.user_id)
        feed = services.gallery_feeds.open(viewer.user_id, role)
        try:
            async for batch, missed in feed.batches():
                ids = [c.card.user_id for c in batch]
                favorites = await services.gallery.favorites.is_favorite(viewer.user_id, ids)
                changes = []
                for change in batch:
                    card = card_view(change.card)
                    card.favorite = change.card.user_id in favorites
                    changes.append(GalleryChange(type=change.type, card=card))
                yield GalleryChanges(changes=changes, missed=missed)
        finally:
            feed.close()
