"""GraphQL for favorites: `addFavorite`, `removeFavorite`, and the viewer's `favorites`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from domains.blocklist.schema import parse_user_id
from domains.favorites.aggregate import SelfFavoriteError
from domains.favorites.queries import FavoriteCard as CardRow
from domains.favorites.service import FavoriteBlockedError, FavoriteReceipt
from domains.favorites.services import FavoritesServices
from domains.profile.service import UserNotFoundError
from domains.video.results import Blocked
from eventlog.api import (
    Context,
    ErrorResults,
    InvalidArgumentError,
    InvalidInput,
    NotFound,
    RateLimited,
    result_of,
)


@strawberry.type(description="Someone you follow: a small public card.")
class FavoriteCard:
    id: strawberry.ID
    display_name: str | None
    avatar_url: str | None
    online: bool
    followers_count: int
    added_at: datetime
    cursor: str


@strawberry.type
class FavoritesPage:
    items: list[FavoriteCard]
    next_cursor: str | None = strawberry.field(
        description="Pass as `after` for older favorites; null on the last page."
    )


@strawberry.type(description="You follow the user (`alreadyFavorite`: you did before).")
class FavoriteAdded:
    user_id: strawberry.ID
    already_favorite: bool


@strawberry.type(description="You no longer follow the user (`wasFavorite`: you did).")
class FavoriteRemoved:
    user_id: strawberry.ID
    was_favorite: bool


AddFavoriteResult = Annotated[
    FavoriteAdded | InvalidInput | NotFound | Blocked | RateLimited,
    strawberry.union("AddFavoriteResult"),
]
RemoveFavoriteResult = Annotated[
    FavoriteRemoved | InvalidInput | NotFound, strawberry.union("RemoveFavoriteResult")
]

FAVORITES_ERRORS: ErrorResults = {
    SelfFavoriteError: lambda e: InvalidInput(message=str(e), field="userId"),
    UserNotFoundError: lambda e: NotFound(message=f"there is no user {e}"),
    FavoriteBlockedError: lambda e: Blocked(message=str(e)),
}


def _card(r: CardRow) -> FavoriteCard:
    return FavoriteCard(
        id=strawberry.ID(str(r.user_id)),
        display_name=r.display_name,
        avatar_url=r.avatar_url,
        online=r.online,
        followers_count=r.followers,
        added_at=r.added_at,
        cursor=str(r.position),
    )


def _cursor(after: str | None) -> int | None:
    if after is None:
        return None
    if not after.isdigit() or len(after) > 19:
        raise InvalidArgumentError("`after` must be a cursor returned by favorites")
    return int(after)


@strawberry.type
class FavoritesQuery:
    @strawberry.field(description="The users you follow, newest first.")
    async def favorites(
        self,
        info: Info[Context[FavoritesServices], None],
        first: int = 20,
        after: str | None = None,
    ) -> FavoritesPage:
        viewer = await info.context.viewer()
        first = max(1, min(first, 100))
        rows = await info.context.services.favorites_queries.favorites(
            viewer.user_id, before_position=_cursor(after), limit=first + 1
        )
        items = [_card(r) for r in rows[:first]]
        return FavoritesPage(
            items=items, next_cursor=items[-1].cursor if len(rows) > first else None
        )


@strawberry.type
class FavoritesMutation:
    @strawberry.mutation(description="Follow a user: find them again, hear when they come online.")
    async def add_favorite(
        self, info: Info[Context[FavoritesServices], None], user_id: strawberry.ID
    ) -> AddFavoriteResult:
        viewer = await info.context.viewer()
        favorite_id = parse_user_id(user_id)
        if isinstance(favorite_id, InvalidInput):
            return favorite_id
        if limited := await info.context.rate_limited("addFavorite"):
            return limited
        adding = info.context.services.favorites.add(viewer.user_id, favorite_id)

        def added(r: FavoriteReceipt) -> FavoriteAdded:
            return FavoriteAdded(
                user_id=strawberry.ID(str(favorite_id)), already_favorite=not r.changed
            )

        return await result_of(adding, added, FAVORITES_ERRORS)

    @strawberry.mutation(description="Stop following a user (no error if you did not).")
    async def remove_favorite(
        self, info: Info[Context[FavoritesServices], None], user_id: strawberry.ID
    ) -> RemoveFavoriteResult:
        viewer = await info.context.viewer()
        favorite_id = parse_user_id(user_id)
        if isinstance(favorite_id, InvalidInput):
            return favorite_id
        removing = info.context.services.favorites.remove(viewer.user_id, favorite_id)

        def removed(r: FavoriteReceipt) -> FavoriteRemoved:
            return FavoriteRemoved(user_id=strawberry.ID(str(favorite_id)), was_favorite=r.changed)

        return await result_of(removing, removed, FAVORITES_ERRORS)
